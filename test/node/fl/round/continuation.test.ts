// Continuing a federated task (node/fl/task/continuation.ts): which tasks can be continued (each refusal has
// TASK_NOT_CONTINUABLE), the options of the continuation (the old ones, from the model and at the
// number of the last round), and the rounds before it that its model's provenance counts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { continuationOptions, priorRounds } from '../../../../node/fl/task/continuation.ts'
import { parseTaskOptions } from '../../../../node/fl/task/options.ts'
import { contributorsOf, newTaskView, summaryOf } from '../../../../node/fl/task/record.ts'
import type { RoundRecord, TaskStatus, TaskView } from '../../../../node/fl/task/record.ts'
import { throwsCode } from '../../../helpers/assert.ts'

const SELF = 'ab'.repeat(32)
const MODELS = ['bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', 'bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq']

/** A round record that started from `model`, with these hospitals' sample counts. */
function roundOf (round: number, model = MODELS[0], samples: Record<string, number> = {}): RoundRecord {
  return {
    round, status: 'aggregated', startedAt: 1_800_000_000_000 + round, model, refused: [], closedBy: 'all-answered', improved: true, clipped: 0,
    participants: Object.entries(samples).map(([hospital, n]) => ({ hospital, samples: n, loss: 0.5, trainMs: 10, receivedMs: 20, norm: 1 })),
    validation: { loss: 0.5, dice: 0.5, auroc: null }, collectMs: 1, aggregateMs: 1, validateMs: 1, wallMs: 3, slowestTrainMs: 10, overhead: 0.1
  }
}

/** A task view of `status` with these rounds. */
function taskOf (id: string, status: TaskStatus, rounds: RoundRecord[], options: Record<string, unknown> = {}, continues: string | null = null): TaskView {
  return { ...newTaskView(id, parseTaskOptions({ rounds: 10, learningRate: 0.01, ...options }), SELF, 1_800_000_000_000, continues), status, rounds }
}

test('an interrupted or stopped task continues from its last round\'s model, at its number, with its other options', () => {
  for (const status of ['interrupted', 'stopped'] as const) {
    const old = taskOf('detect-strange-00000000000000a1', status, [roundOf(1), roundOf(2), roundOf(3, MODELS[1])], { epochs: 3, initialModel: MODELS[0] })
    const o = continuationOptions(old, SELF)
    assert.is(o.firstRound, 3)
    assert.is(o.initialModel?.toString(), MODELS[1])
    assert.equal([o.rounds, o.epochs, o.learningRate, o.schedule], [10, 3, 0.01, 'cosine'])
  }
})

test('refusals: another coordinator, every other status, no round', () => {
  const rounds = [roundOf(1)]
  throwsCode(() => continuationOptions(taskOf('t-1', 'interrupted', rounds), 'cd'.repeat(32)), 'TASK_NOT_CONTINUABLE')
  for (const status of ['running', 'done', 'failed'] as const) {
    throwsCode(() => continuationOptions(taskOf('t-1', status, rounds), SELF), 'TASK_NOT_CONTINUABLE')
  }
  throwsCode(() => continuationOptions(taskOf('t-1', 'interrupted', []), SELF), 'TASK_NOT_CONTINUABLE')
})

test('the model of a continuation counts the rounds before it, up the chain of continued tasks still kept', () => {
  const [h1, h2, h3] = ['11'.repeat(32), '22'.repeat(32), '33'.repeat(32)]
  // a ran rounds 1–3 (3 interrupted), b continued it from 3 and ran 3–5 (5 interrupted), c from 5.
  const a = taskOf('t-a', 'interrupted', [roundOf(1, MODELS[0], { [h1]: 5 }), roundOf(2, MODELS[0], { [h1]: 6 }), roundOf(3, MODELS[0], { [h3]: 9 })])
  const b = taskOf('t-b', 'interrupted', [roundOf(3, MODELS[0], { [h2]: 4 }), roundOf(4, MODELS[0], { [h2]: 4 }), roundOf(5, MODELS[0], { [h3]: 9 })], { firstRound: 3 }, 't-a')
  const c = taskOf('t-c', 'running', [roundOf(5, MODELS[0], { [h2]: 7 })], { firstRound: 5 }, 't-b')
  const kept = new Map([a, b, c].map(t => [t.id, t]))
  const prior = priorRounds(c, id => kept.get(id))
  assert.equal(prior.map(r => r.round), [1, 2, 3, 4])
  assert.equal(prior.slice(2).map(r => r.participants[0].hospital), [h2, h2], 'b\'s rounds 3–4, not a\'s round 3 it ran again')
  assert.equal(contributorsOf([...prior, ...c.rounds], 5), [{ hospital: h2, samples: 7 }, { hospital: h1, samples: 6 }])
  // The chain stops where the history no longer keeps a task, and at a loop.
  assert.equal(priorRounds(c, id => id === 't-b' ? b : undefined).map(r => r.round), [3, 4])
  const loop = { ...a, continues: 't-c' }
  assert.equal(priorRounds(c, id => id === 't-a' ? loop : kept.get(id)).map(r => r.round), [1, 2, 3, 4])
  assert.equal(priorRounds(a, id => kept.get(id)), [])
})

test('the summary says what a task continues', () => {
  assert.is(summaryOf(taskOf('t-b', 'running', [], {}, 't-a')).continues, 't-a')
  assert.is(summaryOf(taskOf('t-a', 'done', [])).continues, null)
})

test.run()
