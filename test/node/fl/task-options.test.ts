// Task options of the learning-rate schedule and the server optimizer (node/fl/task/options.ts): defaults,
// every validation rule refused with INVALID, their place in the stored history (records written
// before they existed still load, and say the constant rate they trained at), and in the
// provenance that model.publish carries. `firstRound` (where a continued task starts) and the
// task's `continues` link likewise.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TASK_DEFAULTS } from '../../../node/fl/constants.ts'
import { decodeTaskHeader } from '../../../node/fl/task/history-codec.ts'
import { fitToConsortium, parseTaskOptions } from '../../../node/fl/task/options.ts'
import { newTaskView, publishMetrics } from '../../../node/fl/task/record.ts'
import { throwsCode } from '../../helpers/assert.ts'

const ID = 'detect-strange-0011223344556677'
const COORDINATOR = 'ab'.repeat(32)

test('defaults: a cosine schedule, η_g = 1 and no server momentum (plain FedAvg)', () => {
  const o = parseTaskOptions({})
  assert.is(o.schedule, 'cosine')
  assert.is(o.serverLearningRate, 1)
  assert.is(o.serverMomentum, 0)
  assert.is(o.learningRate, TASK_DEFAULTS.learningRate)
  const set = parseTaskOptions({ schedule: 'constant', serverLearningRate: 10, serverMomentum: 0.99 })
  assert.equal([set.schedule, set.serverLearningRate, set.serverMomentum], ['constant', 10, 0.99])
  assert.is(parseTaskOptions({ serverLearningRate: 0.001 }).serverLearningRate, 0.001)
})

/** Asserts that parseTaskOptions refuses each of `bad` with INVALID, naming the one that passed. */
function refusedAll (bad: ReadonlyArray<Record<string, unknown>>): void {
  for (const options of bad) {
    try {
      throwsCode(() => parseTaskOptions(options), 'INVALID')
    } catch (err) {
      assert.unreachable(`${JSON.stringify(options)}: ${String(err)}`)
    }
  }
}

test('defaults fit the consortium: one active member needs one hospital; an explicit minimum is kept', () => {
  assert.is(parseTaskOptions(fitToConsortium({ task: 'solo' }, 1)).minParticipants, 1)
  assert.is(parseTaskOptions(fitToConsortium({ task: 'pair' }, 5)).minParticipants, TASK_DEFAULTS.minParticipants)
  assert.is(parseTaskOptions(fitToConsortium({ task: 'solo', minParticipants: 3 }, 1)).minParticipants, 3)
  assert.is(parseTaskOptions({ task: 'solo' }).minParticipants, TASK_DEFAULTS.minParticipants, 'without the consortium, the general default')
})

test('every rule of the new options is refused with INVALID', () => {
  const bad: Array<Record<string, unknown>> = [
    { schedule: 'step' }, { schedule: 'Cosine' }, { schedule: 1 }, { schedule: null },
    { serverLearningRate: 0 }, { serverLearningRate: -1 }, { serverLearningRate: 10.5 }, { serverLearningRate: Number.NaN },
    { serverLearningRate: Number.POSITIVE_INFINITY }, { serverLearningRate: '1' },
    { serverMomentum: -0.1 }, { serverMomentum: 0.995 }, { serverMomentum: 1 }, { serverMomentum: Number.NaN }, { serverMomentum: '0.9' }
  ]
  refusedAll(bad)
})

test('the options are stored with the task and read back', () => {
  const options = parseTaskOptions({ schedule: 'cosine', serverLearningRate: 1.5, serverMomentum: 0.9 })
  const { rounds: _rounds, ...header } = newTaskView(ID, options, COORDINATOR, 1_800_000_000_000)
  const back = decodeTaskHeader(ID, JSON.stringify(header))
  assert.equal([back.options.schedule, back.options.serverLearningRate, back.options.serverMomentum], ['cosine', 1.5, 0.9])
  assert.equal(back.options, header.options)
})

test('a record stored before these options existed loads: constant rate, η_g = 1, β = 0', () => {
  const { rounds: _rounds, ...header } = newTaskView(ID, parseTaskOptions({}), COORDINATOR, 1_800_000_000_000)
  const { schedule: _s, serverLearningRate: _lr, serverMomentum: _m, ...older } = header.options
  const back = decodeTaskHeader(ID, JSON.stringify({ ...header, options: older }))
  assert.equal([back.options.schedule, back.options.serverLearningRate, back.options.serverMomentum], ['constant', 1, 0])
  // A stored value out of bounds is corrupt, like any other.
  throwsCode(() => decodeTaskHeader(ID, JSON.stringify({ ...header, options: { ...older, serverMomentum: 2 } })), 'CORRUPT_HISTORY')
})

test('model.publish reports η_g and β when they differ from plain FedAvg', () => {
  const validation = { loss: 0.5, dice: 0.75, auroc: null }
  const base = { validation, roundsRun: 3, contributors: [] }
  const plainMetrics = publishMetrics({ ...base, options: parseTaskOptions({}) })
  assert.is(plainMetrics.serverLr, undefined)
  assert.is(plainMetrics.serverMomentum, undefined)
  const tuned = publishMetrics({ ...base, options: parseTaskOptions({ serverLearningRate: 2, serverMomentum: 0.9 }) })
  assert.is(tuned.serverLr, 2)
  assert.is(tuned.serverMomentum, 0.9)
})

