// Sealing a plaintext file into storage in a worker (node/storage/seal/seal-pool.ts, issue 14): the
// ciphertext decrypts to the very bytes around chunk boundaries, the DAG is the one `add` builds,
// a file followed while it grows gives the same bytes, and a job that is aborted, or told more
// than the file holds, fails with its code and leaves no block behind.
import { createCipheriv } from 'node:crypto'
import { appendFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { equals } from '../../../protocol/bytes.ts'
import { contentCiphertextLength, DEFAULT_CHUNK_SIZE } from '../../../protocol/crypto/content-crypto.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import type { P2P } from '../../../node/p2p/index.ts'
import { ChunkSealer, decryptContent, encryptContentSync } from '../../../node/storage/seal/content-crypto-node.ts'
import { createStorage } from '../../../node/storage/index.ts'
import type { Storage } from '../../../node/storage/index.ts'
import { rejects } from '../../helpers/assert.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { cleanup, openLedger, tempDir, testConsortium, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'

const CHUNK = DEFAULT_CHUNK_SIZE
const { genesis } = testConsortium(2)
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })

interface Node { dir: string, ledger: Ledger, p2p: P2P, storage: Storage }
const nodes: Node[] = []

test.after.each(async () => {
  for (const n of nodes.splice(0)) {
    await n.storage.stop().catch(() => {})
    await n.p2p.stop().catch(() => {})
  }
  await cleanup()
})

async function startNode (): Promise<Node> {
  const dir = await tempDir()
  const ledger = await openLedger(genesis, testIdentity(1), { path: `${dir}/ledger`, verifyWorkers: 0 })
  const p2p = createP2P({ seed: testSeed(1), listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0 })({ ledger, logger })
  await p2p.start()
  const storage = createStorage({ repairIntervalMs: 0, dataDir: dir })({ libp2p: p2p.libp2p, logger, ledger })
  await storage.start()
  const node = { dir, ledger, p2p, storage }
  nodes.push(node)
  return node
}

/** `size` deterministic, incompressible bytes (AES-256-CTR keystream). */
function noise (size: number, seed: number): Uint8Array {
  return new Uint8Array(createCipheriv('aes-256-ctr', new Uint8Array(32).fill(seed), new Uint8Array(16)).update(new Uint8Array(size)))
}

async function bytesOf (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

const key = (n: number): Uint8Array => new Uint8Array(32).fill(n)

test('sealed files decrypt to their bytes around chunk boundaries, in the DAG add builds', async () => {
  const { dir, storage } = await startNode()
  for (const [i, size] of [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5].entries()) {
    const plain = noise(size, i + 1)
    const path = join(dir, `plain-${i}`)
    await writeFile(path, plain)
    const staging = storage.stage()
    const job = staging.seal(path, key(i + 1))
    job.grow(size, true)
    const { cid, size: sealed } = await job.done
    await staging.sync()
    await staging.commit()
    assert.is(sealed, contentCiphertextLength(size), `ciphertext size of ${size} bytes`)
    const ciphertext = await bytesOf(storage.cat(cid))
    assert.ok(equals(await bytesOf(decryptContent(key(i + 1), [ciphertext])), plain), `${size} bytes read back byte for byte`)
    assert.ok(storage.isPinned(cid))
    // The same ciphertext added on the main thread gives the same root: one DAG layout.
    assert.is((await storage.add([ciphertext])).cid.toString(), cid.toString())
  }
})

test('a file followed while it grows, in uneven writes, seals the same bytes', async () => {
  const { dir, storage } = await startNode()
  const plain = noise(2 * CHUNK + 12_345, 9)
  const path = join(dir, 'growing')
  await writeFile(path, new Uint8Array(0))
  const staging = storage.stage()
  const job = staging.seal(path, key(9))
  for (let at = 0; at < plain.length;) {
    const n = Math.min([65_536, 700_001, 1, 1_300_000][at % 4], plain.length - at)
    await appendFile(path, plain.subarray(at, at + n))
    at += n
    job.grow(at)
  }
  job.grow(plain.length, true)
  const { cid } = await job.done
  await staging.commit()
  assert.ok(equals(await bytesOf(decryptContent(key(9), storage.cat(cid))), plain))
})

test('an aborted job is ABORTED and leaves no block; so is one told more bytes than the file has', async () => {
  const { dir, storage } = await startNode()
  const before = storage.stats()
  const path = join(dir, 'partial')
  await writeFile(path, noise(12 * CHUNK, 4))
  const staging = storage.stage()
  const job = staging.seal(path, key(4))
  job.grow(12 * CHUNK)
  // The importer writes leaves ten at a time; the file's end is not known yet, so the job waits.
  await waitFor(() => storage.stats().blocks - before.blocks >= 2, { timeout: 20_000, what: 'two blocks of the job' })
  job.abort()
  await rejects(async () => await job.done, 'ABORTED')
  assert.equal(storage.stats(), before, 'the aborted job removed its blocks')
  staging.drop()

  const short = storage.stage()
  const liar = short.seal(path, key(5))
  liar.grow(13 * CHUNK, true)
  await rejects(async () => await liar.done, 'INTERNAL')
  assert.equal(storage.stats(), before, 'the failed job removed its blocks')
  short.drop()
})

test('ChunkSealer writes encryptContent\'s bytes and refuses chunks of the wrong size', () => {
  const opts = { chunkSize: 1024, noncePrefix: new Uint8Array(8).fill(3) }
  const plain = noise(2 * 1024 + 100, 6)
  const sealer = new ChunkSealer(key(6), opts)
  const parts = [sealer.header.bytes, ...sealer.seal(plain.subarray(0, 1024), false), ...sealer.seal(plain.subarray(1024, 2048), false), ...sealer.seal(plain.subarray(2048), true)]
  assert.ok(equals(new Uint8Array(Buffer.concat(parts)), encryptContentSync(key(6), plain, opts)))
  const other = new ChunkSealer(key(6), opts)
  const range = (err: unknown): boolean => err instanceof RangeError
  assert.throws(() => other.seal(plain.subarray(0, 1000), false), range, 'a short non-final chunk')
  assert.throws(() => other.seal(plain.subarray(0, 1024), true), range, 'a full final chunk')
  other.seal(new Uint8Array(0), true)
  assert.throws(() => other.seal(new Uint8Array(0), true), range, 'a chunk after the final one')
})

test.run()
