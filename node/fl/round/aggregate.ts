// The "aggregate" step of the seed's federated loop (docs/design.md §6), as pure maths on parameter lists
// in layout order: update validation, clipping to an L2 norm, FedAvg weighted by sample counts
// (McMahan et al., AISTATS 2017), coordinate-wise trimmed mean (Yin et al., ICML 2018) and
// Gaussian noise for differential privacy (McMahan et al., ICLR 2018). No tfjs: values in, values out.
import { InvalidRequestError } from '../../../protocol/errors.ts'
import type { Prng } from '../../ai/model/prng.ts'
import { ABSURD_RMS } from '../constants.ts'
import { UpdateRefusedError } from '../errors.ts'

/** Model parameters in layout order (node/ai/model/unet-config.ts `parameterLayout`). */
export type Weights = readonly Float32Array[]

/** A difference of parameters (update − global), in double precision, in layout order. */
export type Delta = Float64Array[]

/** One hospital's contribution to a round: its change to the global model and its sample count. */
export interface Contribution { delta: Delta, samples: number }

/** Aggregation rules a task can choose. */
export const AGGREGATIONS = ['fedavg', 'trimmed-mean'] as const
export type Aggregation = typeof AGGREGATIONS[number]

/** Options of aggregate. */
export interface AggregateOptions {
  method: Aggregation
  /** Trimmed mean: fraction β of the values dropped at each end of every coordinate, in [0, 0.5). */
  trim?: number
  /** Clip every update to this L2 norm C before averaging (also the DP sensitivity bound). */
  clip?: number
  /** DP noise multiplier σ: Gaussian noise of standard deviation σ·C on the sum; needs `clip`. */
  dpSigma?: number
  /** Source of the DP noise (a seeded generator, so a run can be reproduced). */
  prng?: Prng
}

/** The aggregate and what was done to get it. */
export interface AggregateResult {
  /** The new global weights (float32). */
  weights: Float32Array[]
  /** L2 norm of each update before clipping, in input order. */
  norms: number[]
  /** Number of updates that clipping scaled down. */
  clipped: number
  /** Standard deviation of the noise added to each coordinate of the average (0 without DP). */
  noiseStd: number
  /** The aggregated update Δ̄ that `weights` applies to the global model (noise included). */
  delta: Delta
}

/** The bound above which an update's norm is absurd for a model of `parameterCount` scalars. */
export function absurdNormBound (parameterCount: number, rms = ABSURD_RMS): number {
  return rms * Math.sqrt(parameterCount)
}

/** Euclidean norm of a parameter list. */
export function l2Norm (v: readonly ArrayLike<number>[]): number {
  let s = 0
  for (const t of v) for (let i = 0; i < t.length; i++) s += t[i] * t[i]
  return Math.sqrt(s)
}

/**
 * Checks an update against the layout sizes and the round's global weights and returns its delta.
 * Throws BAD_SHAPE (tensor count or size differs), NON_FINITE (NaN or ±∞ anywhere) or ABSURD_NORM
 * (‖update − global‖ above `maxNorm`).
 */
export function validateUpdate (sizes: readonly number[], weights: Weights, global: Weights, maxNorm: number): Delta {
  if (weights.length !== sizes.length) throw new UpdateRefusedError('BAD_SHAPE', `expected ${sizes.length} tensors, got ${weights.length}`)
  sizes.forEach((n, i) => {
    if (weights[i].length !== n) throw new UpdateRefusedError('BAD_SHAPE', `tensor ${i}: expected ${n} values, got ${weights[i].length}`)
  })
  const delta = weights.map((w, i) => {
    const d = new Float64Array(w.length)
    for (let j = 0; j < w.length; j++) {
      if (!Number.isFinite(w[j])) throw new UpdateRefusedError('NON_FINITE', `tensor ${i}: value ${j} is not finite`)
      d[j] = w[j] - global[i][j]
    }
    return d
  })
  const norm = l2Norm(delta)
  if (!(norm <= maxNorm)) throw new UpdateRefusedError('ABSURD_NORM', `update norm ${norm.toPrecision(4)} exceeds ${maxNorm.toPrecision(4)}`)
  return delta
}

/** Scales `delta` down to L2 norm `maxNorm` when it is longer (Abadi et al., CCS 2016, per-example clipping). */
export function clipDelta (delta: Delta, maxNorm: number): { delta: Delta, norm: number, clipped: boolean } {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new InvalidRequestError(`clip norm must be a positive number, got ${maxNorm}`)
  const norm = l2Norm(delta)
  if (norm <= maxNorm) return { delta, norm, clipped: false }
  const scale = maxNorm / norm
  return { delta: delta.map(t => t.map(x => x * scale)), norm, clipped: true }
}

function checkSameShape (deltas: readonly Delta[]): void {
  if (deltas.length === 0) throw new InvalidRequestError('at least one update is needed')
  const first = deltas[0]
  for (const d of deltas) {
    if (d.length !== first.length || d.some((t, i) => t.length !== first[i].length)) {
      throw new UpdateRefusedError('BAD_SHAPE', 'updates do not share one layout')
    }
  }
}

