// The peer's DICOM listener (issue 13): our own TCP server on the configured host and port (the
// library's Server binds every interface), a PDU framing guard in front of each association, and
// a dcmjs-dimse Scp per connection. A protocol violation ends that association with an A-ABORT;
// the listener keeps serving.
import { createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { isIPv4 } from 'node:net'
import type { Logger } from 'pino'
import dimse from 'dcmjs-dimse'
import type { DicomConfig, DicomPeer } from '../../config/dicom.ts'
import { PDU } from '../constants.ts'
import { PduGuard } from './pdu-guard.ts'
import type { PduViolation } from './pdu-guard.ts'
import { scpClass } from './scp.ts'
import type { ReceivedInstance, StoreOutcome } from './scp.ts'
import type { QrContext } from './qr-scp.ts'
import { codecsInstalled, loadCodecs } from '../../imaging/dicom/codecs.ts'

// The library logs through loglevel to the console, command data sets included: silenced, since
// our logs are structured and must carry no UIDs (it logs nothing we need).
dimse.log.setLevel('silent')

/** What the listener is built from. */
export interface DicomServerInit {
  config: Pick<DicomConfig, 'host' | 'port' | 'aeTitle' | 'allowed' | 'maxPduBytes'>
  /** Folder of plaintext temp files (wiped at start by the peer). */
  tmpDir: string
}

/** What the listener uses. */
export interface DicomServerComponents {
  logger: Logger
  store: (instance: ReceivedInstance) => Promise<StoreOutcome>
  /** Query/retrieve (C-FIND, C-MOVE, C-GET); absent, those SOP classes are refused. */
  qr?: QrContext
}

/** A running DICOM listener. */
export interface DicomServer {
  start(): Promise<void>
  stop(): Promise<void>
  /** The AE title and bound address, once started. */
  address(): { aeTitle: string, host: string, port: number } | undefined
}

/** A-ABORT reasons of PS3.8 table 9-26 for each framing violation. */
const ABORT_REASON: Record<PduViolation, number> = {
  'unknown-pdu-type': 1, // unrecognized-PDU
  'unexpected-pdu': 2, // unexpected-PDU
  'pdu-too-large': 6, // invalid-PDU-parameter value
  'malformed-pdu': 6
}

/** An A-ABORT PDU from the service provider (PS3.8 §9.3.8): 10 bytes, written by hand. */
function abortPdu (reason: number): Uint8Array {
  return Uint8Array.of(PDU.abort, 0, 0, 0, 0, 4, 0, 0, 2, reason)
}

/** IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) compare as their IPv4 form. */
function plainAddress (address: string): string {
  const m = /^::ffff:(.+)$/i.exec(address)
  return m !== null && isIPv4(m[1]) ? m[1] : address.toLowerCase()
}

/** Whether a calling AE title may associate from `address` under the `allowed` list. */
export function admits (allowed: DicomPeer[], callingAeTitle: string, address: string): boolean {
  const from = plainAddress(address)
  return allowed.some(p => plainAddress(p.address) === from && (p.aeTitle === undefined || p.aeTitle === callingAeTitle))
}

/** The DICOM listener: `createDicomServer(init)(components)`, then `start()`. */
export function createDicomServer (init: DicomServerInit): (components: DicomServerComponents) => DicomServer {
  return ({ logger, store, qr }) => {
    const log = logger
    const { config } = init
    const Scp = scpClass({
      aeTitle: config.aeTitle,
      admits: (calling, address) => admits(config.allowed, calling, address),
      maxPduBytes: config.maxPduBytes,
      tmpDir: init.tmpDir,
      store,
      ...(qr === undefined ? {} : { qr }),
      logger: log
    })
    const sockets = new Set<Socket>()
    let server: Server | undefined

    const cut = (socket: Socket, violation: PduViolation): void => {
      log.warn({ address: socket.remoteAddress, violation }, 'DICOM association aborted: PDU framing violation')
      // The abort is flushed, then the socket closed; later bytes are read and dropped.
      socket.end(abortPdu(ABORT_REASON[violation]), () => socket.destroy())
      socket.setTimeout(5000, () => socket.destroy())
    }

    const onConnection = (socket: Socket): void => {
      // Nagle's algorithm off: a C-STORE-RSP written in parts would otherwise wait for the
      // caller's delayed ACK (about 40 ms on Linux) before its last part leaves, per instance.
      socket.setNoDelay(true)
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', (err) => log.debug({ err: { code: (err as NodeJS.ErrnoException).code } }, 'DICOM socket error'))
      const guard = new PduGuard({ maxPdu: config.maxPduBytes })
      let cutDone = false
      const scp = new Scp(socket)
      // The library's data listeners are taken off the socket and fed only what the guard passes:
      // a chunk with a violation never reaches them.
      const library = socket.listeners('data') as Array<(chunk: Buffer) => void>
      socket.removeAllListeners('data')
      socket.on('data', (chunk: Buffer) => {
        if (cutDone) return
        const violation = guard.push(chunk)
        if (violation === undefined) {
          for (const l of library) l.call(socket, chunk)
          return
        }
        cutDone = true
        cut(socket, violation)
      })
      scp.on('networkError', () => {
        // A PDU the library could not read, a timeout or a reset: this association ends.
        if (cutDone) return
        log.warn({ address: socket.remoteAddress }, 'DICOM association ended on a protocol or network error')
        socket.destroy()
      })
    }

    return {
      async start (): Promise<void> {
        if (server !== undefined) return
        // Whether storage contexts take JPEG, JPEG-LS and JPEG Baseline (scp.ts) is decided by this.
        await loadCodecs()
        if (!codecsInstalled()) log.warn('the DICOM codec packages are not installed: compressed transfer syntaxes are refused at negotiation')
        const s = createServer(onConnection)
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject)
          s.listen(config.port, config.host, () => {
            s.off('error', reject)
            resolve()
          })
        })
        s.on('error', (err) => log.error({ err }, 'DICOM listener error'))
        server = s
        const a = s.address() as AddressInfo
        log.info({ aeTitle: config.aeTitle, host: a.address, port: a.port }, 'DICOM listener started')
      },
      async stop (): Promise<void> {
        const s = server
        if (s === undefined) return
        server = undefined
        for (const socket of sockets) socket.destroy()
        await new Promise<void>(resolve => s.close(() => resolve()))
      },
      address () {
        const a = server?.address()
        if (a === undefined || a === null || typeof a === 'string') return undefined
        return { aeTitle: config.aeTitle, host: a.address, port: a.port }
      }
    }
  }
}
