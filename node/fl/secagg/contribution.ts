// What a hospital puts into a secure sum, and how the coordinator reads the sum back: FedAvg
// weighting, clipping and distributed DP noise moved to the hospital, because the coordinator sees
// only Σ. Hospital u sends x_u = n_u·(clip_C(Δ_u) + N(0, σ²C²/m)) quantised, where m is the size of
// the key list; Σ x_u / Σ n_u is then FedAvg of the clipped updates, and with equal sample counts
// the noise on the average has the σ·C / m standard deviation the plain path adds on its own.
import type { Prng } from '../../ai/model/prng.ts'
import { clipDelta } from '../round/aggregate.ts'
import type { Delta } from '../round/aggregate.ts'
import { dequantise, quantise, scaleFor } from './quantise.ts'

/** What fixes the quantiser and the noise of one round: the same for every hospital of the key list. */
export interface SecureRoundParams {
  /** Clip norm C, required: it is what bounds the sum. */
  clip: number
  /** DP noise multiplier σ (0 or absent: no noise). */
  dpSigma?: number
  /** Hospitals in the key list (m). */
  parties: number
  /** Σ n_u over the key list. */
  totalSamples: number
}

/**
 * Headroom over the clip bound for the noise: 1 + 6σ/√m, so a coordinate of a hospital's noisy
 * contribution exceeds its share of the bound with probability below 2·10⁻⁹ (six standard deviations).
 */
export function headroom (p: SecureRoundParams): number {
  return 1 + 6 * (p.dpSigma ?? 0) / Math.sqrt(p.parties)
}

/** The fixed-point scale of the round: the whole sum is bounded by (Σ n_u)·C·headroom. */
export function secureScale (p: SecureRoundParams): number {
  return scaleFor(p.totalSamples * p.clip * headroom(p))
}

/** A hospital's quantised contribution (flattened in layout order), its pre-clip norm and whether it was clipped. */
export function secureContribution (delta: Delta, samples: number, p: SecureRoundParams, prng?: Prng): { encoded: Uint32Array, norm: number, clipped: boolean, saturated: number } {
  const c = clipDelta(delta, p.clip)
  const std = p.dpSigma !== undefined && p.dpSigma > 0 && prng !== undefined ? p.dpSigma * p.clip / Math.sqrt(p.parties) : 0
  const length = delta.reduce((n, t) => n + t.length, 0)
  const flat = new Float64Array(length)
  let k = 0
  for (const t of c.delta) for (let j = 0; j < t.length; j++) flat[k++] = samples * (t[j] + (std > 0 ? std * (prng as Prng).normal() : 0))
  const { encoded, saturated } = quantise(flat, secureScale(p), samples * p.clip * headroom(p))
  return { encoded, norm: c.norm, clipped: c.clipped, saturated }
}

/** The FedAvg delta from an unmasked sum: Σ x_u / scale / Σ n_u over the survivors, split into `sizes`. */
export function secureAverage (sum: Uint32Array, samples: number, p: SecureRoundParams, sizes: readonly number[]): Delta {
  const flat = dequantise(sum, secureScale(p))
  let k = 0
  return sizes.map(n => {
    const out = new Float64Array(n)
    for (let j = 0; j < n; j++) out[j] = flat[k++] / samples
    return out
  })
}
