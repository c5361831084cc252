// Aggregation maths on exact small vectors (issue 4): FedAvg weighting by sample counts, the
// coordinate-wise trimmed mean, clipping to an L2 norm, seeded Gaussian DP noise, and the update
// checks (BAD_SHAPE, NON_FINITE, ABSURD_NORM). Values are chosen to be exact in binary floating point.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createPrng } from '../../../../node/ai/model/prng.ts'
import {
  absurdNormBound, addGaussianNoise, aggregate, applyDelta, clipDelta, fedAvg, l2Norm, trimCount, trimmedMean, validateUpdate
} from '../../../../node/fl/round/aggregate.ts'
import type { Delta } from '../../../../node/fl/round/aggregate.ts'
import { throwsCode } from '../../../helpers/assert.ts'

const d = (...tensors: number[][]): Delta => tensors.map(t => Float64Array.from(t))
const w = (...tensors: number[][]): Float32Array[] => tensors.map(t => Float32Array.from(t))
const plain = (x: ArrayLike<number>[]): number[][] => x.map(t => Array.from(t))

test('FedAvg weights each update by its sample count', () => {
  // (1·[1, 2 | 3] + 3·[3, 6 | −1]) / 4 = [2.5, 5 | 0]
  assert.equal(plain(fedAvg([d([1, 2], [3]), d([3, 6], [-1])], [1, 3])), [[2.5, 5], [0]])
  // Equal counts: the plain mean.
  assert.equal(plain(fedAvg([d([1], [4]), d([3], [8])], [5, 5])), [[2], [6]])
  // Scaling every count leaves the average unchanged.
  assert.equal(plain(fedAvg([d([1, 2], [3]), d([3, 6], [-1])], [10, 30])), [[2.5, 5], [0]])
})

test('FedAvg refuses bad counts and mismatched layouts', () => {
  throwsCode(() => fedAvg([d([1]), d([2])], [1, 0]), 'INVALID')
  throwsCode(() => fedAvg([d([1]), d([2])], [1, 1.5]), 'INVALID')
  throwsCode(() => fedAvg([d([1]), d([2])], [1]), 'INVALID')
  throwsCode(() => fedAvg([], []), 'INVALID')
  throwsCode(() => fedAvg([d([1]), d([1, 2])], [1, 1]), 'BAD_SHAPE')
  throwsCode(() => fedAvg([d([1]), d([1], [2])], [1, 1]), 'BAD_SHAPE')
})

test('trimmed mean drops ⌊β·m⌋ values at each end of every coordinate', () => {
  const updates = [d([1, -100]), d([2, 0]), d([3, 1]), d([4, 2]), d([100, 3])]
  // m = 5, β = 0.2: one dropped at each end → mean(2, 3, 4) = 3 and mean(0, 1, 2) = 1.
  assert.equal(plain(trimmedMean(updates, 0.2)), [[3, 1]])
  // β = 0: the plain mean.
  assert.equal(plain(trimmedMean(updates, 0)), [[22, -18.8]])
  // β = 0.4: two at each end → the median.
  assert.equal(plain(trimmedMean(updates, 0.4)), [[3, 1]])
  // Coordinates are trimmed independently: the outlier may sit in a different update per coordinate.
  assert.equal(plain(trimmedMean([d([0, 9]), d([9, 0]), d([1, 1])], 0.34)), [[1, 1]])
})

test('trimCount keeps at least one value and refuses β outside [0, 0.5)', () => {
  assert.is(trimCount(5, 0.2), 1)
  assert.is(trimCount(3, 0.2), 0)
  assert.is(trimCount(3, 0.34), 1)
  assert.is(trimCount(2, 0.49), 0)
  assert.is(trimCount(1, 0.49), 0)
  throwsCode(() => trimCount(5, 0.5), 'INVALID')
  throwsCode(() => trimCount(5, -0.1), 'INVALID')
  throwsCode(() => trimCount(5, Number.NaN), 'INVALID')
})

test('clipping scales an update down to norm C and leaves shorter ones alone', () => {
  const long = d([3], [4])
  assert.is(l2Norm(long), 5)
  const clipped = clipDelta(long, 2.5)
  assert.ok(clipped.clipped)
  assert.is(clipped.norm, 5)
  assert.equal(plain(clipped.delta), [[1.5], [2]])
  const kept = clipDelta(long, 5)
  assert.not.ok(kept.clipped)
  assert.is(kept.delta, long)
  throwsCode(() => clipDelta(long, 0), 'INVALID')
  throwsCode(() => clipDelta(long, Number.POSITIVE_INFINITY), 'INVALID')
})

