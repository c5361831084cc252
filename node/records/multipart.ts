// Streams one uploaded file from a multipart/form-data request to a temporary file, never
// holding it in memory, and collects the small text fields beside it. The client's filename is
// never used for a path (no traversal). Every way the body can end badly — the client drops the
// socket, the form is malformed, the disk is full, the size limit — settles the temp-file write,
// removes the file and rejects with a typed error; none leaves a stream error unhandled.
import { open, rm } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { finished, pipeline } from 'node:stream/promises'
import { Transform, Writable } from 'node:stream'
import type { Readable } from 'node:stream'
import busboy from 'busboy'
import { MedichainError } from '../../protocol/errors.ts'
import { isNoSpace, StorageFullError } from '../storage/errors.ts'
import type { InstanceHeader } from '../dicom/catalogue/instance-header.ts'

/** A file received to disk, with the first bytes kept for format detection. */
export interface ReceivedFile {
  path: string
  size: number
  /** Up to the first 1 KiB, enough for every magic number we check (DICOM's is at 128). */
  head: Uint8Array
  /** The MIME type the client declared; informative only, never trusted. */
  declaredType: string
  /**
   * The file name the client gave the part, without any path; never used for a path, and kept
   * only for the image's sealed card (PHI: it may name the patient). Absent when none was given.
   */
  fileName?: string
  /** The form's text fields (for an image: `name`, `description` and `date` of its card). */
  fields: Record<string, string>
  /** The whole file, when a caller read it already (small DICOM instances): not read again. */
  bytes?: Uint8Array
  /** The DICOM header, when a caller parsed it already: not parsed again. */
  dicomHeader?: InstanceHeader
}

/** Limits of one upload, and who to tell as the file reaches its temp file. */
export interface UploadLimits {
  maxBytes: number
  tmpDir: string
  fileField?: string
  /**
   * Called each time more of the file is in its temp file (`bytes` in all, in order), so a reader
   * can follow it while the body still arrives (upload.ts seals it as it grows). The file may yet
   * be refused or removed: the reader must stop when receiveFile rejects.
   */
  written?: (path: string, bytes: number) => void
}

/**
 * Bytes the temp file's writer buffers before busboy waits: while one write is on the disk, the
 * socket's next 64 KiB pieces queue and go down together in one writev, instead of one thread
 * pool round trip and one socket pause per piece.
 */
const WRITE_BUFFER_BYTES = 4 * 1024 * 1024

/**
 * Thrown when the client went away before its request body was complete. Nobody is left to
 * answer: the route logs it once, without a stack, as an expected client event.
 */
export class ClientAbortedError extends MedichainError {
  /** Bytes of the file part that had reached the temp file (removed since). */
  readonly received: number
  constructor (received: number) {
    super('CLIENT_ABORTED', 'the client closed the connection before the upload was complete')
    this.name = 'ClientAbortedError'
    this.received = received
  }
}

const HEAD_BYTES = 1024

interface Written { size: number, head: Uint8Array, declaredType: string, fileName: string, truncated: boolean }

/** Reads one file field (default `file`) of a multipart request into `tmpDir`. */
export async function receiveFile (req: IncomingMessage, limits: UploadLimits): Promise<ReceivedFile> {
  const type = req.headers['content-type'] ?? ''
  if (!type.toLowerCase().startsWith('multipart/form-data')) {
    throw new MedichainError('UNSUPPORTED_MEDIA_TYPE', 'uploads must be multipart/form-data')
  }
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limits.maxBytes + 64 * 1024) throw new MedichainError('TOO_LARGE', `uploads may be at most ${limits.maxBytes} bytes`)
  const field = limits.fileField ?? 'file'
  const path = join(limits.tmpDir, `upload-${randomBytes(16).toString('hex')}`)
  let bb: busboy.Busboy
  try {
    // File names are UTF-8 in every current browser (WHATWG HTML §4.10.21.8), not busboy's default latin1.
    bb = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fileSize: limits.maxBytes, fields: 16, fieldSize: 4096, parts: 24 } })
  } catch (err) {
    throw new MedichainError('INVALID', `malformed multipart request: ${(err as Error).message}`)
  }
  const fields: Record<string, string> = {}
  const progress = { bytes: 0 }
  let file: Promise<Written> | undefined
  const body = readBody(req, bb, (failed) => {
    bb.on('field', (name, value) => { fields[name] = value })
    bb.on('file', (name, stream, info) => {
      if (name !== field || file !== undefined) {
        stream.resume()
        return
      }
      file = writeFile(stream, path, info, progress, limits.written)
      // A failed write (ENOSPC) ends the body at once; the promise is awaited below either way.
      file.catch(failed)
    })
  })
  try {
    await body
    if (file === undefined) throw new MedichainError('INVALID', `the form has no "${field}" file`)
    const written = await file
    if (written.truncated) throw new MedichainError('TOO_LARGE', `uploads may be at most ${limits.maxBytes} bytes`)
    if (written.size === 0) throw new MedichainError('INVALID', 'the uploaded file is empty')
    return { path, size: written.size, head: written.head, declaredType: written.declaredType, ...(written.fileName === '' ? {} : { fileName: written.fileName }), fields }
  } catch (err) {
    // The write must be over (its descriptor closed) before the unlink, or a late open would
    // create the file again after it was removed.
    if (file !== undefined) await file.catch(() => undefined)
    await rm(path, { force: true })
    throw uploadError(err, req, progress.bytes)
  }
}

