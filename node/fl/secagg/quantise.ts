// Fixed-point encoding of model updates into Z/2^32, where masks add and cancel exactly. A value x
// becomes round(x·scale) mod 2^32; the scale is chosen from a bound B on |Σ x| over every hospital
// so that the sum stays inside ±(2^31 − 1) and reads back without wrapping. Each hospital's
// contribution is clipped to L2 norm C before it is weighted by its sample count n_u, so every
// coordinate of Σ n_u·Δ_u is at most (Σ n_u)·C in absolute value: B = (Σ n_u)·C·headroom.
import { InvalidRequestError } from '../../../protocol/errors.ts'
import { RING_HALF } from './constants.ts'
import { SecAggError } from './errors.ts'

/** Fixed-point scale (ring units per unit) for a sum bounded by `bound` in absolute value. */
export function scaleFor (bound: number): number {
  if (!(bound > 0) || !Number.isFinite(bound)) throw new InvalidRequestError(`the quantiser needs a positive bound, got ${bound}`)
  return RING_HALF / bound
}

/**
 * round(x·scale) mod 2^32 for every value. Values beyond ±`limit` (this hospital's share of the
 * bound) are saturated to it and counted: only DP noise can reach them, and saturating keeps the
 * sum from wrapping. Throws SECAGG_BAD_INPUT on a non-finite value.
 */
export function quantise (values: ArrayLike<number>, scale: number, limit: number): { encoded: Uint32Array, saturated: number } {
  const encoded = new Uint32Array(values.length)
  let saturated = 0
  for (let i = 0; i < values.length; i++) {
    let x = values[i]
    if (!Number.isFinite(x)) throw new SecAggError('SECAGG_BAD_INPUT', `value ${i} is not finite`)
    if (x > limit) { x = limit; saturated++ } else if (x < -limit) { x = -limit; saturated++ }
    encoded[i] = Math.round(x * scale) >>> 0
  }
  return { encoded, saturated }
}

/** The signed values of a sum in Z/2^32 (two's complement), divided by `scale`. */
export function dequantise (sum: Uint32Array, scale: number): Float64Array {
  const out = new Float64Array(sum.length)
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i] | 0) / scale
  return out
}

/** a + b in Z/2^32, in place on `a`. */
export function addInto (a: Uint32Array, b: Uint32Array): Uint32Array {
  for (let i = 0; i < a.length; i++) a[i] = (a[i] + b[i]) >>> 0
  return a
}

/** a − b in Z/2^32, in place on `a`. */
export function subtractInto (a: Uint32Array, b: Uint32Array): Uint32Array {
  for (let i = 0; i < a.length; i++) a[i] = (a[i] - b[i]) >>> 0
  return a
}
