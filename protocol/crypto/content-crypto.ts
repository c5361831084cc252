// The content encryption format of images (docs/design.md §5), and its WebCrypto implementation for
// browsers and the SDK: chunked AES-256-GCM (NIST SP 800-38D) streamed with Web Streams. The peer
// writes the same bytes with node:crypto (node/storage/seal/content-crypto-node.ts), which reuses the
// framing below; test/vectors/content-encryption.json pins both to one output.
//
//   header = 'MCE1' ‖ version (1 byte) ‖ chunkSize (u32 BE) ‖ noncePrefix (8 random bytes)
//   chunk i = AES-256-GCM(key, nonce = noncePrefix ‖ i (u32 BE),
//                         aad = header ‖ i (u32 BE) ‖ final (1 byte), plain_i) = ct_i ‖ tag_i (16)
//
// Every chunk but the last holds exactly chunkSize plaintext bytes; the last holds the remaining
// 0..chunkSize-1 bytes and has final = 1, so it is empty when the length is a multiple of the chunk
// size. This is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
// Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015), as in age and
// Tink: the index stops reordering, the final flag stops truncation at a chunk boundary, and the
// header in the AAD stops splicing chunks from another file or chunk size. A full-size chunk is
// never final, so neither side needs to look ahead. Each file has its own fresh data key; the
// random nonce prefix is defence in depth.
import { bufferSource, concat } from '../bytes.ts'
import { MedichainError, TooLargeError } from '../errors.ts'
import { secureRandomBytes } from './user-keys.ts'

/** The format's magic bytes, 'MCE1' (Medichain Content Encryption, format 1). */
export const CONTENT_MAGIC = new Uint8Array([0x4d, 0x43, 0x45, 0x31])
/** The header's version byte. */
export const CONTENT_VERSION = 1
/** magic (4) + version (1) + chunkSize (4) + noncePrefix (8). */
export const CONTENT_HEADER_BYTES = 17
/** GCM tag size: the full 128 bits (SP 800-38D §5.2.1.2). */
export const CONTENT_TAG_BYTES = 16
export const NONCE_PREFIX_BYTES = 8
/** docs/design.md §5: chunks are 1–4 MiB; 1 MiB is the default. */
export const DEFAULT_CHUNK_SIZE = 1 << 20
export const MAX_CHUNK_SIZE = 4 << 20
/** The smallest chunk size a header may name: 1 KiB, so the test vectors stay small. */
export const MIN_CHUNK_SIZE = 1 << 10
/** The chunk counter is a u32, so at most 2^32 chunks (4 TiB at the smallest size). */
export const MAX_CHUNKS = 2 ** 32

/** A parsed header: its exact bytes (they go into every AAD) and its two parameters. */
export interface ContentHeader { bytes: Uint8Array, chunkSize: number, noncePrefix: Uint8Array }

/** Options when encrypting. Both are for tests and vectors; production uses the defaults. */
export interface EncryptOptions { chunkSize?: number, noncePrefix?: Uint8Array }

/** A chunk ready to seal or open: its index, whether it is the last, and its bytes in pieces. */
export interface ChunkJob { index: number, final: boolean, pieces: Uint8Array[] }

/** A chunk to open, with the header it was read under. */
export type ReadJob = ChunkJob & { header: ContentHeader }

function fail (code: 'BAD_HEADER' | 'TRUNCATED' | 'BAD_CIPHERTEXT' | 'BAD_KEY', message: string, options?: ErrorOptions): MedichainError {
  return new MedichainError(code, message, options)
}

/** Throws BAD_KEY unless `key` is a 32-byte AES-256 key. */
export function assertContentKey (key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw fail('BAD_KEY', `expected a 32-byte AES-256 key, got ${key instanceof Uint8Array ? `${key.length} bytes` : typeof key}`)
  }
}

