// Turns among block streams (node/storage/stream/fair-turns.ts): one holder per key at a time, waiters served
// in the order they came, keys independent, a waiter that aborts leaves the queue, and a holder
// that ends its turn twice does not end the next one's.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createFairTurns } from '../../../node/storage/stream/fair-turns.ts'

const never = (): AbortSignal => new AbortController().signal

test('streams of one connection take turns in the order they asked; other connections do not wait', async () => {
  const turns = createFairTurns()
  const order: string[] = []
  const first = await turns.take('c1', never())
  const waiting = ['s2', 's3'].map(async (name) => {
    const release = await turns.take('c1', never())
    order.push(name)
    release()
  })
  // Another connection's turn is granted at once, while c1's is held.
  const other = await turns.take('c2', never())
  other()
  assert.equal(order, [], 'nobody on c1 went while its turn was held')
  first()
  first()
  await Promise.all(waiting)
  assert.equal(order, ['s2', 's3'])
  assert.is(turns.busy, 0, 'every turn ended')
})

test('a stream that gives up waiting leaves the queue; an aborted signal is refused at once', async () => {
  const turns = createFairTurns()
  const held = await turns.take('c1', never())
  const leaving = new AbortController()
  const gaveUp = turns.take('c1', leaving.signal)
  const next = turns.take('c1', never())
  const left = new Error('the reader left')
  leaving.abort(left)
  let reason: unknown
  try {
    await gaveUp
  } catch (err) {
    reason = err
  }
  assert.is(reason, left, 'rejected with the signal\'s own reason')
  held()
  const release = await next
  release()
  assert.is(turns.busy, 0)
  const aborted = AbortSignal.abort(new Error('gone'))
  let refused = false
  await turns.take('c1', aborted).catch(() => { refused = true })
  assert.ok(refused)
  assert.is(turns.busy, 0)
})

test.run()
