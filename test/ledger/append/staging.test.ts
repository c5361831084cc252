// Memory never runs ahead of disk: while a block's batch is being written, readers (heads, size,
// the chain listing) still see the ledger as it was, and they see the block once the append is
// acknowledged. Checked on every event-loop turn around real fsynced appends.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import type { Block } from '../../../protocol/chain/block.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { cleanup, makeBlock, makeTx, openLedger, recordBody, testConsortium } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)

test.after.each(cleanup)

/** What readers see of the ledger. */
function view (ledger: Ledger): string {
  return JSON.stringify([ledger.size(), ledger.heads().map(h => [h.height, Buffer.from(h.hash).toString('hex')])])
}

/** Runs `write`, checking on every turn until it settles that readers still see `before`. */
async function assertHiddenUntilDone (ledger: Ledger, write: () => Promise<unknown>): Promise<void> {
  const before = view(ledger)
  let done = false
  const p = write().finally(() => { done = true })
  let turns = 0
  while (!done) {
    assert.is(view(ledger), before, 'a block is visible before its batch is durable')
    turns++
    await nextTurn()
  }
  await p
  assert.ok(turns > 0)
  assert.is.not(view(ledger), before, 'the block is visible once acknowledged')
}

test('own blocks are invisible to readers until durable', async () => {
  const ledger = await openLedger(genesis, A)
  for (let i = 0; i < 10; i++) {
    await assertHiddenUntilDone(ledger, async () => await ledger.submitOwn('record.create', recordBody(i)))
  }
  const blocks = await ledger.blocks(A.publicKey, 0, 100)
  assert.equal(blocks.map(b => b.header.height), Array.from({ length: 10 }, (_, i) => i))
})

test('received blocks committed as one group are invisible to readers until durable', async () => {
  const ledger = await openLedger(genesis, A)
  const blocks: Block[] = []
  let prev: Uint8Array | null = null
  for (let h = 0; h < 5; h++) {
    const b = makeBlock(id, B, { height: h, prev, time: Date.now(), txs: [makeTx(id, B, 'record.create', recordBody(h), h, Date.now())] })
    blocks.push(b)
    prev = b.hash
  }
  await assertHiddenUntilDone(ledger, async () => await Promise.all(blocks.map(async b => await ledger.receive(b.bytes))))
  assert.is(ledger.size(), 5)
})

test.run()