/** The header for `options`, with a fresh random nonce prefix unless one is given. */
export function createContentHeader (options: EncryptOptions = {}): ContentHeader {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE
  if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunkSize must be an integer in [${MIN_CHUNK_SIZE}, ${MAX_CHUNK_SIZE}], got ${chunkSize}`)
  }
  const noncePrefix = options.noncePrefix ?? secureRandomBytes(NONCE_PREFIX_BYTES)
  if (!(noncePrefix instanceof Uint8Array) || noncePrefix.length !== NONCE_PREFIX_BYTES) {
    throw new RangeError(`noncePrefix must be ${NONCE_PREFIX_BYTES} bytes`)
  }
  const bytes = new Uint8Array(CONTENT_HEADER_BYTES)
  bytes.set(CONTENT_MAGIC, 0)
  bytes[4] = CONTENT_VERSION
  new DataView(bytes.buffer).setUint32(5, chunkSize)
  bytes.set(noncePrefix, 9)
  return { bytes, chunkSize, noncePrefix: bytes.slice(9) }
}

/** Parses the 17 header bytes; throws BAD_HEADER on a wrong magic, version or chunk size. */
export function parseContentHeader (bytes: Uint8Array): ContentHeader {
  if (bytes.length !== CONTENT_HEADER_BYTES) throw fail('BAD_HEADER', `expected a ${CONTENT_HEADER_BYTES}-byte header, got ${bytes.length}`)
  for (let i = 0; i < 4; i++) if (bytes[i] !== CONTENT_MAGIC[i]) throw fail('BAD_HEADER', 'not Medichain encrypted content (bad magic)')
  if (bytes[4] !== CONTENT_VERSION) throw fail('BAD_HEADER', `unsupported content format version ${bytes[4]}`)
  const chunkSize = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(5)
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) throw fail('BAD_HEADER', `chunk size ${chunkSize} is out of range`)
  const copy = bytes.slice()
  return { bytes: copy, chunkSize, noncePrefix: copy.slice(9) }
}

/** The 12-byte GCM nonce of chunk `index`: noncePrefix ‖ index (u32 BE). */
export function chunkNonce (header: ContentHeader, index: number): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(12)
  nonce.set(header.noncePrefix, 0)
  new DataView(nonce.buffer).setUint32(8, index)
  return nonce
}

/** The AAD of chunk `index`: header ‖ index (u32 BE) ‖ final flag. */
export function chunkAad (header: ContentHeader, index: number, final: boolean): Uint8Array<ArrayBuffer> {
  const aad = new Uint8Array(CONTENT_HEADER_BYTES + 5)
  aad.set(header.bytes, 0)
  const view = new DataView(aad.buffer)
  view.setUint32(CONTENT_HEADER_BYTES, index)
  aad[CONTENT_HEADER_BYTES + 4] = final ? 1 : 0
  return aad
}

/** The encrypted size of `plainLength` bytes: header, plaintext and one tag per chunk. */
export function contentCiphertextLength (plainLength: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  return CONTENT_HEADER_BYTES + plainLength + CONTENT_TAG_BYTES * (Math.floor(plainLength / chunkSize) + 1)
}

/** A FIFO of byte pieces that hands out exact lengths as subarrays, copying nothing. */
export class ByteQueue {
  private pieces: Uint8Array[] = []
  private offset = 0
  /** Bytes queued. */
  length = 0

  /** Appends a piece (kept by reference). */
  push (piece: Uint8Array): void {
    if (!(piece instanceof Uint8Array)) throw new TypeError(`expected a Uint8Array chunk, got ${typeof piece}`)
    if (piece.length === 0) return
    this.pieces.push(piece)
    this.length += piece.length
  }

  /** Removes the first `n` bytes (n ≤ length), as one or more subarrays. */
  take (n: number): Uint8Array[] {
    if (n > this.length) throw new RangeError(`cannot take ${n} bytes from a queue of ${this.length}`)
    const out: Uint8Array[] = []
    this.length -= n
    while (n > 0) {
      const piece = this.pieces[0]
      const available = piece.length - this.offset
      if (available <= n) {
        out.push(this.offset === 0 ? piece : piece.subarray(this.offset))
        this.pieces.shift()
        this.offset = 0
        n -= available
      } else {
        out.push(piece.subarray(this.offset, this.offset + n))
        this.offset += n
        n = 0
      }
    }
    return out
  }
}

/** One contiguous array of the pieces; no copy when there is only one. */
export function joinPieces (pieces: Uint8Array[]): Uint8Array {
  return pieces.length === 1 ? pieces[0] : concat(...pieces)
}

function nextIndex (index: number): number {
  if (index >= MAX_CHUNKS) throw new TooLargeError(`content may have at most ${MAX_CHUNKS} chunks`)
  return index
}

/**
 * Cuts plaintext into chunk jobs for sealing. Push pieces, drain `next()` until null, and call
 * `end()` once for the final chunk. It holds at most one chunk plus the last piece pushed.
 */
export class ContentWriter {
  readonly header: ContentHeader
  private queue = new ByteQueue()
  private index = 0

  constructor (options: EncryptOptions = {}) {
    this.header = createContentHeader(options)
  }

  /** Queues plaintext. */
  push (piece: Uint8Array): void {
    this.queue.push(piece)
  }

  /** The next full chunk (never final), or null until enough plaintext is queued. */
  next (): ChunkJob | null {
    if (this.queue.length < this.header.chunkSize) return null
    return { index: nextIndex(this.index++), final: false, pieces: this.queue.take(this.header.chunkSize) }
  }

  /** The final chunk: whatever is left, possibly nothing. Call after `next()` returned null. */
  end (): ChunkJob {
    if (this.queue.length >= this.header.chunkSize) throw new Error('ContentWriter.end() called before next() was drained')
    return { index: nextIndex(this.index++), final: true, pieces: this.queue.take(this.queue.length) }
  }
}

/**
 * Cuts ciphertext into the header and chunk jobs for opening. A chunk of full size
 * (chunkSize + 16) is always a non-final one; whatever remains at the end is the final chunk.
 */
export class ContentReader {
  header: ContentHeader | null = null
  private queue = new ByteQueue()
  private index = 0

  /** Queues ciphertext; parses the header as soon as its 17 bytes are in (BAD_HEADER). */
  push (piece: Uint8Array): void {
    this.queue.push(piece)
    if (this.header === null && this.queue.length >= CONTENT_HEADER_BYTES) {
      this.header = parseContentHeader(joinPieces(this.queue.take(CONTENT_HEADER_BYTES)))
    }
  }

  /** The next full non-final chunk, or null until one is queued. */
  next (): ReadJob | null {
    const header = this.header
    if (header === null || this.queue.length < header.chunkSize + CONTENT_TAG_BYTES) return null
    return { header, index: nextIndex(this.index++), final: false, pieces: this.queue.take(header.chunkSize + CONTENT_TAG_BYTES) }
  }

  /** At the end of input: the final chunk. Throws TRUNCATED when the header or the final chunk is missing. */
  end (): ReadJob {
    const header = this.header
    if (header === null) {
      const start = joinPieces(this.queue.take(this.queue.length))
      if (start.some((b, i) => i < CONTENT_MAGIC.length && b !== CONTENT_MAGIC[i])) throw fail('BAD_HEADER', 'not Medichain encrypted content (bad magic)')
      throw fail('TRUNCATED', 'encrypted content ends inside its header')
    }
    if (this.queue.length < CONTENT_TAG_BYTES) {
      throw fail('TRUNCATED', `encrypted content ends after chunk ${this.index - 1} without a final chunk`)
    }
    return { header, index: nextIndex(this.index++), final: true, pieces: this.queue.take(this.queue.length) }
  }
}

/** The error for a chunk that does not authenticate. */
export function badChunk (job: ChunkJob, cause?: unknown): MedichainError {
  return fail('BAD_CIPHERTEXT', `chunk ${job.index} does not authenticate (wrong key, altered, reordered or extra bytes)`, { cause })
}

/** The same bytes typed for WebCrypto (an ArrayBuffer, not a SharedArrayBuffer); copies only when needed. */

async function importKey (key: Uint8Array): Promise<CryptoKey> {
  return await globalThis.crypto.subtle.importKey('raw', bufferSource(key), 'AES-GCM', false, ['encrypt', 'decrypt'])
}

async function sealChunk (key: CryptoKey, header: ContentHeader, job: ChunkJob): Promise<Uint8Array> {
  const params = { name: 'AES-GCM', iv: chunkNonce(header, job.index), additionalData: chunkAad(header, job.index, job.final) }
  return new Uint8Array(await globalThis.crypto.subtle.encrypt(params, key, bufferSource(joinPieces(job.pieces))))
}

async function openChunk (key: CryptoKey, job: ReadJob): Promise<Uint8Array> {
  const params = { name: 'AES-GCM', iv: chunkNonce(job.header, job.index), additionalData: chunkAad(job.header, job.index, job.final) }
  try {
    return new Uint8Array(await globalThis.crypto.subtle.decrypt(params, key, bufferSource(joinPieces(job.pieces))))
  } catch (err) {
    throw badChunk(job, err)
  }
}

/**
 * A TransformStream that encrypts a plaintext byte stream into the format. It emits the header,
 * then one ciphertext chunk per chunkSize bytes of input, and the final chunk at the end; it holds
 * at most one chunk plus the piece being written. Throws BAD_KEY now for a key of the wrong size.
 */
export function encryptStream (key: Uint8Array, options: EncryptOptions = {}): TransformStream<Uint8Array, Uint8Array> {
  assertContentKey(key)
  const writer = new ContentWriter(options)
  let aes: CryptoKey
  return new TransformStream({
    async start (controller) {
      aes = await importKey(key)
      controller.enqueue(writer.header.bytes.slice())
    },
    async transform (piece, controller) {
      writer.push(piece)
      for (let job = writer.next(); job !== null; job = writer.next()) controller.enqueue(await sealChunk(aes, writer.header, job))
    },
    async flush (controller) {
      controller.enqueue(await sealChunk(aes, writer.header, writer.end()))
    }
  })
}

/**
 * A TransformStream that decrypts the format, emitting each chunk's plaintext once its tag checks.
 * The stream errors with BAD_HEADER, BAD_CIPHERTEXT (wrong key, a flipped bit, reordered chunks,
 * bytes after the final chunk, a cut inside a chunk) or TRUNCATED (a cut at a chunk boundary).
 * As with any streaming AEAD, chunks before the failure have already been emitted: a consumer must
 * treat the whole output as invalid unless the stream ends without error.
 */
export function decryptStream (key: Uint8Array): TransformStream<Uint8Array, Uint8Array> {
  assertContentKey(key)
  const reader = new ContentReader()
  let aes: CryptoKey
  return new TransformStream({
    async start () {
      aes = await importKey(key)
    },
    async transform (piece, controller) {
      reader.push(piece)
      for (let job = reader.next(); job !== null; job = reader.next()) controller.enqueue(await openChunk(aes, job))
    },
    async flush (controller) {
      const plain = await openChunk(aes, reader.end())
      if (plain.length > 0) controller.enqueue(plain)
    }
  })
}

/** Encrypts a whole byte array (small files, tests); the output equals `encryptStream`'s. */
export async function encryptBytes (key: Uint8Array, plain: Uint8Array, options: EncryptOptions = {}): Promise<Uint8Array> {
  assertContentKey(key)
  const aes = await importKey(key)
  const writer = new ContentWriter(options)
  writer.push(plain)
  const parts = [writer.header.bytes]
  for (let job = writer.next(); job !== null; job = writer.next()) parts.push(await sealChunk(aes, writer.header, job))
  parts.push(await sealChunk(aes, writer.header, writer.end()))
  return concat(...parts)
}

/** Decrypts a whole byte array, with the same errors as `decryptStream`. */
export async function decryptBytes (key: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
  assertContentKey(key)
  const aes = await importKey(key)
  const reader = new ContentReader()
  reader.push(ciphertext)
  const parts: Uint8Array[] = []
  for (let job = reader.next(); job !== null; job = reader.next()) parts.push(await openChunk(aes, job))
  parts.push(await openChunk(aes, reader.end()))
  return concat(...parts)
}
