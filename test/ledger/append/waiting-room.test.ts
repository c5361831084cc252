// The waiting room for early blocks stays bounded: by count, by bytes and per author.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { WaitingRoom } from '../../../ledger/append/waiting-room.ts'
import { makeBlock, makeTx, recordBody, testConsortium } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
const block = (author = A, height = 1, records = 0) => makeBlock(id, author, {
  height, prev: new Uint8Array(32).fill(height), txs: Array.from({ length: records }, (_, i) => makeTx(id, author, 'record.create', recordBody(i), i))
})

test('releases a parked block when its dependency arrives, once', () => {
  const room = new WaitingRoom(8)
  const b = block(A, 2)
  room.add(b, ['aa:1'])
  assert.is(room.size, 1)
  assert.equal(room.release(new Uint8Array([0xaa]), 1).map(x => x.header.height), [2])
  assert.is(room.size, 0)
  assert.equal(room.release(new Uint8Array([0xaa]), 1), [])
})

test('evicts the oldest beyond the count bound', () => {
  const room = new WaitingRoom(3, 1 << 30, 100)
  for (let h = 1; h <= 5; h++) room.add(block(A, h), [`x:${h}`])
  assert.is(room.size, 3)
})

test('one author cannot take more than its share, and bytes are bounded too', () => {
  const room = new WaitingRoom(100, 1 << 30, 2)
  for (let h = 1; h <= 5; h++) room.add(block(A, h), [`x:${h}`])
  room.add(block(B, 1), ['y:1'])
  assert.is(room.size, 3, 'two of A, one of B')
  const small = new WaitingRoom(100, 20_000, 100)
  for (let h = 1; h <= 10; h++) small.add(block(A, h, 20), [`z:${h}`])
  assert.ok(small.size < 10, `byte bound holds (${small.size} kept)`)
})

test.run()
