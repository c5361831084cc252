// The chunked AES-256-GCM content format through WebCrypto: the shared known answers (made by an
// independent Python reference), streaming with any piece sizes, and every tampering case:
// truncation, reordering, a flipped bit, a wrong key, extra bytes, and bad headers.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { concat, fromHex, toHex } from '../../../protocol/bytes.ts'
import {
  CONTENT_HEADER_BYTES, contentCiphertextLength, decryptBytes, decryptStream, DEFAULT_CHUNK_SIZE, encryptBytes, encryptStream
} from '../../../protocol/crypto/content-crypto.ts'
import { MedichainError } from '../../../protocol/errors.ts'
import { secureRandomBytes } from '../../../protocol/crypto/user-keys.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'

interface Vectors { key: string, noncePrefix: string, chunkSize: number, cases: Array<{ plaintextLength: number, plaintext: string, ciphertext: string }> }
const V = JSON.parse(readFileSync(new URL('../../vectors/content-encryption.json', import.meta.url), 'utf8')) as Vectors
const key = fromHex(V.key)
const opts = { chunkSize: V.chunkSize, noncePrefix: fromHex(V.noncePrefix) }
const CHUNK = V.chunkSize
const FULL = CHUNK + 16

/** `bytes` cut into pieces whose sizes cycle through `sizes`. */
function split (bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]
    out.push(bytes.slice(at, at + n))
    at += n
  }
  return out
}

/** Pipes the pieces through a transform and concatenates what comes out. */
async function through (pieces: Uint8Array[], transform: TransformStream<Uint8Array, Uint8Array>): Promise<Uint8Array> {
  const source = new ReadableStream<Uint8Array>({
    start (controller) {
      for (const p of pieces) controller.enqueue(p)
      controller.close()
    }
  })
  const reader = source.pipeThrough(transform).getReader()
  const parts: Uint8Array[] = []
  for (let r = await reader.read(); r.done !== true; r = await reader.read()) parts.push(r.value)
  return concat(...parts)
}

const SPLITS = [[1], [7, 1000, 3], [CHUNK], [FULL], [5000]]

test('encryptBytes and decryptBytes reproduce every known answer', async () => {
  for (const c of V.cases) {
    assert.is(toHex(await encryptBytes(key, fromHex(c.plaintext), opts)), c.ciphertext, `length ${c.plaintextLength}`)
    assert.is(toHex(await decryptBytes(key, fromHex(c.ciphertext))), c.plaintext)
    assert.is(contentCiphertextLength(c.plaintextLength, CHUNK), c.ciphertext.length / 2)
  }
})

test('encryptStream and decryptStream give the known answers whatever the piece sizes', async () => {
  for (const c of V.cases) {
    for (const sizes of SPLITS) {
      const plain = fromHex(c.plaintext)
      assert.is(toHex(await through(split(plain, sizes), encryptStream(key, opts))), c.ciphertext)
      assert.is(toHex(await through(split(fromHex(c.ciphertext), sizes), decryptStream(key))), c.plaintext)
    }
  }
})

test('defaults: 1 MiB chunks and a fresh random nonce prefix each time', async () => {
  const k = secureRandomBytes(32)
  const plain = secureRandomBytes(DEFAULT_CHUNK_SIZE * 2 + 5)
  const a = await through(split(plain, [300_000]), encryptStream(k))
  const b = await encryptBytes(k, plain)
  assert.is(a.length, contentCiphertextLength(plain.length))
  assert.equal(Array.from(a.subarray(0, 9)), [0x4d, 0x43, 0x45, 0x31, 1, 0, 0x10, 0, 0])
  assert.not.equal(toHex(a.subarray(9, CONTENT_HEADER_BYTES)), toHex(b.subarray(9, CONTENT_HEADER_BYTES)))
  assert.equal(await decryptBytes(k, a), plain)
  assert.equal(await through(split(b, [65536]), decryptStream(k)), plain)
})

test('decryptStream emits a chunk before the input ends (it streams, it does not buffer the file)', async () => {
  const ct = fromHex(V.cases.find(c => c.plaintextLength === 3000)?.ciphertext ?? '')
  const transform = decryptStream(key)
  const writer = transform.writable.getWriter()
  const reader = transform.readable.getReader()
  const firstWrite = writer.write(ct.subarray(0, CONTENT_HEADER_BYTES + FULL))
  const first = await reader.read()
  assert.is(first.value?.length, CHUNK)
  const writes = Promise.all([firstWrite, writer.write(ct.subarray(CONTENT_HEADER_BYTES + FULL)), writer.close()])
  // Marked handled here so a failing read reports as this test's failure, not a process crash.
  writes.catch(() => {})
  let rest = 0
  for (let r = await reader.read(); r.done !== true; r = await reader.read()) rest += r.value.length
  await writes
  assert.is(rest, 3000 - CHUNK)
})

const multi = fromHex(V.cases.find(c => c.plaintextLength === 2049)?.ciphertext ?? '')
const exact = fromHex(V.cases.find(c => c.plaintextLength === 2048)?.ciphertext ?? '')
const H = CONTENT_HEADER_BYTES

/** Both decrypt paths must fail with `code`. */
async function bothReject (ct: Uint8Array, code: string, k = key): Promise<void> {
  await rejects(() => decryptBytes(k, ct), code)
  await rejects(() => through(split(ct, [333]), decryptStream(k)), code)
}

