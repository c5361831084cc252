// Image storage on one peer (docs/design.md §5): streamed add and read of unixfs files (CIDv1, raw
// leaves), pins that survive a restart, block counts for /api/health, and typed errors for an
// unknown CID, an aborted read, bad input and use before start.
import { createCipheriv } from 'node:crypto'
import { existsSync } from 'node:fs'
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CID } from 'multiformats/cid'
import * as rawCodec from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { equals } from '../../../protocol/bytes.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import type { P2P } from '../../../node/p2p/index.ts'
import { createStorage } from '../../../node/storage/index.ts'
import type { Storage, StorageInit } from '../../../node/storage/index.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'
import { cleanup, openLedger, tempDir, testConsortium, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'

const MiB = 1024 * 1024
/** Multicodec of dag-pb, the unixfs node format (multicodec table: 0x70). */
const DAG_PB = 0x70
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

async function startNode (opts: Partial<StorageInit> = {}): Promise<Node> {
  const dir = await tempDir()
  const ledger = await openLedger(genesis, testIdentity(1), { path: `${dir}/ledger`, verifyWorkers: 0 })
  const p2p = createP2P({ seed: testSeed(1), listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0 })({ ledger, logger })
  await p2p.start()
  const storage = createStorage({ repairIntervalMs: 0, ...opts, dataDir: dir })({ libp2p: p2p.libp2p, logger, ledger })
  await storage.start()
  const node = { dir, ledger, p2p, storage }
  nodes.push(node)
  return node
}

/** `size` deterministic, incompressible bytes (AES-256-CTR keystream) in chunks of uneven sizes. */
async function * noise (size: number, seed: number): AsyncGenerator<Uint8Array> {
  const cipher = createCipheriv('aes-256-ctr', new Uint8Array(32).fill(seed), new Uint8Array(16))
  for (let at = 0, i = 0; at < size; i++) {
    const n = Math.min([65_536, 300_001, 1, 777_777][i % 4], size - at)
    yield new Uint8Array(cipher.update(new Uint8Array(n)))
    at += n
  }
}

async function bytesOf (source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

async function unknownCid (): Promise<CID> {
  return CID.createV1(rawCodec.code, await sha256.digest(new TextEncoder().encode('never added')))
}

test('a few MB streamed in and out: CIDv1 dag-pb root over 1 MiB raw leaves, bytes equal', async () => {
  // A segment size that is not a multiple of the leaf size makes reads cross leaves mid-way.
  const { storage } = await startNode({ segmentBytes: MiB + 4097 })
  const size = 5 * MiB + 12_345
  const { cid, size: added } = await storage.add(noise(size, 1))
  assert.is(added, size)
  assert.is(cid.version, 1)
  assert.is(cid.code, DAG_PB)
  assert.ok(equals(await bytesOf(storage.cat(cid)), await bytesOf(noise(size, 1))))
  assert.ok(storage.isPinned(cid), 'the uploader pins what it adds')
  assert.ok(await storage.has(cid))
  const stats = storage.stats()
  assert.is(stats.blocks, 6 + 1, 'six 1 MiB raw leaves and one root')
  assert.ok(stats.bytes > size && stats.bytes < size + 4096)
  assert.is(stats.pins, 1)
})

test('a small file is one raw block; an empty stream is an empty file', async () => {
  const { storage } = await startNode()
  const small = await storage.add(noise(1000, 2))
  assert.is(small.cid.code, rawCodec.code)
  assert.ok(equals(await bytesOf(storage.cat(small.cid)), await bytesOf(noise(1000, 2))))
  const empty = await storage.add([])
  assert.is(empty.size, 0)
  assert.is((await bytesOf(storage.cat(empty.cid))).length, 0)
})

test('the same bytes give the same CID, stored once', async () => {
  const { storage } = await startNode()
  const a = await storage.add(noise(2 * MiB + 1, 3))
  const before = storage.stats()
  const b = await storage.add(noise(2 * MiB + 1, 3))
  assert.ok(a.cid.equals(b.cid))
  assert.equal(storage.stats(), before)
})

test('pins and block counts survive a restart; unpin drops the record only', async () => {
  const node = await startNode()
  const { cid } = await node.storage.add(noise(3 * MiB, 4))
  const stats = node.storage.stats()
  await node.storage.stop()
  await node.storage.start()
  assert.ok(node.storage.isPinned(cid))
  assert.equal(node.storage.stats(), stats)
  await node.storage.unpin(cid)
  assert.not.ok(node.storage.isPinned(cid))
  await node.storage.stop()
  await node.storage.start()
  assert.not.ok(node.storage.isPinned(cid))
  assert.ok(await node.storage.has(cid), 'blocks stay until garbage collection')
  await node.storage.pin(cid)
  assert.ok(node.storage.isPinned(cid))
})

test('a restart removes the temp files a crash left of block writes, and counts only blocks', async () => {
  const node = await startNode()
  const { cid } = await node.storage.add(noise(2 * MiB, 6))
  const stats = node.storage.stats()
  await node.storage.stop()
  // What a kill -9 mid-write leaves: block-file.ts's temp name, and steno's, beside real blocks.
  const blocks = join(node.dir, 'blocks')
  const shard = (await readdir(blocks, { withFileTypes: true })).find(e => e.isDirectory())
  assert.ok(shard !== undefined, 'the blocks folder has a shard folder')
  const temps = [join(blocks, shard.name, '.CIQTORN.data.4242-0-7.tmp'), join(blocks, shard.name, '.CIQTORN.data.tmp')]
  for (const t of temps) await writeFile(t, new Uint8Array(1000))
  await node.storage.start()
  for (const t of temps) assert.not.ok(existsSync(t), `${t} is removed`)
  assert.equal(node.storage.stats(), stats, 'temp files were never counted as blocks')
  assert.ok(equals(await bytesOf(node.storage.cat(cid)), await bytesOf(noise(2 * MiB, 6))), 'the file reads whole')
})

test('an unknown CID with a short timeout is UNAVAILABLE; pinning it too', async () => {
  const { storage } = await startNode()
  const cid = await unknownCid()
  const started = performance.now()
  await rejects(async () => await bytesOf(storage.cat(cid, { timeoutMs: 200 })), 'UNAVAILABLE')
  assert.ok(performance.now() - started < 3000)
  await rejects(async () => await storage.pin(cid, { timeoutMs: 200 }), 'UNAVAILABLE')
  assert.not.ok(storage.isPinned(cid))
})

test('an aborted read is ABORTED', async () => {
  const { storage } = await startNode()
  const controller = new AbortController()
  const reading = bytesOf(storage.cat(await unknownCid(), { signal: controller.signal, timeoutMs: 10_000 }))
  controller.abort()
  await rejects(async () => await reading, 'ABORTED')
})

test('bad input: not a CID, chunks that are not bytes, a failing source; nothing is pinned', async () => {
  const { storage } = await startNode()
  const notCid = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' as unknown as CID
  throwsCode(() => storage.cat(notCid), 'INVALID')
  await rejects(async () => await storage.pin(notCid), 'INVALID')
  throwsCode(() => storage.isPinned(notCid), 'INVALID')
  await rejects(async () => await storage.add(['text' as unknown as Uint8Array]), 'INVALID')
  async function * failing (): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(MiB + 5)
    throw new Error('disk gone')
  }
  assert.not.ok(await storage.add(failing()).then(() => true, () => false))
  assert.is(storage.stats().pins, 0)
  const { cid } = await storage.add(noise(10, 5))
  assert.ok(storage.isPinned(cid), 'storage keeps serving after bad input')
})

test('an aborted upload is ABORTED and pins nothing', async () => {
  const { storage } = await startNode()
  const controller = new AbortController()
  async function * slow (): AsyncGenerator<Uint8Array> {
    yield new Uint8Array(MiB)
    controller.abort()
    yield new Uint8Array(MiB)
  }
  await rejects(async () => await storage.add(slow(), { signal: controller.signal }), 'ABORTED')
  assert.is(storage.stats().pins, 0)
})

test('use before start or after stop is NOT_STARTED', async () => {
  const node = await startNode()
  await node.storage.stop()
  await rejects(async () => await node.storage.add([new Uint8Array(1)]), 'NOT_STARTED')
  const cid = await unknownCid()
  throwsCode(() => node.storage.cat(cid), 'NOT_STARTED')
  throwsCode(() => node.storage.stats(), 'NOT_STARTED')
})

test.run()
