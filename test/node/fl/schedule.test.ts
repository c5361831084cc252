// The task-wide learning-rate schedule (node/fl/task/schedule.ts): a cosine over the task's local
// epochs (a first round of firstRoundEpochs, then epochs per round) from the task's learning rate to 0 (SGDR without restarts, Loshchilov & Hutter, ICLR 2017), cut into one
// segment per round, or a constant rate. Points are chosen where the cosine is exact in binary
// floating point (0, ½ and the whole of the span); others are checked against known decimals.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { cosineRate, roundConfig, roundLearningRates, roundTimeout } from '../../../node/fl/task/schedule.ts'
import { parseTaskOptions } from '../../../node/fl/task/options.ts'

test('cosineRate is lr at the start, lr/2 half-way and 0 at the end', () => {
  assert.is(cosineRate(0.008, 0, 10), 0.008)
  assert.is(cosineRate(0.008, 5, 10), 0.004)
  assert.is(cosineRate(0.008, 10, 10), 0)
  // A quarter of the way: (1 + cos(π/4))/2 = (2 + √2)/4 = 0.853553390593273…
  assert.ok(Math.abs(cosineRate(1, 1, 4) - 0.8535533905932737) < 1e-15)
  assert.ok(Math.abs(cosineRate(1, 3, 4) - 0.14644660940672624) < 1e-15)
})

test('each round follows its segment of one cosine over rounds × epochs', () => {
  const options = { schedule: 'cosine' as const, learningRate: 0.01, rounds: 2, epochs: 3, firstRoundEpochs: 3 }
  // Round 1 spans epochs 0–3 of 6, round 2 epochs 3–6.
  assert.equal(roundLearningRates(options, 1), { start: 0.01, end: 0.005 })
  assert.equal(roundLearningRates(options, 2), { start: 0.005, end: 0 })
  // One round: the whole cosine within it.
  assert.equal(roundLearningRates({ ...options, rounds: 1 }, 1), { start: 0.01, end: 0 })
  // Consecutive rounds join up exactly, every start is positive, and the rate never rises.
  const many = { ...options, rounds: 7, epochs: 2, firstRoundEpochs: 2 }
  for (let r = 1; r <= 7; r++) {
    const { start, end } = roundLearningRates(many, r)
    assert.ok(start > 0 && end < start, `round ${r}`)
    if (r < 7) assert.is(roundLearningRates(many, r + 1).start, end, `round ${r} → ${r + 1}`)
  }
  assert.is(roundLearningRates(many, 7).end, 0)
  assert.ok(Math.abs(roundLearningRates(many, 2).start - 0.01 * (1 + Math.cos(Math.PI * 2 / 14)) / 2) < 1e-18)
})

test('a constant schedule gives the task learning rate at both ends of every round', () => {
  const options = { schedule: 'constant' as const, learningRate: 0.003, rounds: 5, epochs: 4, firstRoundEpochs: 12 }
  for (const r of [1, 3, 5]) assert.equal(roundLearningRates(options, r), { start: 0.003, end: 0.003 })
})

test('a longer first round takes its share of the cosine, and later rounds join up from there', () => {
  // 6 epochs, then 3 rounds of 2: 12 epochs in all; round 1 spans 0–6 (half the cosine).
  const options = { schedule: 'cosine' as const, learningRate: 0.01, rounds: 4, epochs: 2, firstRoundEpochs: 6 }
  assert.equal(roundLearningRates(options, 1), { start: 0.01, end: 0.005 })
  assert.is(roundLearningRates(options, 2).start, 0.005)
  assert.ok(Math.abs(roundLearningRates(options, 2).end - cosineRate(0.01, 8, 12)) < 1e-18)
  for (let r = 1; r < 4; r++) assert.is(roundLearningRates(options, r + 1).start, roundLearningRates(options, r).end, `round ${r} → ${r + 1}`)
  assert.is(roundLearningRates(options, 4).end, 0)
  // The same task without the long first round cuts the cosine elsewhere: the option is read.
  assert.is.not(roundLearningRates({ ...options, firstRoundEpochs: 2 }, 2).start, 0.005)
})

test('the first round\'s deadline grows with its epochs, up to the limit; other rounds keep theirs', () => {
  const options = { epochs: 4, firstRoundEpochs: 24, roundTimeoutMs: 600_000 }
  assert.is(roundTimeout(options, 1, 86_400_000), 3_600_000)
  assert.is(roundTimeout(options, 2, 86_400_000), 600_000)
  assert.is(roundTimeout(options, 1, 1_000_000), 1_000_000)
  assert.is(roundTimeout({ ...options, firstRoundEpochs: 4 }, 1, 86_400_000), 600_000)
})

test('roundConfig carries the round\'s epochs and two ends with the other local-training settings', () => {
  const long = parseTaskOptions({ rounds: 4, epochs: 2, firstRoundEpochs: 6, batchSize: 6, learningRate: 0.02, mu: 0.5 })
  assert.is(roundConfig(long, 1).epochs, 6)
  assert.is(roundConfig(long, 2).epochs, 2)
  const options = parseTaskOptions({ rounds: 4, epochs: 2, firstRoundEpochs: 2, batchSize: 6, learningRate: 0.02, mu: 0.5 })
  assert.equal(roundConfig(options, 3), { epochs: 2, batchSize: 6, learningRate: 0.01, learningRateEnd: cosineRate(0.02, 6, 8), mu: 0.5 })
  assert.equal(roundConfig({ ...options, schedule: 'constant' }, 3), { epochs: 2, batchSize: 6, learningRate: 0.02, learningRateEnd: 0.02, mu: 0.5 })
})

test.run()