test('truncation at a chunk boundary is TRUNCATED, including a dropped empty final chunk', async () => {
  await bothReject(multi.subarray(0, H + 2 * FULL), 'TRUNCATED')
  await bothReject(multi.subarray(0, H + FULL), 'TRUNCATED')
  await bothReject(multi.subarray(0, H), 'TRUNCATED')
  await bothReject(exact.subarray(0, exact.length - 16), 'TRUNCATED')
  // A cut inside the header, or inside the final tag.
  await bothReject(multi.subarray(0, 10), 'TRUNCATED')
  await bothReject(new Uint8Array(0), 'TRUNCATED')
  await bothReject(multi.subarray(0, H + 2 * FULL + 15), 'TRUNCATED')
})

test('a cut inside a chunk is BAD_CIPHERTEXT (indistinguishable from damage)', async () => {
  await bothReject(multi.subarray(0, H + FULL + 100), 'BAD_CIPHERTEXT')
  await bothReject(multi.subarray(0, multi.length - 1), 'BAD_CIPHERTEXT')
})

test('reordered, dropped or duplicated chunks are BAD_CIPHERTEXT', async () => {
  const header = multi.subarray(0, H)
  const c0 = multi.subarray(H, H + FULL)
  const c1 = multi.subarray(H + FULL, H + 2 * FULL)
  const last = multi.subarray(H + 2 * FULL)
  await bothReject(concat(header, c1, c0, last), 'BAD_CIPHERTEXT')
  await bothReject(concat(header, c0, last), 'BAD_CIPHERTEXT')
  await bothReject(concat(header, c0, c0, c1, last), 'BAD_CIPHERTEXT')
})

test('extra bytes after the final chunk are BAD_CIPHERTEXT', async () => {
  await bothReject(concat(multi, new Uint8Array([0])), 'BAD_CIPHERTEXT')
  await bothReject(concat(exact, exact.subarray(H, H + FULL)), 'BAD_CIPHERTEXT')
  await bothReject(concat(exact, exact.subarray(exact.length - 16)), 'BAD_CIPHERTEXT')
})

test('a flipped bit anywhere after the magic fails; in the header it is BAD_HEADER or BAD_CIPHERTEXT', async () => {
  for (let i = 0; i < multi.length; i += i < H + 2 ? 1 : 97) {
    const bad = multi.slice()
    bad[i] ^= 0x10
    // Magic and version are checked as a header; a changed chunk size is out of range (header) or
    // frames the chunks wrongly (ciphertext); the nonce prefix and the rest fail through the AAD.
    const err = await decryptBytes(key, bad).then(() => null, (e: unknown) => e)
    const code = err instanceof MedichainError ? err.code : String(err)
    const expected = i < 5 ? ['BAD_HEADER'] : i < 9 ? ['BAD_HEADER', 'BAD_CIPHERTEXT'] : ['BAD_CIPHERTEXT']
    assert.ok(expected.includes(code), `byte ${i}: got ${code}`)
  }
  await bothReject(multi.map((b, i) => i === multi.length - 1 ? b ^ 1 : b), 'BAD_CIPHERTEXT')
})

test('a wrong key, or a chunk spliced in from another file under the same key, is BAD_CIPHERTEXT', async () => {
  await bothReject(multi, 'BAD_CIPHERTEXT', secureRandomBytes(32))
  const plain = fromHex(V.cases.find(c => c.plaintextLength === 2049)?.plaintext ?? '')
  const other = await encryptBytes(key, plain, { chunkSize: CHUNK })
  await bothReject(concat(multi.subarray(0, H + FULL), other.subarray(H + FULL)), 'BAD_CIPHERTEXT')
})

test('bad headers are BAD_HEADER: magic, version, chunk size out of range', async () => {
  const header = (magic: string, version: number, chunkSize: number): Uint8Array => {
    const h = new Uint8Array(H)
    h.set(new TextEncoder().encode(magic))
    h[4] = version
    new DataView(h.buffer).setUint32(5, chunkSize)
    return h
  }
  const body = multi.subarray(H)
  await bothReject(concat(header('MCE2', 1, CHUNK), body), 'BAD_HEADER')
  await bothReject(concat(header('MCE1', 2, CHUNK), body), 'BAD_HEADER')
  await bothReject(concat(header('MCE1', 1, 1023), body), 'BAD_HEADER')
  await bothReject(concat(header('MCE1', 1, (4 << 20) + 1), body), 'BAD_HEADER')
  await bothReject(new TextEncoder().encode('%PDF'), 'BAD_HEADER')
  await bothReject(new TextEncoder().encode('GIF89a some image bytes'), 'BAD_HEADER')
})

test('bad keys are BAD_KEY and bad options a RangeError, at call time', async () => {
  throwsCode(() => encryptStream(new Uint8Array(16)), 'BAD_KEY')
  throwsCode(() => decryptStream(new Uint8Array(33)), 'BAD_KEY')
  await rejects(() => encryptBytes(new Uint8Array(31), new Uint8Array(1)), 'BAD_KEY')
  await rejects(() => decryptBytes(new Uint8Array(0), multi), 'BAD_KEY')
  assert.throws(() => encryptStream(key, { chunkSize: 512 }), RangeError)
  assert.throws(() => encryptStream(key, { chunkSize: (4 << 20) + 1 }), RangeError)
  assert.throws(() => encryptStream(key, { noncePrefix: new Uint8Array(12) }), RangeError)
})

test.run()
