// One round at the coordinator (issue 4): it closes as soon as every expected hospital answered and
// the minimum is met, or at its deadline; a dropout leaving the expected set closes it early;
// updates for another task or round, late ones and second ones are refused with their codes and
// never aggregated; weights by CID are fetched and checked like inline ones.
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../../protocol/bytes.ts'
import { createRoundCollector } from '../../../../node/fl/round/collect.ts'
import type { RefusedUpdate, RoundCollector } from '../../../../node/fl/round/collect.ts'
import { flattenWeights } from '../../../../node/fl/transport/messages.ts'
import type { Update } from '../../../../node/fl/transport/messages.ts'
import { memoryModelStore } from '../../../../node/fl/transport/model-store.ts'
import type { ModelStore } from '../../../../node/fl/transport/model-store.ts'
import { testIdentity } from '../../../helpers/ledger/fixture.ts'

const logger = pino({ level: 'silent' })
const TASK = 'detect-strange-00112233'
const key = (n: number): Uint8Array => testIdentity(n).publicKey
const hex = (n: number): string => toHex(key(n))

interface Harness { collector: RoundCollector, refused: RefusedUpdate[], clock: { now: number }, expected: Set<string>, models: ModelStore }

const open: RoundCollector[] = []

test.after.each(() => {
  for (const c of open.splice(0)) c.abort()
})

/** A round 2 of TASK over weights [[0, 0], [0]], deadline one minute after t = 1000. */
function round (opts: { min?: number, expected?: number[] } = {}): Harness {
  const clock = { now: 1000 }
  const refused: RefusedUpdate[] = []
  const expected = new Set((opts.expected ?? [1, 2]).map(hex))
  const models = memoryModelStore()
  const collector = createRoundCollector({
    task: TASK, round: 2, startedAt: 1000, deadline: 61_000, sizes: [2, 1], global: [new Float32Array(2), new Float32Array(1)],
    maxNorm: 100, minParticipants: opts.min ?? 2, fetchTimeoutMs: 1000
  }, { clock: () => clock.now, models, logger, expected: () => expected, onRefused: r => refused.push(r) })
  open.push(collector)
  return { collector, refused, clock, expected, models }
}

function update (n: number, values: number[], over: Partial<Update> = {}): Update {
  // Signatures are checked by the transport before a collector sees an update.
  return { kind: 'update', task: TASK, round: 2, hospital: key(n), samples: 10 * n, loss: 0.5, trainMs: 100 * n, weights: flattenWeights([Float32Array.from(values.slice(0, 2)), Float32Array.from(values.slice(2))]), sig: new Uint8Array(64), ...over }
}

test('closes as soon as every expected hospital answered and the minimum is met', async () => {
  const h = round()
  assert.equal(h.collector.offer(update(1, [1, 2, 3])), { result: 'accept' })
  h.clock.now = 1500
  assert.equal(h.collector.offer(update(2, [0, 0, 4])), { result: 'accept' })
  const outcome = await h.collector.done
  assert.is(outcome.closedBy, 'all-answered')
  assert.equal(outcome.accepted.map(u => [u.hospital, u.samples, u.trainMs, u.receivedMs]), [[hex(1), 10, 100, 0], [hex(2), 20, 200, 500]])
  assert.equal(outcome.accepted[0].delta.map(t => Array.from(t)), [[1, 2], [3]])
  assert.equal(outcome.refused, [])
})

test('waits for an expected hospital, and closes when it drops out of the expected set', async () => {
  const h = round({ expected: [1, 2, 3] })
  h.collector.offer(update(1, [0, 0, 0]))
  h.collector.offer(update(2, [0, 0, 0]))
  let closed = false
  void h.collector.done.then(() => { closed = true })
  await Promise.resolve()
  assert.not.ok(closed, 'hospital 3 is still expected')
  h.expected.delete(hex(3))
  h.collector.recheck()
  assert.is((await h.collector.done).closedBy, 'all-answered')
})

test('below the minimum it waits for the deadline, then closes with what it has', async () => {
  const clock = { now: Date.now() }
  const collector = createRoundCollector({
    task: TASK, round: 2, startedAt: clock.now, deadline: clock.now + 50, sizes: [2, 1], global: [new Float32Array(2), new Float32Array(1)],
    maxNorm: 100, minParticipants: 3, fetchTimeoutMs: 1000
  }, { clock: () => clock.now, models: memoryModelStore(), logger, expected: () => new Set([hex(1)]), onRefused: () => {} })
  open.push(collector)
  collector.offer(update(1, [0, 0, 0]))
  const outcome = await collector.done
  assert.is(outcome.closedBy, 'deadline')
  assert.is(outcome.accepted.length, 1)
})

