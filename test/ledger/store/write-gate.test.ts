// The ledger's write gate and own-chain bookkeeping: a held gate refuses every write before a
// sequence number is spent, a rebuilt folder's sequence numbers and heights continue from own
// blocks that arrive from other members, and the "own chain known" mark survives a restart.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { WriteGate, WritesHeldError } from '../../../ledger/store/write-gate.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeTx, openLedger, recordBody, tempDir, testConsortium } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals } = testConsortium(2)
const [A, B] = hospitals

test.after.each(cleanup)

test('a held gate refuses submit and submitOwn with its code, spending no sequence number', async () => {
  const gate = new WriteGate()
  const ledger = await openLedger(genesis, A, { writeGate: gate })
  gate.hold({ code: 'SYNCING', message: 'learning the own chain', retryAfterSeconds: 5 })
  const err = await rejects(async () => await ledger.submitOwn('record.create', recordBody(1)), 'SYNCING')
  assert.instance(err, WritesHeldError)
  assert.is((err as WritesHeldError).retryAfter, 5)
  await rejects(async () => await ledger.submit(makeTx(ledger.id, A, 'record.create', recordBody(2), 0)), 'SYNCING')
  gate.hold({ code: 'CLOCK_SKEW', message: 'clock ahead', retryAfterSeconds: 15 })
  gate.release('SYNCING')
  await rejects(async () => await ledger.submitOwn('record.create', recordBody(3)), 'CLOCK_SKEW')
  gate.release('CLOCK_SKEW')
  await gate.whenOpen()
  const loc = await ledger.submitOwn('record.create', recordBody(4))
  const found = await ledger.tx(loc.txId)
  assert.ok(found !== undefined)
  assert.is(ledger.size(), 1)
  assert.is((await ledger.blocks(A.publicKey, 0, 1))[0].txs[0].tx.seq, 0, 'no sequence number was spent while held')
})

test('a rebuilt folder continues its seq and height from own blocks received from a member', async () => {
  const original = await openLedger(genesis, A)
  for (let i = 0; i < 3; i++) await original.submitOwn('record.create', recordBody(10 + i))
  const rebuilt = await openLedger(genesis, A)
  for (const block of await original.blocks(A.publicKey, 0, 10)) assert.is(await rebuilt.receive(block.bytes), 'appended')
  const loc = await rebuilt.submitOwn('record.create', recordBody(20))
  assert.is(loc.height, 3)
  const block = await rebuilt.block(A.publicKey, 3)
  assert.is(block?.txs[0].tx.seq, 3)
  // The member that held the original chain takes the new block as its continuation.
  assert.is(await original.receive((block as NonNullable<typeof block>).bytes), 'appended')
  assert.equal(await original.evidence(), [])
})

test('the own-chain mark is durable and belongs to the folder', async () => {
  const path = await tempDir()
  const first = await openLedger(genesis, B, { path })
  assert.is(first.ownChainKnown(), false)
  await first.markOwnChainKnown()
  assert.is(first.ownChainKnown(), true)
  await first.stop()
  const again = await openLedger(genesis, B, { path })
  assert.is(again.ownChainKnown(), true)
  const elsewhere = await openLedger(genesis, B)
  assert.is(elsewhere.ownChainKnown(), false, 'a new folder (a rebuild) starts unconfirmed')
})

test.run()
