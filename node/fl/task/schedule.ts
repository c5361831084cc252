// The learning-rate schedule of a federated task: one cosine over the whole task (its local
// epochs: a first round of `firstRoundEpochs`, then `epochs` per round), cut into per-round
// segments that each participant follows within its local run (SGDR without restarts, Loshchilov
// & Hutter, ICLR 2017, eq. 5 with η_min = 0), or a constant rate; and each round's deadline, the
// first one longer in proportion. Pure maths: the coordinator puts each round's settings into the
// round-start config.
import type { RoundConfig } from '../transport/messages.ts'

/** Learning-rate schedules a task can choose. */
export const SCHEDULES = ['constant', 'cosine'] as const
export type Schedule = typeof SCHEDULES[number]

/** The task options the schedule reads (a task's TaskOptions, task/options.ts, has them all). */
export interface ScheduleOptions {
  schedule: Schedule
  /** Adam step size at the task's first local step. */
  learningRate: number
  rounds: number
  epochs: number
  /** Local epochs of round 1 (≥ epochs). */
  firstRoundEpochs: number
  batchSize: number
  /** FedProx μ carried to the participants. */
  mu: number
}

/**
 * The cosine-annealed rate after `done` of `total` epochs: lr·(1 + cos(π·done/total))/2, from lr
 * at 0 down to 0 at `total` (Loshchilov & Hutter 2017, eq. 5, η_min = 0, one cycle).
 */
export function cosineRate (lr: number, done: number, total: number): number {
  return lr * (1 + Math.cos(Math.PI * done / total)) / 2
}

/** Local epochs of round `round` (1-based). */
export function roundEpochs (options: Pick<ScheduleOptions, 'epochs' | 'firstRoundEpochs'>, round: number): number {
  return round === 1 ? options.firstRoundEpochs : options.epochs
}

/** Local epochs of the whole task, and those done before round `round` starts. */
function epochsBefore (options: Pick<ScheduleOptions, 'rounds' | 'epochs' | 'firstRoundEpochs'>, round: number): number {
  return round <= 1 ? 0 : options.firstRoundEpochs + (round - 2) * options.epochs
}

/**
 * Adam's step size at the first and last local step of round `round` (1-based) of a task of
 * `rounds` rounds: the round's segment of the task-wide cosine over all its local epochs (the
 * first round's `firstRoundEpochs`, then `epochs` each), so that consecutive rounds join up; both
 * ends are `learningRate` when constant. The schedule spans the maximum number of rounds, so a
 * task stopped early by `patience` ends above 0.
 */
export function roundLearningRates (options: Pick<ScheduleOptions, 'schedule' | 'learningRate' | 'rounds' | 'epochs' | 'firstRoundEpochs'>, round: number): { start: number, end: number } {
  const lr = options.learningRate
  if (options.schedule === 'constant') return { start: lr, end: lr }
  const total = epochsBefore(options, options.rounds + 1)
  const done = epochsBefore(options, round)
  return { start: cosineRate(lr, done, total), end: cosineRate(lr, done + roundEpochs(options, round), total) }
}

/** The local-training settings of round `round` that the round-start carries. */
export function roundConfig (options: ScheduleOptions, round: number): RoundConfig {
  const { start, end } = roundLearningRates(options, round)
  return { epochs: roundEpochs(options, round), batchSize: options.batchSize, learningRate: start, learningRateEnd: end, mu: options.mu }
}

/**
 * Time from a round's start to its deadline (ms): `roundTimeoutMs`, and for the first round as
 * much more as it has more local epochs (capped at the task limit), so a long first round is not
 * cut off by a deadline sized for the others.
 */
export function roundTimeout (options: Pick<ScheduleOptions, 'epochs' | 'firstRoundEpochs'> & { roundTimeoutMs: number }, round: number, limitMs: number): number {
  if (round !== 1) return options.roundTimeoutMs
  return Math.min(limitMs, Math.round(options.roundTimeoutMs * options.firstRoundEpochs / options.epochs))
}
