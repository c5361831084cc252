// The orphan-block collector (issue 10.3): it frees blocks nothing references once they are older
// than the grace period, and never a block an upload in flight holds, a pin keeps, or an image
// record of the ledger names (other hospitals' images this peer fetched included).
import { createCipheriv } from 'node:crypto'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Ledger } from '../../../ledger/types.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import type { P2P } from '../../../node/p2p/index.ts'
import { createStorage } from '../../../node/storage/index.ts'
import type { Storage, StorageInit } from '../../../node/storage/index.ts'
import { cleanup, openLedger, tempDir, testConsortium, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'

const MiB = 1024 * 1024
const { genesis } = testConsortium(2)
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })

interface Node { ledger: Ledger, p2p: P2P, storage: Storage }
const nodes: Node[] = []

test.after.each(async () => {
  for (const n of nodes.splice(0)) {
    await n.storage.stop().catch(() => {})
    await n.p2p.stop().catch(() => {})
    await n.ledger.stop().catch(() => {})
  }
  await cleanup()
})

async function startNode (opts: Partial<StorageInit>): Promise<Node> {
  const dir = await tempDir()
  const ledger = await openLedger(genesis, testIdentity(1), { path: `${dir}/ledger`, verifyWorkers: 0 })
  const p2p = createP2P({ seed: testSeed(1), listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0 })({ ledger, logger })
  await p2p.start()
  const storage = createStorage({ repairIntervalMs: 0, collectIntervalMs: 0, ...opts, dataDir: dir })({ libp2p: p2p.libp2p, logger, ledger })
  await storage.start()
  const node = { ledger, p2p, storage }
  nodes.push(node)
  return node
}

/** `size` incompressible bytes (AES-256-CTR keystream). */
function * noise (size: number, seed: number): Generator<Uint8Array> {
  const cipher = createCipheriv('aes-256-ctr', new Uint8Array(32).fill(seed), new Uint8Array(16))
  for (let at = 0; at < size; at += 300_000) yield new Uint8Array(cipher.update(new Uint8Array(Math.min(300_000, size - at))))
}

async function readAll (storage: Storage, cid: Parameters<Storage['cat']>[0]): Promise<number> {
  let n = 0
  for await (const chunk of storage.cat(cid, { timeoutMs: 1000 })) n += chunk.byteLength
  return n
}

test('an upload in flight is held; once dropped, its blocks are freed and reported', async () => {
  const { storage } = await startNode({ collectGraceMs: 0 })
  const staging = storage.stage()
  const file = await staging.add(noise(3 * MiB + 5, 1))
  const blocks = storage.stats().blocks
  assert.ok(blocks >= 4, 'three leaves and a root')
  assert.is((await storage.collect()).freedBlocks, 0, 'held by the upload in flight')
  assert.is(await readAll(storage, file.cid), 3 * MiB + 5)
  staging.drop()
  const report = await storage.collect()
  assert.is(report.freedBlocks, blocks)
  assert.ok(report.freedBytes > 3 * MiB)
  assert.is(await storage.has(file.cid), false)
  assert.equal(storage.stats(), { blocks: 0, bytes: 0, pins: 0 })
  assert.is(storage.collected().freedBlocks, blocks)
})

test('orphans younger than the grace period are kept', async () => {
  const { storage } = await startNode({ collectGraceMs: 60 * 60 * 1000 })
  const staging = storage.stage()
  const file = await staging.add(noise(MiB + 1, 2))
  staging.drop()
  assert.is((await storage.collect()).freedBlocks, 0)
  assert.ok(await storage.has(file.cid))
})

test('pinned files and files an image record names are kept; only the orphan goes', async () => {
  const { storage, ledger } = await startNode({ collectGraceMs: 0 })
  const pinned = await storage.add(noise(2 * MiB, 3))
  const staging = storage.stage()
  const raw = await staging.add(noise(2 * MiB + 7, 4))
  const result = await staging.add(noise(1000, 5))
  // Recorded but not pinned here, like another hospital's image this peer read and cached.
  await ledger.submitOwn('image.add', { patient: new Uint8Array(32).fill(7), record: null, raw: raw.cid, result: result.cid, modality: 'MR', size: raw.size, model: null, score: null, keys: [] })
  staging.drop()
  const orphan = storage.stage()
  const lost = await orphan.add(noise(MiB + 3, 6))
  orphan.drop()
  const report = await storage.collect()
  assert.is(report.freedBlocks, 3, 'the orphan: two leaves and a root')
  assert.is(await storage.has(lost.cid), false)
  assert.is(await readAll(storage, pinned.cid), 2 * MiB)
  assert.is(await readAll(storage, raw.cid), 2 * MiB + 7)
  assert.is(await readAll(storage, result.cid), 1000)
  assert.is((await storage.collect()).freedBlocks, 0, 'a second pass finds nothing more')
})

test('an upload that writes blocks an orphan already has holds them: the collector leaves them', async () => {
  const { storage } = await startNode({ collectGraceMs: 0 })
  const first = storage.stage()
  await first.add(noise(2 * MiB, 8))
  first.drop()
  // The same bytes again: every block is on disk already (an orphan), so nothing is written.
  const second = storage.stage()
  const again = await second.add(noise(2 * MiB, 8))
  assert.is((await storage.collect()).freedBlocks, 0, 'held by the second upload')
  await second.commit()
  assert.is((await storage.collect()).freedBlocks, 0, 'pinned now')
  assert.is(await readAll(storage, again.cid), 2 * MiB)
})

test('a committed upload is pinned and survives unrecorded', async () => {
  const { storage } = await startNode({ collectGraceMs: 0 })
  const staging = storage.stage()
  const file = await staging.add(noise(MiB + 9, 7))
  await staging.commit()
  assert.ok(storage.isPinned(file.cid))
  assert.is((await storage.collect()).freedBlocks, 0)
})

test.run()
