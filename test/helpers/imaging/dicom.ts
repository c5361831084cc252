// DICOM test tools: raw PDUs written by hand (PS3.8 §9.3) to drive the listener where dcmtk would
// never go (a bad AE title seen on the wire, P-DATA out of order, oversized or cut PDUs), a raw
// socket that collects what the peer answers, and dcmtk's command-line tools run as children.
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { withTimeout } from '../timeout.ts'

/** The DICOM application context name (PS3.7 §A.2.1). */
const APP_CONTEXT = '1.2.840.10008.3.1.1.1'

function item (type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length)
  out[0] = type
  new DataView(out.buffer).setUint16(2, body.length)
  out.set(body, 4)
  return out
}

function ascii (s: string): Uint8Array { return new TextEncoder().encode(s) }

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** A PDU: type, reserved byte, 32-bit big-endian length, body. */
export function pdu (type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(6 + body.length)
  out[0] = type
  new DataView(out.buffer).setUint32(2, body.length)
  out.set(body, 6)
  return out
}

/** An A-ASSOCIATE-RQ proposing Verification in implicit VR little endian as presentation context 1. */
export function associateRq (called: string, calling: string, maxPdu = 16384): Uint8Array {
  const fixed = new Uint8Array(68)
  new DataView(fixed.buffer).setUint16(0, 1)
  fixed.set(ascii(called.padEnd(16, ' ')), 4)
  fixed.set(ascii(calling.padEnd(16, ' ')), 20)
  const maxLen = new Uint8Array(4)
  new DataView(maxLen.buffer).setUint32(0, maxPdu)
  const pc = item(0x20, concat([Uint8Array.of(1, 0, 0, 0), item(0x30, ascii('1.2.840.10008.1.1\0')), item(0x40, ascii('1.2.840.10008.1.2\0'))]))
  return pdu(0x01, concat([fixed, item(0x10, ascii(APP_CONTEXT)), pc, item(0x50, item(0x51, maxLen))]))
}

/** A P-DATA-TF of one PDV (presentation context 1, command, last fragment) of `size` bytes. */
export function pData (size: number): Uint8Array {
  const pdv = new Uint8Array(4 + 2 + size)
  new DataView(pdv.buffer).setUint32(0, 2 + size)
  pdv[4] = 1
  pdv[5] = 0x03
  return pdu(0x04, pdv)
}

/** A raw client socket that gathers every byte the peer sends until it closes. */
export interface RawClient {
  socket: Socket
  /** Resolves with everything received once the peer has closed the connection. */
  closed: Promise<Uint8Array>
  /** Resolves with the bytes received so far once at least `n` have arrived. */
  received: (n: number) => Promise<Uint8Array>
}

/** Connects to the listener (from `localAddress`, another loopback address, when given). */
export async function rawClient (port: number, localAddress?: string): Promise<RawClient> {
  const socket = connect({ port, host: '127.0.0.1', ...(localAddress === undefined ? {} : { localAddress }) })
  await withTimeout(new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) }), 5000, 'connect to the DICOM port')
  const chunks: Buffer[] = []
  const waiters: Array<{ n: number, resolve: (b: Uint8Array) => void }> = []
  const all = (): Uint8Array => new Uint8Array(Buffer.concat(chunks))
  socket.on('data', (c: Buffer) => {
    chunks.push(c)
    const have = all()
    for (const w of waiters.splice(0)) {
      if (have.length >= w.n) w.resolve(have)
      else waiters.push(w)
    }
  })
  socket.on('error', () => {})
  const closed = withTimeout(new Promise<Uint8Array>(resolve => socket.once('close', () => resolve(all()))), 10_000, 'the peer to close the association')
  const received = async (n: number): Promise<Uint8Array> => {
    const have = all()
    if (have.length >= n) return have
    return await withTimeout(new Promise<Uint8Array>(resolve => waiters.push({ n, resolve })), 10_000, `${n} bytes from the peer`)
  }
  return { socket, closed, received }
}

/** The result of a dcmtk tool run. */
export interface ToolRun { code: number, stdout: string, stderr: string }

/** Runs a dcmtk tool (echoscu, storescu, …) with a timeout; never throws on a non-zero exit. */
export async function dcmtk (tool: string, args: string[], timeoutMs = 30_000): Promise<ToolRun> {
  return await new Promise((resolve) => {
    execFile(tool, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

export { freePort } from '../../../scripts/orthanc.ts'
export { writeStudy } from '../../../scripts/synth/dicom-study.ts'
export type { SeriesSpec, StudySpec } from '../../../scripts/synth/dicom-study.ts'

/** The value of one tag in `dcmdump` output of a file, e.g. tagOf(dump, '0010,0010'), or undefined. */
export function tagOf (dump: string, tag: string): string | undefined {
  const line = dump.split('\n').find(l => l.startsWith(`(${tag.toLowerCase()})`))
  if (line === undefined) return undefined
  const m = /\[(.*?)\]|=(\S+)|\s([0-9]+)\s+#/.exec(line.slice(tag.length + 2))
  return m === null ? undefined : (m[1] ?? m[2] ?? m[3])
}

/**
 * The data set of a Part 10 file as `dcmdump +L` prints it (every value in full, pixels too),
 * without the file meta group: two files with the same data set give the same text. Throws when
 * dcmdump printed no data set, so a comparison of two empty dumps cannot pass.
 */
export async function dataSetDump (path: string): Promise<string> {
  const lines = (await dcmtk('dcmdump', ['+L', path])).stdout.split('\n').filter(l => l.startsWith('(') && !l.startsWith('(0002,'))
  if (!lines.some(l => l.startsWith('(7fe0,0010)')) || !lines.some(l => l.startsWith('(0010,0010)'))) throw new Error(`${path}: dcmdump printed no data set`)
  return lines.join('\n')
}