/** FedAvg: Σ nᵢ·Δᵢ / Σ nᵢ, each update weighted by its sample count nᵢ (positive integers). */
export function fedAvg (deltas: readonly Delta[], samples: readonly number[]): Delta {
  checkSameShape(deltas)
  if (samples.length !== deltas.length) throw new InvalidRequestError('one sample count per update is needed')
  for (const n of samples) {
    if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidRequestError(`sample counts must be positive integers, got ${n}`)
  }
  const total = samples.reduce((a, b) => a + b, 0)
  return deltas[0].map((t, i) => {
    const out = new Float64Array(t.length)
    deltas.forEach((d, k) => {
      const w = samples[k] / total
      const src = d[i]
      for (let j = 0; j < out.length; j++) out[j] += w * src[j]
    })
    return out
  })
}

/** Values dropped at each end by the trimmed mean of `m` values: ⌊β·m⌋, but at least one is kept. */
export function trimCount (m: number, beta: number): number {
  if (!(beta >= 0 && beta < 0.5)) throw new InvalidRequestError(`trim must be in [0, 0.5), got ${beta}`)
  return Math.min(Math.floor(beta * m), Math.floor((m - 1) / 2))
}

/**
 * Coordinate-wise trimmed mean: for every parameter, sort the m values, drop the ⌊β·m⌋ smallest and
 * largest, and average the rest. Unweighted by design: one hospital's claimed sample count cannot
 * buy it influence, which is the point of a robust aggregate.
 */
export function trimmedMean (deltas: readonly Delta[], beta: number): Delta {
  checkSameShape(deltas)
  const m = deltas.length
  const k = trimCount(m, beta)
  const kept = m - 2 * k
  const column = new Float64Array(m)
  return deltas[0].map((t, i) => {
    const out = new Float64Array(t.length)
    for (let j = 0; j < out.length; j++) {
      for (let r = 0; r < m; r++) column[r] = deltas[r][i][j]
      column.sort()
      let s = 0
      for (let r = k; r < m - k; r++) s += column[r]
      out[j] = s / kept
    }
    return out
  })
}

/** A copy of `delta` with independent N(0, std²) noise added to every coordinate. */
export function addGaussianNoise (delta: Delta, std: number, prng: Prng): Delta {
  if (!(std >= 0) || !Number.isFinite(std)) throw new InvalidRequestError(`noise std must be ≥ 0, got ${std}`)
  return delta.map(t => t.map(x => x + std * prng.normal()))
}

/** global + delta as float32; throws NON_FINITE when a value leaves the float32 range. */
export function applyDelta (global: Weights, delta: Delta): Float32Array[] {
  return global.map((g, i) => {
    const out = new Float32Array(g.length)
    for (let j = 0; j < g.length; j++) {
      out[j] = g[j] + delta[i][j]
      if (!Number.isFinite(out[j])) throw new UpdateRefusedError('NON_FINITE', `aggregate tensor ${i}: value ${j} is not finite`)
    }
    return out
  })
}

function checkOptions (o: AggregateOptions): void {
  if (!(AGGREGATIONS as readonly string[]).includes(o.method)) throw new InvalidRequestError(`unknown aggregation ${String(o.method)}`)
  if (o.dpSigma !== undefined) {
    if (!(o.dpSigma >= 0) || !Number.isFinite(o.dpSigma)) throw new InvalidRequestError(`dpSigma must be ≥ 0, got ${o.dpSigma}`)
    if (o.clip === undefined) throw new InvalidRequestError('differential privacy needs a clip norm C (the sensitivity)')
    if (o.dpSigma > 0 && o.prng === undefined) throw new InvalidRequestError('differential privacy needs a noise source')
  }
}

/**
 * Noise on the average of clipped updates. FedAvg: the weighted sum Σ (nᵢ/n_max)·Δᵢ has
 * sensitivity C (every weight ≤ 1), so it gets N(0, σ²C²) and is divided by Σ nᵢ/n_max — the
 * weighted estimator of McMahan et al. 2018 §2. Trimmed mean: changing one update moves the mean of
 * the m − 2k kept values by at most C/(m − 2k) per coordinate's kept set, so σ·C/(m − 2k).
 */
function noiseStdOf (o: AggregateOptions, updates: readonly Contribution[]): number {
  if (o.dpSigma === undefined || o.dpSigma === 0 || o.clip === undefined) return 0
  if (o.method === 'fedavg') {
    const max = Math.max(...updates.map(u => u.samples))
    const weightSum = updates.reduce((s, u) => s + u.samples / max, 0)
    return (o.dpSigma * o.clip) / weightSum
  }
  return (o.dpSigma * o.clip) / (updates.length - 2 * trimCount(updates.length, o.trim ?? 0))
}

/**
 * One aggregation step: clip each update (if `clip`), combine them by `method`, add DP noise (if
 * `dpSigma`), and apply the result to `global`. Updates must already have passed validateUpdate.
 */
export function aggregate (global: Weights, updates: readonly Contribution[], options: AggregateOptions): AggregateResult {
  checkOptions(options)
  let clipped = 0
  const norms: number[] = []
  const deltas = updates.map(u => {
    if (options.clip === undefined) {
      norms.push(l2Norm(u.delta))
      return u.delta
    }
    const c = clipDelta(u.delta, options.clip)
    norms.push(c.norm)
    if (c.clipped) clipped++
    return c.delta
  })
  let combined = options.method === 'fedavg'
    ? fedAvg(deltas, updates.map(u => u.samples))
    : trimmedMean(deltas, options.trim ?? 0)
  const noiseStd = noiseStdOf(options, updates)
  if (noiseStd > 0 && options.prng !== undefined) combined = addGaussianNoise(combined, noiseStd, options.prng)
  return { weights: applyDelta(global, combined), norms, clipped, noiseStd, delta: combined }
}
