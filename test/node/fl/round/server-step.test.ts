// The server optimizer (node/fl/round/server-step.ts) on exact small vectors: server learning rate η_g (Reddi et
// al., ICLR 2021, Alg. 1 with an SGD server) and server momentum β (FedAvgM, Hsu et al. 2019),
// v ← β·v + Δ̄, w ← w + η_g·v. With η_g = 1 and β = 0 the step is FedAvg's, bit for bit. Values
// are exact in binary floating point.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createPrng } from '../../../../node/ai/model/prng.ts'
import { aggregate } from '../../../../node/fl/round/aggregate.ts'
import type { Contribution, Delta } from '../../../../node/fl/round/aggregate.ts'
import { aggregateRound, serverStep } from '../../../../node/fl/round/server-step.ts'
import { parseTaskOptions } from '../../../../node/fl/task/options.ts'
import { throwsCode } from '../../../helpers/assert.ts'

const d = (...tensors: number[][]): Delta => tensors.map(t => Float64Array.from(t))
const w = (...tensors: number[][]): Float32Array[] => tensors.map(t => Float32Array.from(t))
const plain = (x: ArrayLike<number>[]): number[][] => x.map(t => Array.from(t))
const bytesOf = (x: Float32Array[]): number[][] => x.map(t => Array.from(new Uint8Array(t.buffer, t.byteOffset, t.byteLength)))

test('the server learning rate scales the aggregated update', () => {
  const global = w([1, 2], [3])
  const step = serverStep(global, d([0.5, -1], [2]), null, { learningRate: 0.5, momentum: 0 })
  assert.equal(plain(step.weights), [[1.25, 1.5], [4]])
  assert.equal(plain(step.velocity), [[0.5, -1], [2]], 'without momentum the velocity is Δ̄')
  assert.equal(plain(serverStep(global, d([0.5, -1], [2]), null, { learningRate: 2, momentum: 0 }).weights), [[2, 0], [7]])
})

test('server momentum accumulates v = β·v + Δ̄ across rounds', () => {
  const opts = { learningRate: 1, momentum: 0.5 }
  // Round 1: v = Δ̄ (v₀ = 0).
  const one = serverStep(w([0, 0]), d([2, -4]), null, opts)
  assert.equal(plain(one.velocity), [[2, -4]])
  assert.equal(plain(one.weights), [[2, -4]])
  // Round 2: v = 0.5·[2, −4] + [1, 1] = [2, −1]; w = [2, −4] + [2, −1].
  const two = serverStep(one.weights, d([1, 1]), one.velocity, opts)
  assert.equal(plain(two.velocity), [[2, -1]])
  assert.equal(plain(two.weights), [[4, -5]])
  // With η_g = 0.25: w = w + 0.25·v.
  const scaled = serverStep(one.weights, d([1, 1]), one.velocity, { learningRate: 0.25, momentum: 0.5 })
  assert.equal(plain(scaled.weights), [[2.5, -4.25]])
  // β = 0 ignores any carried velocity.
  assert.equal(plain(serverStep(w([0, 0]), d([1, 1]), d([8, 8]), { learningRate: 1, momentum: 0 }).weights), [[1, 1]])
})

test('η_g = 1 and β = 0 give exactly aggregate\'s weights, bit for bit', () => {
  const prng = createPrng(7)
  const vec = (n: number): number[] => Array.from({ length: n }, () => prng.normal() * 0.1)
  const global = w(vec(64), vec(9))
  const updates: Contribution[] = [1, 2, 3].map(k => ({ delta: d(vec(64), vec(9)), samples: 3 + k * 5 }))
  for (const method of ['fedavg', 'trimmed-mean'] as const) {
    const agg = aggregate(global, updates, { method, trim: 0.34, clip: 0.5 })
    const step = serverStep(global, agg.delta, null, { learningRate: 1, momentum: 0 })
    assert.equal(bytesOf(step.weights), bytesOf(agg.weights), method)
    // Also in the round: the task defaults leave FedAvg untouched, round after round.
    const options = parseTaskOptions({ aggregation: method, trim: 0.34, clip: 0.5 })
    const state = { prng: createPrng(1), velocity: null }
    const first = aggregateRound(global, updates, options, state)
    assert.equal(bytesOf(first.weights), bytesOf(agg.weights), `${method}, round 1`)
    const again = aggregateRound(first.weights, updates, options, state)
    assert.equal(bytesOf(again.weights), bytesOf(aggregate(first.weights, updates, { method, trim: 0.34, clip: 0.5 }).weights), `${method}, round 2`)
  }
})

test('aggregateRound keeps the velocity in the task state and applies η_g and β', () => {
  const options = parseTaskOptions({ serverLearningRate: 0.5, serverMomentum: 0.5 })
  const state: { prng: ReturnType<typeof createPrng>, velocity: Delta | null } = { prng: createPrng(1), velocity: null }
  // FedAvg of [4] (1 sample) and [8] (3 samples) = [7].
  const updates = (a: number, b: number): Contribution[] => [{ delta: d([a]), samples: 1 }, { delta: d([b]), samples: 3 }]
  const one = aggregateRound(w([0]), updates(4, 8), options, state)
  assert.equal(plain(one.weights), [[3.5]])
  assert.equal(plain(one.delta), [[7]], 'the result still reports the aggregated update')
  assert.equal(plain(state.velocity ?? []), [[7]])
  // v = 0.5·7 + 1 = 4.5; w = 3.5 + 0.5·4.5.
  const two = aggregateRound(one.weights, updates(1, 1), options, state)
  assert.equal(plain(two.weights), [[5.75]])
  assert.equal(plain(state.velocity ?? []), [[4.5]])
})

test('bad settings are INVALID, mismatched layouts BAD_SHAPE, an overflow NON_FINITE', () => {
  const global = w([1, 2])
  const delta = d([1, 1])
  for (const learningRate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    throwsCode(() => serverStep(global, delta, null, { learningRate, momentum: 0 }), 'INVALID')
  }
  for (const momentum of [-0.1, 1, 1.5, Number.NaN]) {
    throwsCode(() => serverStep(global, delta, null, { learningRate: 1, momentum }), 'INVALID')
  }
  throwsCode(() => serverStep(global, d([1]), null, { learningRate: 1, momentum: 0 }), 'BAD_SHAPE')
  throwsCode(() => serverStep(global, d([1, 1], [1]), null, { learningRate: 1, momentum: 0 }), 'BAD_SHAPE')
  throwsCode(() => serverStep(global, delta, d([1]), { learningRate: 1, momentum: 0.5 }), 'BAD_SHAPE')
  throwsCode(() => serverStep(global, d([3e38, 0]), null, { learningRate: 10, momentum: 0 }), 'NON_FINITE')
})

test.run()