test('validateUpdate returns update − global and refuses bad shapes, non-finite values and absurd norms', () => {
  const global = w([1, 1], [2])
  assert.equal(plain(validateUpdate([2, 1], w([4, 5], [2]), global, 10)), [[3, 4], [0]])
  throwsCode(() => validateUpdate([2, 1], w([4, 5]), global, 10), 'BAD_SHAPE')
  throwsCode(() => validateUpdate([2, 1], w([4, 5, 6], [2]), global, 10), 'BAD_SHAPE')
  throwsCode(() => validateUpdate([2, 1], w([4, Number.NaN], [2]), global, 10), 'NON_FINITE')
  throwsCode(() => validateUpdate([2, 1], w([4, 5], [Number.NEGATIVE_INFINITY]), global, 10), 'NON_FINITE')
  // ‖(3, 4, 0)‖ = 5: allowed at a bound of 5, absurd at 4.9.
  assert.ok(validateUpdate([2, 1], w([4, 5], [2]), global, 5).length === 2)
  throwsCode(() => validateUpdate([2, 1], w([4, 5], [2]), global, 4.9), 'ABSURD_NORM')
  // The bound is an RMS change per parameter: 100 · √n.
  assert.is(absurdNormBound(10_000), 10_000)
})

test('applyDelta adds in float32 and refuses a result that overflows it', () => {
  assert.equal(plain(applyDelta(w([1, 2]), d([0.5, -2]))), [[1.5, 0]])
  throwsCode(() => applyDelta(w([3e38]), d([3e38])), 'NON_FINITE')
})

test('aggregate: a poisoned update is clipped under FedAvg and dropped by the trimmed mean', () => {
  const global = w([0, 0])
  const honest = [{ delta: d([1, 0]), samples: 10 }, { delta: d([0, 1]), samples: 10 }, { delta: d([1, 1]), samples: 10 }]
  const poison = { delta: d([3e4, 4e4]), samples: 10 }
  const raw = aggregate(global, [...honest, poison], { method: 'fedavg' })
  assert.equal(plain(raw.weights), [[7500.5, 10000.5]], 'without protection the poison dominates')
  const clipped = aggregate(global, [...honest, poison], { method: 'fedavg', clip: 5 })
  // The poison becomes (3, 4): the mean of (1,0), (0,1), (1,1), (3,4) = (1.25, 1.5).
  assert.equal(plain(clipped.weights), [[1.25, 1.5]])
  assert.is(clipped.clipped, 1)
  assert.equal(clipped.norms, [1, 1, Math.SQRT2, 5e4])
  const trimmed = aggregate(global, [...honest, poison], { method: 'trimmed-mean', trim: 0.25 })
  // Per coordinate, drop the smallest and the largest of four: x → mean(1, 1) = 1; y → mean(1, 1) = 1.
  assert.equal(plain(trimmed.weights), [[1, 1]])
  assert.is(trimmed.noiseStd, 0)
})

test('DP noise: σ·C on the sample-weighted sum, reproducible from the seed', () => {
  const global = w(new Array(20_000).fill(0))
  const zero = { delta: d(new Array(20_000).fill(0)), samples: 4 }
  const half = { delta: d(new Array(20_000).fill(0)), samples: 2 }
  const options = { method: 'fedavg' as const, clip: 1, dpSigma: 3 }
  const a = aggregate(global, [zero, half], { ...options, prng: createPrng(7) })
  // Weights nᵢ/n_max = 1 and 0.5: std = σ·C / 1.5 = 2.
  assert.is(a.noiseStd, 2)
  const b = aggregate(global, [zero, half], { ...options, prng: createPrng(7) })
  assert.equal(plain(a.weights), plain(b.weights), 'the same seed gives the same noise')
  const c = aggregate(global, [zero, half], { ...options, prng: createPrng(8) })
  assert.not.equal(plain(a.weights), plain(c.weights))
  const values = Array.from(a.weights[0])
  const mean = values.reduce((s, x) => s + x, 0) / values.length
  const std = Math.sqrt(values.reduce((s, x) => s + (x - mean) ** 2, 0) / values.length)
  assert.ok(Math.abs(mean) < 0.05 && Math.abs(std - 2) < 0.05, `empirical mean ${mean}, std ${std}`)
  // Trimmed mean of m = 4 with one trimmed per side: σ·C / (m − 2).
  const t = aggregate(w([0]), [0, 1, 2, 3].map(() => ({ delta: d([0]), samples: 1 })), { method: 'trimmed-mean', trim: 0.25, clip: 1, dpSigma: 3, prng: createPrng(1) })
  assert.is(t.noiseStd, 1.5)
  assert.equal(plain(addGaussianNoise(d([1, 2]), 0, createPrng(1))), [[1, 2]])
})

test('aggregate refuses DP without a clip norm or a noise source, and unknown methods', () => {
  const one = [{ delta: d([1]), samples: 1 }]
  throwsCode(() => aggregate(w([0]), one, { method: 'fedavg', dpSigma: 1 }), 'INVALID')
  throwsCode(() => aggregate(w([0]), one, { method: 'fedavg', dpSigma: 1, clip: 1 }), 'INVALID')
  throwsCode(() => aggregate(w([0]), one, { method: 'fedavg', dpSigma: -1, clip: 1, prng: createPrng(1) }), 'INVALID')
  throwsCode(() => aggregate(w([0]), one, { method: 'median' as 'fedavg' }), 'INVALID')
  throwsCode(() => addGaussianNoise(d([1]), Number.NaN, createPrng(1)), 'INVALID')
})

test.run()
