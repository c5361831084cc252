// The learning-rate schedule of a federated task: one cosine over the whole task (rounds × local
// epochs), cut into per-round segments that each participant follows within its local run
// (SGDR without restarts, Loshchilov & Hutter, ICLR 2017, eq. 5 with η_min = 0), or a constant
// rate. Pure maths: the coordinator puts each round's two ends into the round-start config.
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

/**
 * Adam's step size at the first and last local step of round `round` (1-based) of a task of
 * `rounds` rounds × `epochs` local epochs: the segment [(round − 1)·E, round·E] of the task-wide
 * cosine, so that consecutive rounds join up; both ends are `learningRate` when constant. The
 * schedule spans the maximum number of rounds, so a task stopped early by `patience` ends above 0.
 */
export function roundLearningRates (options: Pick<ScheduleOptions, 'schedule' | 'learningRate' | 'rounds' | 'epochs'>, round: number): { start: number, end: number } {
  const { learningRate: lr, rounds, epochs } = options
  if (options.schedule === 'constant') return { start: lr, end: lr }
  const total = rounds * epochs
  return { start: cosineRate(lr, (round - 1) * epochs, total), end: cosineRate(lr, round * epochs, total) }
}

/** The local-training settings of round `round` that the round-start carries. */
export function roundConfig (options: ScheduleOptions, round: number): RoundConfig {
  const { start, end } = roundLearningRates(options, round)
  return { epochs: options.epochs, batchSize: options.batchSize, learningRate: start, learningRateEnd: end, mu: options.mu }
}