test('firstRound: 1 by default, up to rounds; every rule refused with INVALID', () => {
  assert.is(parseTaskOptions({}).firstRound, 1)
  assert.is(parseTaskOptions({ rounds: 5, firstRound: 5 }).firstRound, 5)
  const bad: Array<Record<string, unknown>> = [
    { firstRound: 0 }, { firstRound: -1 }, { firstRound: 1.5 }, { firstRound: '2' }, { firstRound: null }, { firstRound: Number.NaN },
    { rounds: 3, firstRound: 4 }, { firstRound: 1e9 }
  ]
  refusedAll(bad)
})

test('firstRound and continues are stored and read back; records from before them load as 1 and null', () => {
  const { rounds: _rounds, ...header } = newTaskView(ID, parseTaskOptions({ rounds: 9, firstRound: 4 }), COORDINATOR, 1_800_000_000_000, 'detect-strange-8899aabbccddeeff')
  const back = decodeTaskHeader(ID, JSON.stringify(header))
  assert.equal([back.options.firstRound, back.continues], [4, 'detect-strange-8899aabbccddeeff'])
  const { continues: _c, ...older } = header
  const { firstRound: _f, ...olderOptions } = older.options
  const old = decodeTaskHeader(ID, JSON.stringify({ ...older, options: olderOptions }))
  assert.equal([old.options.firstRound, old.continues], [1, null])
  for (const continues of ['Not An Id', 7, '', 'x'.repeat(65)]) {
    throwsCode(() => decodeTaskHeader(ID, JSON.stringify({ ...header, continues })), 'CORRUPT_HISTORY')
  }
  throwsCode(() => decodeTaskHeader(ID, JSON.stringify({ ...header, options: { ...header.options, firstRound: 10 } })), 'CORRUPT_HISTORY')
})

test('firstRoundEpochs: epochs by default, at least epochs, at most the limit; every rule refused', () => {
  assert.is(parseTaskOptions({}).firstRoundEpochs, TASK_DEFAULTS.epochs)
  assert.is(parseTaskOptions({ epochs: 30 }).firstRoundEpochs, 30)
  assert.is(parseTaskOptions({ epochs: 3, firstRoundEpochs: 24 }).firstRoundEpochs, 24)
  assert.is(parseTaskOptions({ epochs: 3, firstRoundEpochs: 3 }).firstRoundEpochs, 3)
  refusedAll([
    { epochs: 4, firstRoundEpochs: 3 }, { firstRoundEpochs: 0 }, { firstRoundEpochs: 101 }, { firstRoundEpochs: 2.5 },
    { firstRoundEpochs: '24' }, { firstRoundEpochs: null }, { firstRoundEpochs: Number.NaN }
  ])
})

test('firstRoundEpochs is stored and read back; records from before it load with a first round as long as the others', () => {
  const { rounds: _rounds, ...header } = newTaskView(ID, parseTaskOptions({ epochs: 3, firstRoundEpochs: 12 }), COORDINATOR, 1_800_000_000_000)
  assert.is(decodeTaskHeader(ID, JSON.stringify(header)).options.firstRoundEpochs, 12)
  const { firstRoundEpochs: _f, ...older } = header.options
  assert.is(decodeTaskHeader(ID, JSON.stringify({ ...header, options: older })).options.firstRoundEpochs, 3)
  throwsCode(() => decodeTaskHeader(ID, JSON.stringify({ ...header, options: { ...header.options, firstRoundEpochs: 2 } })), 'CORRUPT_HISTORY')
})

test('secure aggregation: chosen by aggregation or the flag, needs clip, and never with trimmed mean', () => {
  assert.is(parseTaskOptions({ aggregation: 'secure', clip: 5 }).aggregation, 'secure')
  assert.is(parseTaskOptions({ secureAggregation: true, clip: 5 }).aggregation, 'secure')
  assert.is(parseTaskOptions({ secureAggregation: false }).aggregation, 'fedavg')
  throwsCode(() => parseTaskOptions({ secureAggregation: true, aggregation: 'trimmed-mean', clip: 5 }), 'AGGREGATION_CONFLICT')
  throwsCode(() => parseTaskOptions({ aggregation: 'secure' }), 'INVALID')
  throwsCode(() => parseTaskOptions({ secureAggregation: 'yes', clip: 5 }), 'INVALID')
  throwsCode(() => parseTaskOptions({ secureAggregation: false, aggregation: 'secure', clip: 5 }), 'INVALID')
  // Provenance: the published metrics say the model was aggregated securely, and only then.
  const secure = parseTaskOptions({ aggregation: 'secure', clip: 5 })
  const validation = { loss: 0.5, dice: 0.5, auroc: null }
  assert.is(publishMetrics({ validation, roundsRun: 1, options: secure, contributors: [] }).secureAggregation, 1)
  assert.is(publishMetrics({ validation, roundsRun: 1, options: parseTaskOptions({}), contributors: [] }).secureAggregation, undefined)
})

test.run()
