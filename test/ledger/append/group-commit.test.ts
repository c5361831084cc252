// A burst of this hospital's own transactions larger than one block shares group commits: the
// blocks of one group become visible together (one durable batch), chain onto each other, and
// replay on another member like any other blocks.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Block } from '../../../protocol/chain/block.ts'
import { MAX_TXS_PER_BLOCK } from '../../../protocol/constants.ts'
import { equals } from '../../../protocol/bytes.ts'
import { cleanup, openLedger, recordBody, testConsortium } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)

test.after.each(cleanup)

test('a burst of own transactions becomes blocks committed together, each on the one before', async () => {
  const ledger = await openLedger(genesis, A)
  // Appends that become visible in the same turn of the event loop were committed by one batch.
  const turns: number[][] = []
  let turn: number[] | null = null
  ledger.addEventListener('block:appended', (e) => {
    if (turn === null) {
      turn = []
      turns.push(turn)
      queueMicrotask(() => { turn = null })
    }
    turn.push((e as CustomEvent<Block>).detail.header.height)
  })
  const n = 3 * MAX_TXS_PER_BLOCK
  const locs = await Promise.all(Array.from({ length: n }, async (_, i) => await ledger.submitOwn('record.create', recordBody(i % 250, Math.floor(i / 250)))))
  assert.is(locs.length, n)
  const heights = new Set(locs.map(l => l.height))
  assert.ok(heights.size >= 3, `expected at least 3 blocks for ${n} transactions, got ${heights.size}`)
  assert.ok(turns.some(t => t.length > 1), `expected one durable batch to carry several blocks, got groups ${JSON.stringify(turns.map(t => t.length))}`)
  const blocks = await ledger.blocks(A.publicKey, 0, 100)
  for (let h = 1; h < blocks.length; h++) assert.ok(equals(blocks[h].header.prev as Uint8Array, blocks[h - 1].hash), `block ${h} does not chain onto ${h - 1}`)
  assert.is(blocks.reduce((s, b) => s + b.txs.length, 0), n)

  // Another member validates the group's blocks like any others.
  const other = await openLedger(genesis, B)
  for (const b of blocks) assert.is(await other.receive(b.bytes), 'appended')
  assert.equal(await other.stateRoot(), await ledger.stateRoot())
})

test.run()
