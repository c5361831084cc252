// Reads a multipart/related request body (RFC 2387, with RFC 2046 §5.1.1 framing), as STOW-RS
// sends it (PS3.18 §10.5.1): each body part is streamed to its own temp file (mode 0600), never
// held whole in memory, and handed to the caller as soon as its closing boundary has arrived, so
// the caller files one instance while the next is still on the wire.
import { open, rm } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { MedichainError } from '../../protocol/errors.ts'
import { ClientAbortedError } from '../records/multipart.ts'

/** One received body part. */
export interface RelatedPart {
  path: string
  size: number
  /** The part's Content-Type, lower-cased without parameters ('' when absent). */
  type: string
}

/** Limits of one body. */
export interface RelatedLimits { tmpDir: string, maxPartBytes: number, maxParts: number }

/** Largest header block of one part (bytes): a few short headers. */
const MAX_PART_HEADER_BYTES = 16 * 1024

/** Parameters of a Content-Type header (RFC 9110 §8.3.1), names lower-cased, quotes removed. */
export function mediaType (header: string): { type: string, params: Record<string, string> } {
  const [type, ...rest] = header.split(';')
  const params: Record<string, string> = {}
  for (const p of rest) {
    const at = p.indexOf('=')
    if (at < 0) continue
    const name = p.slice(0, at).trim().toLowerCase()
    let value = p.slice(at + 1).trim()
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1)
    params[name] = value
  }
  return { type: type.trim().toLowerCase(), params }
}

function invalid (message: string): MedichainError {
  return new MedichainError('INVALID', `malformed multipart/related body: ${message}`)
}

/** The Content-Type of a part's header block, lower-cased, without parameters. */
function partType (headers: string): string {
  for (const line of headers.split('\r\n')) {
    const at = line.indexOf(':')
    if (at > 0 && line.slice(0, at).trim().toLowerCase() === 'content-type') return mediaType(line.slice(at + 1)).type
  }
  return ''
}

/**
 * Yields the body parts of `req` (boundary `boundary`) as temp files; the caller owns (and
 * removes) each file it receives. Throws INVALID for a malformed body, TOO_LARGE past the limits,
 * CLIENT_ABORTED when the client goes away. The file being written when it throws is removed.
 */
export async function * readRelatedParts (req: IncomingMessage, boundary: string, limits: RelatedLimits): AsyncGenerator<RelatedPart> {
  if (!/^[0-9A-Za-z'()+_,\-./:=? ]{1,70}$/.test(boundary)) throw invalid('the boundary parameter is missing or not RFC 2046 §5.1.1 characters')
  const delimiter = Buffer.from(`\r\n--${boundary}`)
  // The body opens with the delimiter without its CRLF; prefixing one makes every delimiter alike.
  let buffered: Buffer = Buffer.from('\r\n')
  let state: 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done' = 'preamble'
  let file: { handle: FileHandle, path: string, size: number, type: string } | undefined
  let parts = 0
  const flush = async (bytes: Buffer): Promise<void> => {
    if (file === undefined || bytes.length === 0) return
    file.size += bytes.length
    if (file.size > limits.maxPartBytes) throw new MedichainError('TOO_LARGE', `an instance may be at most ${limits.maxPartBytes} bytes`)
    await file.handle.write(bytes)
  }
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
      while (true) {
        if (state === 'preamble' || state === 'body') {
          const at = buffered.indexOf(delimiter)
          if (at < 0) {
            // Keep what could be the start of a delimiter split across chunks.
            const keep = Math.min(buffered.length, delimiter.length - 1)
            if (state === 'body') await flush(buffered.subarray(0, buffered.length - keep))
            buffered = buffered.subarray(buffered.length - keep)
            break
          }
          if (state === 'body' && file !== undefined) {
            await flush(buffered.subarray(0, at))
            const done = file
            file = undefined
            await done.handle.close()
            yield { path: done.path, size: done.size, type: done.type }
          }
          buffered = buffered.subarray(at + delimiter.length)
          state = 'after-delimiter'
        }
        if (state === 'after-delimiter') {
          if (buffered.length < 2) break
          if (buffered[0] === 0x2d && buffered[1] === 0x2d) { state = 'done'; break }
          // Transport padding (spaces, tabs) may follow a delimiter before its CRLF (RFC 2046 §5.1.1).
          const eol = buffered.indexOf('\r\n')
          if (eol < 0) { if (buffered.length > 1024) throw invalid('no CRLF after a boundary'); break }
          if (!/^[ \t]*$/.test(buffered.subarray(0, eol).toString('latin1'))) throw invalid('text after a boundary')
          buffered = buffered.subarray(eol + 2)
          state = 'headers'
        }
        if (state === 'headers') {
          // A part with no headers starts with the empty line straight away.
          const end = buffered.subarray(0, 2).toString('latin1') === '\r\n' ? -2 : buffered.indexOf('\r\n\r\n')
          if (end === -1) { if (buffered.length > MAX_PART_HEADER_BYTES) throw invalid('a part\'s headers are too long'); break }
          const headers = end === -2 ? '' : buffered.subarray(0, end).toString('latin1')
          buffered = buffered.subarray(end === -2 ? 2 : end + 4)
          if (++parts > limits.maxParts) throw new MedichainError('TOO_LARGE', `a request may carry at most ${limits.maxParts} instances`)
          const path = join(limits.tmpDir, `stow-${randomBytes(12).toString('hex')}.dcm`)
          file = { handle: await open(path, 'wx', 0o600), path, size: 0, type: partType(headers) }
          state = 'body'
          continue
        }
        if (state === 'done') break
      }
      if (state === 'done') break
    }
    if (state !== 'done') {
      if (!req.complete) throw new ClientAbortedError(0)
      throw invalid('the body ends before its closing boundary')
    }
  } finally {
    if (file !== undefined) {
      await file.handle.close().catch(() => undefined)
      await rm(file.path, { force: true })
    }
    // Whatever the client still sends is read and dropped, so it can read our answer.
    if (!req.complete && !req.destroyed) req.resume()
  }
}
