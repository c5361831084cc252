// The peer's node:crypto implementation of the content format: the same known answers as the
// WebCrypto one, cross decryption both ways around chunk boundaries and at a few MB, a real file
// pipeline, and the same tampering cases, with no unauthenticated plaintext ever yielded.
import { createReadStream, createWriteStream, readFileSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { concat, fromHex, toHex } from '../../../protocol/bytes.ts'
import { contentCiphertextLength, decryptBytes, DEFAULT_CHUNK_SIZE, encryptBytes } from '../../../protocol/crypto/content-crypto.ts'
import { secureRandomBytes } from '../../../protocol/crypto/user-keys.ts'
import { decryptContent, decryptContentSync, encryptContent, encryptContentSync } from '../../../node/storage/seal/content-crypto-node.ts'
import type { ByteSource } from '../../../node/storage/seal/content-crypto-node.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'

interface Vectors { key: string, noncePrefix: string, chunkSize: number, cases: Array<{ plaintextLength: number, plaintext: string, ciphertext: string }> }
const V = JSON.parse(readFileSync(new URL('../../vectors/content-encryption.json', import.meta.url), 'utf8')) as Vectors
const key = fromHex(V.key)
const opts = { chunkSize: V.chunkSize, noncePrefix: fromHex(V.noncePrefix) }
const CHUNK = V.chunkSize
const FULL = CHUNK + 16
const H = 17

function split (bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size))
  return out
}

async function collect (gen: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of gen) parts.push(p)
  return concat(...parts)
}

test('the sync and streaming node implementations reproduce every known answer', async () => {
  for (const c of V.cases) {
    const plain = fromHex(c.plaintext)
    assert.is(toHex(encryptContentSync(key, plain, opts)), c.ciphertext, `length ${c.plaintextLength}`)
    assert.is(toHex(decryptContentSync(key, fromHex(c.ciphertext))), c.plaintext)
    for (const size of [1, 100, CHUNK, FULL, 4096]) {
      assert.is(toHex(await collect(encryptContent(key, split(plain, size), opts))), c.ciphertext)
      assert.is(toHex(await collect(decryptContent(key, split(fromHex(c.ciphertext), size)))), c.plaintext)
    }
  }
})

test('WebCrypto and node:crypto decrypt each other around chunk boundaries', async () => {
  const k = secureRandomBytes(32)
  for (const n of [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK - 1, 2 * CHUNK, 2 * CHUNK + 1, 5 * CHUNK + 17]) {
    const plain = secureRandomBytes(n)
    const fromNode = encryptContentSync(k, plain, { chunkSize: CHUNK })
    const fromWeb = await encryptBytes(k, plain, { chunkSize: CHUNK })
    assert.is(fromNode.length, contentCiphertextLength(n, CHUNK))
    assert.equal(await decryptBytes(k, fromNode), plain)
    assert.equal(decryptContentSync(k, fromWeb), plain)
    // With the same nonce prefix both write the very same bytes.
    const prefix = fromWeb.slice(9, 17)
    assert.equal(encryptContentSync(k, plain, { chunkSize: CHUNK, noncePrefix: prefix }), fromWeb)
  }
})

test('WebCrypto and node:crypto agree on a few MB with default 1 MiB chunks', async () => {
  const k = secureRandomBytes(32)
  for (const n of [DEFAULT_CHUNK_SIZE - 1, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_SIZE + 1, 5 * 1000 * 1000]) {
    const plain = secureRandomBytes(n)
    const fromNode = await collect(encryptContent(k, split(plain, 65536)))
    assert.equal(await decryptBytes(k, fromNode), plain)
    assert.equal(await collect(decryptContent(k, split(await encryptBytes(k, plain), 100_000))), plain)
  }
})

test('encrypts and decrypts files through stream.pipeline', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medichain-cc-'))
  try {
    const k = secureRandomBytes(32)
    const plain = secureRandomBytes(3 * DEFAULT_CHUNK_SIZE + 12345)
    const encPath = join(dir, 'image.mce')
    await pipeline(Readable.from(split(plain, 65536)), (src: ByteSource) => encryptContent(k, src), createWriteStream(encPath))
    assert.is((await stat(encPath)).size, contentCiphertextLength(plain.length))
    const out = await collect(decryptContent(k, createReadStream(encPath, { highWaterMark: 50_000 })))
    assert.equal(out, plain)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

const multi = fromHex(V.cases.find(c => c.plaintextLength === 2049)?.ciphertext ?? '')

/** Both node decrypt paths must fail with `code`. */
async function bothReject (ct: Uint8Array, code: string, k = key): Promise<void> {
  throwsCode(() => decryptContentSync(k, ct), code)
  await rejects(() => collect(decryptContent(k, split(ct, 333))), code)
}

test('tampering gives the same codes as the WebCrypto implementation', async () => {
  await bothReject(multi.subarray(0, H + 2 * FULL), 'TRUNCATED')
  await bothReject(multi.subarray(0, 5), 'TRUNCATED')
  await bothReject(multi.subarray(0, H + FULL + 70), 'BAD_CIPHERTEXT')
  await bothReject(concat(multi.subarray(0, H), multi.subarray(H + FULL, H + 2 * FULL), multi.subarray(H, H + FULL), multi.subarray(H + 2 * FULL)), 'BAD_CIPHERTEXT')
  await bothReject(concat(multi, new Uint8Array(1)), 'BAD_CIPHERTEXT')
  await bothReject(multi.map((b, i) => i === H + FULL + 3 ? b ^ 1 : b), 'BAD_CIPHERTEXT')
  await bothReject(multi.map((b, i) => i === multi.length - 1 ? b ^ 1 : b), 'BAD_CIPHERTEXT')
  await bothReject(multi.map((b, i) => i === 0 ? 0 : b), 'BAD_HEADER')
  await bothReject(multi, 'BAD_CIPHERTEXT', secureRandomBytes(32))
  throwsCode(() => encryptContentSync(new Uint8Array(16), new Uint8Array(1)), 'BAD_KEY')
  await rejects(() => collect(decryptContent(new Uint8Array(31), [multi])), 'BAD_KEY')
})

test('no plaintext of a chunk is yielded before its tag checks', async () => {
  // Chunk 1 of 3 is damaged in its last ciphertext byte: only chunk 0's plaintext may come out.
  const bad = multi.slice()
  bad[H + 2 * FULL - 17] ^= 1
  let yielded = 0
  await rejects(async () => {
    for await (const p of decryptContent(key, split(bad, 100))) yielded += p.length
  }, 'BAD_CIPHERTEXT')
  assert.is(yielded, CHUNK)
})

test.run()
