// A ledger whose folder sits on a small tmpfs that fills: the write that does not fit is refused
// with STORAGE_FULL and never acknowledged, memory stays equal to disk (size, chain listing, seq),
// every later write and received block is refused until space returns, then the ledger recovers
// by itself, and after a restart every acknowledged write is there and `ledger verify` passes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Block } from '../../protocol/chain/block.ts'
import { ledgerIdOf } from '../../protocol/chain/genesis.ts'
import type { Tx } from '../../protocol/chain/tx.ts'
import { nodeVerify } from '../../ledger/verify/node-crypto.ts'
import type { Ledger, TxLocation } from '../../ledger/types.ts'
import { verifyLedger } from '../../ledger/verify/verify.ts'
import { rejects } from '../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, openLedger, recordBody, registerBody, testConsortium, testIdentity } from '../helpers/ledger/fixture.ts'
import { withTimeout } from '../helpers/timeout.ts'
import { mountTmpfs, tmpfsUnavailable } from '../helpers/tmpfs.ts'
import type { Tmpfs } from '../helpers/tmpfs.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
const patient = testIdentity(80)
/** Room for the ledger and for a recovery (ledger/constants.ts asks for 10 MiB free). */
const TMPFS_BYTES = 24 * 1024 * 1024
/** Bound of the writes that may still fit in the last partly used pages once the disk is full. */
const MAX_WRITES_AFTER_FILL = 64

let fs: Tmpfs | null = null
const ledgers: Ledger[] = []
test.after.each(async () => {
  for (const l of ledgers.splice(0)) await l.stop().catch(() => {})
  fs?.unmount()
  fs = null
  await cleanup()
})

const grant = (seq: number): Tx => makeTx(id, patient, 'consent.grant', { grantee: B.publicKey, kind: 'hospital', purpose: 'treatment', scope: { kind: 'all' }, expires: Date.now() + 86_400_000, keys: [] }, seq, Date.now())

/** Own chain of A as stored, checked to run 0, 1, 2, … like the in-memory head says. */
async function assertChainMatchesDisk (ledger: Ledger): Promise<void> {
  const head = ledger.heads().find(h => h.author.every((b, i) => b === A.publicKey[i]))?.height ?? -1
  const blocks = await ledger.blocks(A.publicKey, 0, 10_000)
  assert.equal(blocks.map(b => b.header.height), Array.from({ length: head + 1 }, (_, i) => i), 'every height up to the head is stored')
}

test('a full disk: STORAGE_FULL, nothing acknowledged is lost, memory equals disk, recovery without restart', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  fs = await mountTmpfs(TMPFS_BYTES)
  const path = join(fs.path, 'ledger')
  const ledger = await openLedger(genesis, A, { path })
  ledgers.push(ledger)
  const acked: TxLocation[] = []
  acked.push(await ledger.submitOwn('account.register', registerBody(id, patient, A)))
  let seq = 0
  for (let i = 0; i < 5; i++) acked.push(await ledger.submit(grant(seq++)))

  await fs.fill()
  // The last partly used pages of the log may still take a small block or a few: those are
  // acknowledged like any other. The first write that does not fit is refused.
  let refused: unknown = null
  for (let i = 0; i < MAX_WRITES_AFTER_FILL && refused === null; i++) {
    const sizeBefore = ledger.size()
    try {
      acked.push(await ledger.submitOwn('record.create', recordBody(i % 200, i)))
    } catch (err) {
      refused = err
      assert.is(ledger.size(), sizeBefore, 'the refused block is not in memory')
    }
  }
  assert.is((refused as { code?: string } | null)?.code, 'STORAGE_FULL', 'the write that does not fit is refused with STORAGE_FULL')
  assert.is(ledger.storeFault()?.code, 'STORAGE_FULL')
  await assertChainMatchesDisk(ledger)
  const sizeAtFault = ledger.size()
  const lastSeq = await ledger.queries.lastSeq(A.publicKey)

  // Every write is refused now, also those that would fit, and also blocks from the network.
  const parallel = Array.from({ length: 8 }, async (_, i) => await ledger.submitOwn('record.create', recordBody(201, i)))
  for (const p of parallel) await rejects(async () => await p, 'STORAGE_FULL')
  await rejects(async () => await ledger.submit(grant(seq)), 'STORAGE_FULL')
  await rejects(async () => await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: Date.now() }).bytes), 'STORAGE_FULL')
  assert.is(ledger.size(), sizeAtFault, 'nothing refused reached memory')
  assert.not.ok(ledger.heads().some(h => h.author.every((b, i) => b === B.publicKey[i])), 'the refused block of B is not held')

  const recovered = new Promise<void>(resolve => ledger.addEventListener('store:recovered', () => resolve(), { once: true }))
  await fs.free()
  await withTimeout(recovered, 15_000, 'the ledger store to recover once space is free')
  assert.is(ledger.storeFault(), null)
  const own = await ledger.submitOwn('record.create', recordBody(202, 0))
  acked.push(own)
  assert.is(await ledger.queries.lastSeq(A.publicKey), lastSeq + 1, 'the sequence number of the refused write is used again: none burnt')
  for (let i = 0; i < 5; i++) acked.push(await ledger.submit(grant(seq++)))
  await assertChainMatchesDisk(ledger)
  const sizeBeforeRestart = ledger.size()

  await ledger.stop()
  const report = await verifyLedger({ path, genesis }, { verify: nodeVerify, logger: pino({ level: 'silent' }) })
  assert.equal(report.problems, [], 'ledger verify passes')
  const again = await openLedger(genesis, A, { path })
  ledgers.push(again)
  assert.is(again.size(), sizeBeforeRestart, 'the restarted ledger holds what memory held')
  for (const loc of acked) assert.ok(await again.tx(loc.txId), `acknowledged tx at height ${loc.height} survived the restart`)
  await assertChainMatchesDisk(again)
})