test('another task, another round, a second update and a late one are refused with their codes', async () => {
  const h = round({ expected: [1, 2, 3, 4, 5] })
  // The code rides along with the verdict: the direct protocol answers it to the sender.
  assert.equal(h.collector.offer(update(3, [0, 0, 0], { task: 'other-task' })), { result: 'ignore', code: 'WRONG_TASK' })
  assert.equal(h.collector.offer(update(3, [0, 0, 0], { round: 1 })), { result: 'ignore', code: 'WRONG_ROUND' })
  assert.equal(h.collector.offer(update(3, [0, 0, 0], { round: 3 })), { result: 'ignore', code: 'WRONG_ROUND' })
  h.collector.offer(update(1, [1, 1, 1]))
  assert.equal(h.collector.offer(update(1, [2, 2, 2])), { result: 'ignore', code: 'DUPLICATE' })
  h.clock.now = 61_001
  assert.equal(h.collector.offer(update(2, [0, 0, 0])), { result: 'ignore', code: 'LATE' })
  assert.equal(h.refused, [
    { hospital: hex(3), code: 'WRONG_TASK' },
    { hospital: hex(3), code: 'WRONG_ROUND' },
    { hospital: hex(3), code: 'WRONG_ROUND' },
    { hospital: hex(1), code: 'DUPLICATE' },
    { hospital: hex(2), code: 'LATE' }
  ])
  h.collector.abort()
  const outcome = await h.collector.done
  assert.is(outcome.closedBy, 'stopped')
  assert.equal(outcome.accepted.map(u => u.hospital), [hex(1)], 'the first update of hospital 1 stands')
  assert.equal(outcome.accepted[0].delta.map(t => Array.from(t)), [[1, 1], [1]])
  assert.equal(h.collector.offer(update(3, [0, 0, 0])), { result: 'ignore', code: 'LATE' }, 'after closing, everything is late')
  assert.is(h.refused[h.refused.length - 1].code, 'LATE')
})

test('bad weights are rejected (and count as that hospital\'s answer)', async () => {
  const h = round({ min: 1, expected: [1, 2, 3, 4] })
  assert.equal(h.collector.offer(update(1, [0, Number.NaN, 0])), { result: 'reject', code: 'NON_FINITE' })
  assert.equal(h.collector.offer(update(2, [0, 0], { weights: new Uint8Array(8) })), { result: 'reject', code: 'BAD_SHAPE' })
  assert.equal(h.collector.offer(update(3, [100, 100, 100])), { result: 'reject', code: 'ABSURD_NORM' })
  assert.equal(h.collector.offer(update(4, [1, 0, 0])), { result: 'accept' })
  const outcome = await h.collector.done
  assert.is(outcome.closedBy, 'all-answered')
  assert.equal(outcome.accepted.map(u => u.hospital), [hex(4)])
  assert.equal(h.refused.map(r => r.code), ['NON_FINITE', 'BAD_SHAPE', 'ABSURD_NORM'])
})

test('weights by CID are fetched, then checked; a CID nobody has is refused', async () => {
  const h = round({ expected: [1, 2, 3] })
  const good = await h.models.put(flattenWeights([Float32Array.from([1, 2]), Float32Array.from([2])]))
  const bad = await h.models.put(flattenWeights([Float32Array.from([Number.POSITIVE_INFINITY, 0]), Float32Array.from([0])]))
  const missing = await memoryModelStore().put(new Uint8Array(12))
  assert.equal(h.collector.offer(update(1, [], { weights: good })), { result: 'accept' })
  assert.equal(h.collector.offer(update(2, [], { weights: bad })), { result: 'accept' }, 'judged after the fetch')
  assert.equal(h.collector.offer(update(3, [0, 0, 0])), { result: 'accept' })
  h.expected.add(hex(5))
  h.collector.offer(update(5, [], { weights: missing }))
  const outcome = await h.collector.done
  assert.equal(outcome.accepted.map(u => u.hospital).sort(), [hex(1), hex(3)].sort())
  assert.equal(outcome.accepted.find(u => u.hospital === hex(1))?.delta.map(t => Array.from(t)), [[1, 2], [2]])
  assert.equal(h.refused.map(r => [r.hospital, r.code]).sort(), [[hex(2), 'NON_FINITE'], [hex(5), 'NOT_FOUND']].sort())
})

test.run()
