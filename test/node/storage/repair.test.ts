// Replication is incremental (node/storage/replication.ts): a data folder's first start walks the
// image records once; after that a restart reads only the blocks appended since its saved cursor,
// each new record is examined once, and a connection retries only what is owed, so the cost of
// each trigger does not grow with the ledger. Real ledgers, libp2p and storage in temp folders.
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { equals } from '../../../protocol/bytes.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import type { P2P } from '../../../node/p2p/index.ts'
import { createStorage } from '../../../node/storage/index.ts'
import type { Storage } from '../../../node/storage/index.ts'
import { choosePinners } from '../../../node/storage/rendezvous.ts'
import { cleanup, openLedger, tempDir, testConsortium, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'

const { genesis } = testConsortium(3)
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })
const members = [1, 2, 3].map(n => testIdentity(n).publicKey)
const A = testIdentity(1)
const B = testIdentity(2)

interface Running { ledger: Ledger, p2p: P2P, storage?: Storage }
const running: Running[] = []

test.after.each(async () => {
  for (const r of running.splice(0)) {
    await r.storage?.stop().catch(() => {})
    await r.p2p.stop().catch(() => {})
    await r.ledger.stop().catch(() => {})
  }
  await cleanup()
})

async function cidOf (n: number): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`image ${n}`)))
}

/** Appends `count` image.add records (no result part) at A, numbered from `from`. */
async function addImages (ledger: Ledger, from: number, count: number): Promise<CID[]> {
  const cids = await Promise.all(Array.from({ length: count }, async (_, i) => await cidOf(from + i)))
  await Promise.all(cids.map(async raw => await ledger.submitOwn('image.add', {
    patient: new Uint8Array(32).fill(7), record: null, raw, result: null, modality: 'MR', size: 1, model: null, score: null, keys: []
  })))
  return cids
}

/** Hands B every block of A it lacks. */
async function deliver (from: Ledger, to: Ledger): Promise<void> {
  for (const bytes of await from.blocksAfter(to.heads(), 100_000)) await to.receive(bytes)
}

const forB = (cids: CID[]): number => cids.filter(c => choosePinners(c.bytes, members, A.publicKey, 1).some(k => equals(k, B.publicKey))).length

async function startB (dir: string, ledger: Ledger, p2p: P2P): Promise<Storage> {
  const storage = createStorage({ repairIntervalMs: 0, blockTimeoutMs: 300, dataDir: dir })({ libp2p: p2p.libp2p, logger, ledger })
  await storage.start()
  return storage
}

test('a first start walks the records once; a restart, a new record and a connection examine only what is new or owed', async () => {
  const a = await openLedger(genesis, A)
  const aP2P = createP2P({ seed: testSeed(1), listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0 })({ ledger: a, logger })
  await aP2P.start()
  running.push({ ledger: a, p2p: aP2P })
  const dir = await tempDir()
  const b = await openLedger(genesis, B, { path: `${dir}/ledger` })
  const bP2P = createP2P({ seed: testSeed(2), listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0 })({ ledger: b, logger })
  await bP2P.start()
  const bRun: Running = { ledger: b, p2p: bP2P }
  running.push(bRun)

  const first = await addImages(a, 0, 60)
  await deliver(a, b)
  bRun.storage = await startB(dir, b, bP2P)
  // No member is connected: the pass only counts what is owed.
  assert.equal(await bRun.storage.repair(), { missing: forB(first), pinned: 0, failed: 0 })
  assert.equal(bRun.storage.replicationStats(), { examined: 60, walks: 1, owed: forB(first) }, 'the first start walks every record once')

  // A restart with the same members reads only what was appended meanwhile.
  await bRun.storage.stop()
  const meanwhile = await addImages(a, 60, 5)
  await deliver(a, b)
  bRun.storage = await startB(dir, b, bP2P)
  await bRun.storage.repair()
  assert.equal(bRun.storage.replicationStats(), { examined: 5, walks: 0, owed: forB([...first, ...meanwhile]) }, 'a restart catches up from its cursor')

  // A new record is examined once, as it is appended.
  const next = await addImages(a, 65, 1)
  await deliver(a, b)
  await bRun.storage.repair()
  assert.equal(bRun.storage.replicationStats(), { examined: 6, walks: 0, owed: forB([...first, ...meanwhile, ...next]) })

  // A connection retries what is owed (nothing can be fetched: the CIDs name no content) and examines nothing.
  const owed = bRun.storage.replicationStats().owed
  await bP2P.libp2p.dial(multiaddr(aP2P.addresses()[0]))
  const result = await bRun.storage.repair()
  assert.is(result.missing, owed)
  assert.is(result.failed, owed)
  assert.equal(bRun.storage.replicationStats(), { examined: 6, walks: 0, owed })
})

test.run()
