// The peer's implementation of the content encryption format (protocol/crypto/content-crypto.ts) with
// node:crypto's AES-256-GCM, which runs at OpenSSL speed (STACK.md: about 1.5 GB/s). The framing,
// header, nonces and AAD come from the protocol module, so both sides write identical bytes.
import { createCipheriv, createDecipheriv, createSecretKey } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import {
  assertContentKey, badChunk, CONTENT_TAG_BYTES, ContentReader, ContentWriter, chunkAad, chunkNonce, MAX_CHUNKS
} from '../../../protocol/crypto/content-crypto.ts'
import type { ChunkJob, ContentHeader, EncryptOptions, ReadJob } from '../../../protocol/crypto/content-crypto.ts'
import { concat } from '../../../protocol/bytes.ts'
import { TooLargeError } from '../../../protocol/errors.ts'

/** Bytes from any Node or Web source: a Readable, an async generator, an array of buffers. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>

function secretKey (key: Uint8Array): KeyObject {
  assertContentKey(key)
  return createSecretKey(key)
}

/** Seals one chunk; returns the ciphertext pieces followed by the tag. */
function sealChunk (key: KeyObject, header: ContentHeader, job: ChunkJob): Uint8Array[] {
  const cipher = createCipheriv('aes-256-gcm', key, chunkNonce(header, job.index), { authTagLength: CONTENT_TAG_BYTES })
  cipher.setAAD(chunkAad(header, job.index, job.final))
  const out: Uint8Array[] = []
  for (const piece of job.pieces) out.push(cipher.update(piece))
  out.push(cipher.final(), cipher.getAuthTag())
  return out.filter(p => p.length > 0)
}

/**
 * Opens one chunk. The plaintext pieces are returned only after `final()` has checked the tag, so
 * no unauthenticated byte ever leaves this function.
 */
function openChunk (key: KeyObject, job: ReadJob): Uint8Array[] {
  const bodyLength = job.pieces.reduce((n, p) => n + p.length, 0) - CONTENT_TAG_BYTES
  const decipher = createDecipheriv('aes-256-gcm', key, chunkNonce(job.header, job.index), { authTagLength: CONTENT_TAG_BYTES })
  decipher.setAAD(chunkAad(job.header, job.index, job.final))
  const out: Uint8Array[] = []
  const tag: Uint8Array[] = []
  let seen = 0
  for (const piece of job.pieces) {
    const split = Math.max(0, Math.min(piece.length, bodyLength - seen))
    if (split > 0) out.push(decipher.update(piece.subarray(0, split)))
    if (split < piece.length) tag.push(piece.subarray(split))
    seen += piece.length
  }
  try {
    decipher.setAuthTag(concat(...tag))
    out.push(decipher.final())
  } catch (err) {
    throw badChunk(job, err)
  }
  return out.filter(p => p.length > 0)
}

/**
 * Encrypts a byte stream into the format, as an async generator of ciphertext pieces. Memory stays
 * at about one chunk; use it as a `stream.pipeline` stage: `pipeline(src, s => encryptContent(key,
 * s), dst)`. Throws BAD_KEY for a key of the wrong size.
 */
export async function * encryptContent (key: Uint8Array, source: ByteSource, options: EncryptOptions = {}): AsyncGenerator<Uint8Array> {
  const aes = secretKey(key)
  const writer = new ContentWriter(options)
  yield writer.header.bytes.slice()
  for await (const piece of source) {
    writer.push(piece)
    for (let job = writer.next(); job !== null; job = writer.next()) yield * sealChunk(aes, writer.header, job)
  }
  yield * sealChunk(aes, writer.header, writer.end())
}

/**
 * Seals plaintext that arrives one whole chunk at a time: every chunk but the last exactly
 * `chunkSize` bytes, the last shorter (possibly empty). The seal worker reads each chunk from the
 * upload's temp file into one reused buffer and seals it here at once, so nothing is queued and the
 * buffer is free again when `seal` returns. Writes the same bytes as `encryptContent`.
 */
export class ChunkSealer {
  readonly header: ContentHeader
  readonly #key: KeyObject
  #index = 0
  #ended = false

  constructor (key: Uint8Array, options: EncryptOptions = {}) {
    this.#key = secretKey(key)
    this.header = new ContentWriter(options).header
  }

  /** The ciphertext of the next chunk (its pieces, then the tag); `final` for the last one. */
  seal (plain: Uint8Array, final: boolean): Uint8Array[] {
    if (this.#ended) throw new RangeError('ChunkSealer.seal() called after the final chunk')
    const size = this.header.chunkSize
    if (final ? plain.length >= size : plain.length !== size) {
      throw new RangeError(`a ${final ? 'final' : 'non-final'} chunk must hold ${final ? `fewer than ${size}` : `exactly ${size}`} bytes, got ${plain.length}`)
    }
    if (this.#index >= MAX_CHUNKS) throw new TooLargeError(`content may have at most ${MAX_CHUNKS} chunks`)
    this.#ended = final
    return sealChunk(this.#key, this.header, { index: this.#index++, final, pieces: [plain] })
  }
}

/**
 * Decrypts the format from a byte stream, as an async generator of plaintext pieces; each chunk's
 * plaintext is yielded only once its tag checks. Errors (thrown from the iteration) are BAD_HEADER,
 * BAD_CIPHERTEXT and TRUNCATED, as in protocol/crypto/content-crypto.ts; output already yielded before an
 * error must be discarded by the consumer.
 */
export async function * decryptContent (key: Uint8Array, source: ByteSource): AsyncGenerator<Uint8Array> {
  const aes = secretKey(key)
  const reader = new ContentReader()
  for await (const piece of source) {
    reader.push(piece)
    for (let job = reader.next(); job !== null; job = reader.next()) yield * openChunk(aes, job)
  }
  yield * openChunk(aes, reader.end())
}

/** Encrypts a whole buffer synchronously (results, small images, tests). */
export function encryptContentSync (key: Uint8Array, plain: Uint8Array, options: EncryptOptions = {}): Uint8Array {
  const aes = secretKey(key)
  const writer = new ContentWriter(options)
  writer.push(plain)
  const parts: Uint8Array[] = [writer.header.bytes]
  for (let job = writer.next(); job !== null; job = writer.next()) parts.push(...sealChunk(aes, writer.header, job))
  parts.push(...sealChunk(aes, writer.header, writer.end()))
  return concat(...parts)
}

/** Decrypts a whole buffer synchronously, with the same errors as `decryptContent`. */
export function decryptContentSync (key: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const aes = secretKey(key)
  const reader = new ContentReader()
  reader.push(ciphertext)
  const parts: Uint8Array[] = []
  for (let job = reader.next(); job !== null; job = reader.next()) parts.push(...openChunk(aes, job))
  parts.push(...openChunk(aes, reader.end()))
  return concat(...parts)
}
