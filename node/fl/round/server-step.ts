// The server optimizer of a federated task: the aggregated update Δ̄ is a pseudo-gradient that the
// coordinator applies with a server learning rate η_g (Reddi et al., "Adaptive Federated
// Optimization", ICLR 2021, Alg. 1 with an SGD server: w ← w + η_g·Δ̄) and optional server momentum
// β (FedAvgM, Hsu et al. 2019: v ← β·v + Δ̄; w ← w + η_g·v). η_g = 1, β = 0 is plain FedAvg.
import { InvalidRequestError } from '../../../protocol/errors.ts'
import type { Prng } from '../../ai/model/prng.ts'
import { aggregate, applyDelta } from './aggregate.ts'
import type { AggregateResult, Contribution, Delta, Weights } from './aggregate.ts'
import { UpdateRefusedError } from '../errors.ts'
import type { TaskOptions } from '../task/options.ts'

/** The server's step settings. */
export interface ServerOptimizer {
  /** η_g, positive. */
  learningRate: number
  /** β, in [0, 1). */
  momentum: number
}

/** The new global weights and the velocity to carry into the next round. */
export interface ServerStep {
  weights: Float32Array[]
  /** v = β·v_prev + Δ̄ (may share `delta`'s arrays when nothing is added to it). */
  velocity: Delta
}

/** What the coordinator keeps per running task between rounds: the DP noise source and the velocity. */
export interface ServerState {
  prng: Prng
  /** null before the first aggregated round (v₀ = 0). */
  velocity: Delta | null
}

function sameLayout (a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): boolean {
  return a.length === b.length && a.every((t, i) => t.length === b[i].length)
}

/**
 * One server step: v = β·v_prev + Δ̄ (v_prev null counts as 0), then global + η_g·v in float32.
 * With η_g = 1 and β = 0 no arithmetic is done on Δ̄, so the result is bit for bit global + Δ̄.
 * Throws INVALID on bad settings, BAD_SHAPE when the layouts differ, NON_FINITE (applyDelta).
 */
export function serverStep (global: Weights, delta: Delta, velocity: Delta | null, options: ServerOptimizer): ServerStep {
  const { learningRate: eta, momentum: beta } = options
  if (!(eta > 0) || !Number.isFinite(eta)) throw new InvalidRequestError(`server learning rate must be a positive number, got ${eta}`)
  if (!(beta >= 0 && beta < 1)) throw new InvalidRequestError(`server momentum must be in [0, 1), got ${beta}`)
  if (!sameLayout(global, delta)) throw new UpdateRefusedError('BAD_SHAPE', 'the aggregated update does not match the global layout')
  if (velocity !== null && !sameLayout(delta, velocity)) throw new UpdateRefusedError('BAD_SHAPE', 'the velocity does not match the update layout')
  const prev = beta === 0 ? null : velocity
  const v = prev === null
    ? delta
    : delta.map((t, i) => {
      const out = new Float64Array(t.length)
      for (let j = 0; j < t.length; j++) out[j] = beta * prev[i][j] + t[j]
      return out
    })
  const step = eta === 1 ? v : v.map(t => t.map(x => eta * x))
  return { weights: applyDelta(global, step), velocity: v }
}

/**
 * A round's aggregation as a task configures it: `aggregate` (clipping, FedAvg or trimmed mean, DP
 * noise) and then the server step, which replaces the result's weights. Keeps the new velocity in
 * `state`: call it only for a round whose result becomes the global model.
 */
export function aggregateRound (global: Weights, updates: readonly Contribution[], options: TaskOptions, state: ServerState): AggregateResult {
  const method = options.aggregation
  // Secure rounds never see updates: round/secure-round.ts sums them masked and `serverStep` applies the result.
  if (method === 'secure') throw new InvalidRequestError('a secure round is aggregated from its masked sum, not from updates')
  const agg = aggregate(global, updates, { method, trim: options.trim, clip: options.clip, dpSigma: options.dpSigma, prng: state.prng })
  const step = serverStep(global, agg.delta, state.velocity, { learningRate: options.serverLearningRate, momentum: options.serverMomentum })
  state.velocity = step.velocity
  return { ...agg, weights: step.weights }
}
