// Reading the FL API (web/src/lib/fl/fl.ts): rounds with validation loss and Dice, participants and
// timings come through; fields of the wrong type are dropped, never trusted; a task without an id
// is skipped. A continued task says what it continues; only an interrupted or stopped task with a
// round offers to be continued.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { canContinue, parseFlTask, parseFlTasks } from '../../../web/src/lib/fl/fl.ts'

test('a task with rounds, participants, timings and its published model', () => {
  const t = parseFlTask({
    id: 't1', status: 'done', coordinator: 'aa', created: 5,
    rounds: [
      { round: 2, loss: 0.4, valLoss: 0.3, dice: 0.7, participants: [{ hospital: 'h1', name: 'A', samples: 10, loss: 0.5 }, 'h2'], startedAt: 100, endedAt: 350 },
      { round: 1, metrics: { loss: 0.9, dice: 0.2 }, participants: [{ key: 'h1' }], durationMs: 400 }
    ],
    model: { cid: 'bafy1', round: 2, metrics: { dice: 0.7, loss: 0.3 } }
  })
  assert.ok(t !== null)
  if (t === null) return
  assert.equal(t.rounds.map(r => [r.round, r.loss, r.dice, r.durationMs]), [[1, 0.9, 0.2, 400], [2, 0.3, 0.7, 250]])
  assert.equal(t.rounds[1].participants, [{ hospital: 'h1', name: 'A', samples: 10, loss: 0.5 }, { hospital: 'h2', name: null, samples: null, loss: null }])
  assert.equal(t.model, { cid: 'bafy1', round: 2, dice: 0.7, loss: 0.3 })
  assert.is(t.error, null)
  assert.is(t.aggregation, null)
})

test('the aggregation mode comes from the task or its options', () => {
  assert.is(parseFlTask({ id: 't', options: { aggregation: 'secure' } })?.aggregation, 'secure')
  assert.is(parseFlTask({ id: 't', aggregation: 'fedavg' })?.aggregation, 'fedavg')
  assert.is(parseFlTask({ id: 't', options: { aggregation: 7 } })?.aggregation, null)
})

test('a round\'s time is the coordinator\'s wall time (wallMs), as the peer records it', () => {
  const t = parseFlTask({ id: 't', status: 'done', rounds: [{ round: 1, validation: { loss: 0.5, dice: 0.4 }, participants: [], wallMs: 1234.5 }] })
  assert.is(t?.rounds[0].durationMs, 1234.5)
})

test('a failed task keeps its error code and message; a malformed error is dropped', () => {
  const failed = parseFlTask({ id: 't2', status: 'failed', error: { code: 'NO_VALIDATION_SET', message: 'no held-out images' } })
  assert.equal(failed?.error, { code: 'NO_VALIDATION_SET', message: 'no held-out images' })
  assert.equal(parseFlTask({ id: 't3', error: { code: 'X', message: 7 } })?.error, { code: 'X', message: '' })
  assert.is(parseFlTask({ id: 't4', error: { message: 'no code' } })?.error, null)
  assert.is(parseFlTask({ id: 't5', error: 'BAD' })?.error, null)
})

test('wrong types are dropped; tasks without an id are skipped', () => {
  const tasks = parseFlTasks({ tasks: [{ id: 'ok', rounds: [{ round: 'one', loss: '0.5', dice: Infinity, participants: [{ samples: 3 }, 7] }], model: 42 }, { status: 'running' }, null, 'x'] })
  assert.is(tasks.length, 1)
  assert.equal(tasks[0].rounds, [{ round: 1, loss: null, dice: null, participants: [], durationMs: null }])
  assert.is(tasks[0].model, null)
  assert.is(tasks[0].status, 'unknown')
  assert.equal(parseFlTasks([{ id: 'bare' }]).map(t => t.id), ['bare'])
  assert.equal(parseFlTasks({ nope: 1 }), [])
})

test('continues: the old task\'s id, or null; which tasks can be continued', () => {
  assert.is(parseFlTask({ id: 'new', continues: 'old' })?.continues, 'old')
  for (const continues of [undefined, null, 7, '', 'x'.repeat(201)]) assert.is(parseFlTask({ id: 'new', continues })?.continues, null)
  const round = { round: 3, loss: 0.5 }
  const task = (status: string, rounds: unknown[]) => {
    const t = parseFlTask({ id: 't', status, rounds })
    if (t === null) throw new Error('no task')
    return t
  }
  assert.ok(canContinue(task('interrupted', [round])))
  assert.ok(canContinue(task('stopped', [round])))
  for (const status of ['running', 'done', 'failed', 'unknown']) assert.not.ok(canContinue(task(status, [round])), status)
  assert.not.ok(canContinue(task('interrupted', [])))
})

test.run()