test('a full disk: a group of received blocks whose batch fails leaves memory as it was', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  fs = await mountTmpfs(TMPFS_BYTES)
  const ledger = await openLedger(genesis, A, { path: join(fs.path, 'ledger') })
  ledgers.push(ledger)
  await ledger.submitOwn('record.create', recordBody(1))
  const sizeBefore = ledger.size()
  // Three chained blocks of B, each too large for what is left of a partly used page.
  const blocks: Block[] = []
  let prev: Uint8Array | null = null
  for (let h = 0; h < 3; h++) {
    const txs = Array.from({ length: 40 }, (_, i) => makeTx(id, B, 'record.create', recordBody(h, i), h * 40 + i, Date.now()))
    const b = makeBlock(id, B, { height: h, prev, time: Date.now(), txs })
    blocks.push(b)
    prev = b.hash
  }
  await fs.fill()
  const results = await Promise.allSettled(blocks.map(async b => await ledger.receive(b.bytes)))
  for (const r of results) {
    assert.is(r.status, 'rejected', 'no block of the failed batch is acknowledged')
    assert.is(((r as PromiseRejectedResult).reason as { code?: string }).code, 'STORAGE_FULL')
  }
  assert.is(ledger.size(), sizeBefore, 'memory holds none of the refused blocks')
  assert.not.ok(ledger.heads().some(h => h.author.every((b, i) => b === B.publicKey[i])), 'no chain of B in memory')
  assert.equal(await ledger.blocks(B.publicKey, 0, 10), [])

  const recovered = new Promise<void>(resolve => ledger.addEventListener('store:recovered', () => resolve(), { once: true }))
  await fs.free()
  await withTimeout(recovered, 15_000, 'the ledger store to recover once space is free')
  // Sync would bring the blocks again: they append in order, as if never seen.
  for (const b of blocks) assert.is(await ledger.receive(b.bytes), 'appended')
  assert.is(ledger.size(), sizeBefore + 3)
})

test('a ledger that starts on a full disk refuses with STORAGE_FULL, and starts once space is freed', async () => {
  const why = tmpfsUnavailable()
  if (why !== null) { console.log(why); return }
  fs = await mountTmpfs(TMPFS_BYTES)
  const path = join(fs.path, 'ledger')
  const ledger = await openLedger(genesis, A, { path })
  const acked: TxLocation[] = []
  for (let i = 0; i < 20; i++) acked.push(await ledger.submitOwn('record.create', recordBody(i, i)))
  await ledger.stop()
  await fs.fill()
  // Opening replays LevelDB's log into a table, which needs room.
  await rejects(async () => await openLedger(genesis, A, { path }), 'STORAGE_FULL')
  await fs.free()
  const again = await openLedger(genesis, A, { path })
  ledgers.push(again)
  for (const loc of acked) assert.ok(await again.tx(loc.txId))
})

test.run()
