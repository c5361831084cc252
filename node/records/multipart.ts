// Streams one uploaded file from a multipart/form-data request to a temporary file, never
// holding it in memory, and collects the small text fields beside it. The client's filename is
// never used for a path (no traversal); the size limit answers 413 and leaves nothing behind.
import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import busboy from 'busboy'
import { MedichainError } from '../../protocol/errors.ts'

/** A file received to disk, with the first bytes kept for format detection. */
export interface ReceivedFile {
  path: string
  size: number
  /** Up to the first 1 KiB, enough for every magic number we check (DICOM's is at 128). */
  head: Uint8Array
  /** The MIME type the client declared; informative only, never trusted. */
  declaredType: string
  fields: Record<string, string>
}

/** Limits of one upload. */
export interface UploadLimits { maxBytes: number, tmpDir: string, fileField?: string }

const HEAD_BYTES = 1024

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
    bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: limits.maxBytes, fields: 16, fieldSize: 4096, parts: 24 } })
  } catch (err) {
    throw new MedichainError('INVALID', `malformed multipart request: ${(err as Error).message}`)
  }
  const fields: Record<string, string> = {}
  let file: Promise<{ size: number, head: Uint8Array, declaredType: string, truncated: boolean }> | null = null
  bb.on('field', (name, value) => { fields[name] = value })
  bb.on('file', (name, stream, info) => {
    if (name !== field || file !== null) {
      stream.resume()
      return
    }
    file = writeFile(stream, path, info.mimeType)
  })
  try {
    await pipeline(req, bb)
    if (file === null) throw new MedichainError('INVALID', `the form has no "${field}" file`)
    const written = await (file as Promise<{ size: number, head: Uint8Array, declaredType: string, truncated: boolean }>)
    if (written.truncated) throw new MedichainError('TOO_LARGE', `uploads may be at most ${limits.maxBytes} bytes`)
    if (written.size === 0) throw new MedichainError('INVALID', 'the uploaded file is empty')
    return { path, size: written.size, head: written.head, declaredType: written.declaredType, fields }
  } catch (err) {
    await rm(path, { force: true })
    if (err instanceof MedichainError) throw err
    throw new MedichainError('INVALID', `the upload could not be read: ${(err as Error).message}`)
  }
}

async function writeFile (stream: NodeJS.ReadableStream & { truncated?: boolean }, path: string, declaredType: string): Promise<{ size: number, head: Uint8Array, declaredType: string, truncated: boolean }> {
  let size = 0
  const head = new Uint8Array(HEAD_BYTES)
  let headLength = 0
  const tap = new Transform({
    transform (chunk: Buffer, _enc, done) {
      if (headLength < HEAD_BYTES) {
        const take = Math.min(HEAD_BYTES - headLength, chunk.length)
        head.set(chunk.subarray(0, take), headLength)
        headLength += take
      }
      size += chunk.length
      done(null, chunk)
    }
  })
  await pipeline(stream, tap, createWriteStream(path, { mode: 0o600 }))
  return { size, head: head.slice(0, headLength), declaredType, truncated: stream.truncated === true }
}