/**
 * Feeds the request into busboy and resolves once the form is parsed. Rejects on the first of: the
 * client closing the connection early, a request stream error, a malformed form, or `failed`
 * being called (by the file writer). On rejection busboy is destroyed, which ends the file part
 * and so the temp-file write; the request is never destroyed here, so a connected client still
 * gets its error answer, and what it still sends is read and discarded.
 */
function readBody (req: IncomingMessage, bb: busboy.Busboy, wire: (failed: (err: unknown) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false
    const stop = (err: unknown): void => {
      if (settled) return
      settled = true
      req.off('close', onClose)
      req.unpipe(bb)
      bb.destroy()
      if (!req.destroyed) req.resume()
      reject(err)
    }
    const onClose = (): void => { if (!req.complete) stop(new ClientAbortedError(0)) }
    // Listeners stay attached for the stream's life: an error after settling is still handled.
    req.on('error', stop)
    bb.on('error', stop)
    req.on('close', onClose)
    wire(stop)
    finished(bb, { readable: false }).then(() => {
      if (settled) return
      settled = true
      req.off('close', onClose)
      resolve()
    }, stop)
    req.pipe(bb)
  })
}

/** Our typed error for whatever ended an upload early. */
function uploadError (err: unknown, req: IncomingMessage, received: number): MedichainError {
  if (err instanceof ClientAbortedError || (!req.complete && req.socket?.destroyed !== false)) return new ClientAbortedError(received)
  if (err instanceof MedichainError) return err
  if (isNoSpace(err)) return new StorageFullError(undefined, { cause: err })
  return new MedichainError('INVALID', `the upload could not be read: ${(err as Error).message}`)
}

/** A temp file's writer: gathered pieces go down in one writev, and each completed write is reported. */
function tempFileWriter (fh: FileHandle, reported: (bytes: number) => void): Writable {
  let bytes = 0
  const writeAll = async (pieces: Buffer[]): Promise<void> => {
    let total = 0
    for (const p of pieces) total += p.length
    // writev may write less than asked (a disk filling up); the rest goes again, and a full disk throws ENOSPC.
    for (let done = 0; done < total;) {
      const { bytesWritten } = await fh.writev(done === 0 ? pieces : rest(pieces, done))
      if (bytesWritten === 0) throw new Error('the temp file write made no progress')
      done += bytesWritten
    }
    bytes += total
    reported(bytes)
  }
  return new Writable({
    highWaterMark: WRITE_BUFFER_BYTES,
    writev (chunks, done) { writeAll(chunks.map(c => c.chunk as Buffer)).then(() => done(), done) },
    final (done) { done() }
  })
}

/** The pieces after the first `skip` bytes. */
function rest (pieces: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = []
  for (const p of pieces) {
    if (skip >= p.length) {
      skip -= p.length
    } else {
      out.push(skip > 0 ? p.subarray(skip) : p)
      skip = 0
    }
  }
  return out
}

/** Writes the file part to `path` (mode 0600), counting bytes and keeping the head. */
async function writeFile (stream: Readable & { truncated?: boolean }, path: string, info: { mimeType: string, filename?: string }, progress: { bytes: number }, written?: (path: string, bytes: number) => void): Promise<Written> {
  const head = new Uint8Array(HEAD_BYTES)
  let headLength = 0
  const tap = new Transform({
    transform (chunk: Buffer, _enc, done) {
      if (headLength < HEAD_BYTES) {
        const take = Math.min(HEAD_BYTES - headLength, chunk.length)
        head.set(chunk.subarray(0, take), headLength)
        headLength += take
      }
      progress.bytes += chunk.length
      done(null, chunk)
    }
  })
  const fh = await open(path, 'wx', 0o600)
  try {
    await pipeline(stream, tap, tempFileWriter(fh, (bytes) => written?.(path, bytes)))
  } finally {
    // Closed before any unlink of the file (see receiveFile), whatever ended the write.
    await fh.close()
  }
  return { size: progress.bytes, head: head.slice(0, headLength), declaredType: info.mimeType, fileName: info.filename ?? '', truncated: stream.truncated === true }
}
