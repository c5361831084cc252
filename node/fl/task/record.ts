// The history of a federated task as the coordinator keeps it and `GET /api/fl/tasks/:id` shows
// it (the UI charts it): per-round validation loss and Dice, participants with their sample
// counts and training times, refusals by code, and timings. Also the encoding of the provenance
// that model.publish carries within the ledger's fixed schema.
import { toHex } from '../../../protocol/bytes.ts'
import type { EvalResult } from '../../ai/train/train.ts'
import { MAX_METRICS, SAMPLES_METRIC_PREFIX } from '../constants.ts'
import type { AcceptedUpdate, RefusedUpdate } from '../round/collect.ts'
import type { TaskOptions } from './options.ts'

/** Validation figures of one global model on the coordinator's held-out set. */
export interface Validation { loss: number, dice: number, auroc: number | null }

/** One hospital's part in a round. */
export interface RoundParticipant { hospital: string, samples: number, loss: number, trainMs: number, receivedMs: number, norm: number }

/** One round, for the history. Times are ms since the epoch; durations in ms. */
export interface RoundRecord {
  round: number
  status: 'aggregated' | 'insufficient'
  startedAt: number
  /** CID of the global weights the round started from. */
  model: string
  participants: RoundParticipant[]
  refused: RefusedUpdate[]
  closedBy: 'deadline' | 'all-answered' | 'stopped'
  /** Validation of the aggregate (null when the round did not aggregate). */
  validation: Validation | null
  improved: boolean
  /** Updates scaled down by clipping. */
  clipped: number
  /** Start to close of collection, aggregation, validation, and the whole round. */
  collectMs: number
  aggregateMs: number
  validateMs: number
  wallMs: number
  /** Longest local training among the participants, and (wall − that) / that: the round overhead. */
  slowestTrainMs: number | null
  overhead: number | null
}

/**
 * Where a task stands. 'stopped': an admin stopped it; 'interrupted': this peer stopped (or
 * crashed) while it ran. Neither is resumed by itself: an admin continues one as a new task
 * (`continueTask`, task/continuation.ts).
 */
export type TaskStatus = 'running' | 'done' | 'failed' | 'stopped' | 'interrupted'

/** Every TaskStatus, for checks of stored records. */
export const TASK_STATUSES: readonly TaskStatus[] = ['running', 'done', 'failed', 'stopped', 'interrupted']

/** Why a task's round loop ended. */
export type StopReason = 'rounds' | 'patience' | 'stopped' | 'error' | 'interrupted'

/** Every StopReason, for checks of stored records. */
export const STOP_REASONS: readonly StopReason[] = ['rounds', 'patience', 'stopped', 'error', 'interrupted']

/** The `error` of an interrupted task. */
export const INTERRUPTED_ERROR = { code: 'INTERRUPTED', message: 'this peer stopped while the task was running; an admin can continue it as a new task from its last round' } as const

/** What model.publish recorded. */
export interface Publication { model: string, tx: string, round: number, metrics: Record<string, number>, participants: string[] }

/** A task as `GET /api/fl/tasks/:id` returns it. */
export interface TaskView {
  id: string
  coordinator: string
  /** The id of the interrupted or stopped task this one continues (its provenance), or null. */
  continues: string | null
  status: TaskStatus
  options: Omit<TaskOptions, 'initialModel'> & { initialModel: string | null }
  startedAt: number
  endedAt: number | null
  /** Validation of the initial model: the reference "validation loss goes down" is measured from. */
  baseline: Validation | null
  rounds: RoundRecord[]
  best: { round: number, validation: Validation } | null
  final: { round: number, validation: Validation } | null
  stopReason: StopReason | null
  published: Publication | null
  /** DP parameters reported with the model (docs/design.md §6: "report σ and C"). */
  privacy: { clip: number | null, dpSigma: number | null }
  error: { code: string, message: string } | null
}

/** A task's view without its rounds: what the history stores under the task's own key. */
export type TaskHeader = Omit<TaskView, 'rounds'>

/** A task in the list of `GET /api/fl/tasks`. */
export type TaskSummary = Pick<TaskView, 'id' | 'coordinator' | 'continues' | 'status' | 'startedAt' | 'endedAt' | 'stopReason' | 'error'> & {
  task: string
  rounds: number
  bestLoss: number | null
  published: string | null
}

/** The view of a task that has just started; `continues` is the task it continues, if any. */
export function newTaskView (id: string, options: TaskOptions, coordinator: string, now: number, continues: string | null = null): TaskView {
  return {
    id,
    coordinator,
    continues,
    status: 'running',
    options: { ...options, initialModel: options.initialModel?.toString() ?? null },
    startedAt: now,
    endedAt: null,
    baseline: null,
    rounds: [],
    best: null,
    final: null,
    stopReason: null,
    published: null,
    privacy: { clip: options.clip ?? null, dpSigma: options.dpSigma ?? null },
    error: null
  }
}

/** A view from a stored header and rounds, with its keys in the order newTaskView gives them. */
export function viewFromHeader (header: TaskHeader, rounds: RoundRecord[] = []): TaskView {
  const { best, final, stopReason, published, privacy, error, ...head } = header
  return { ...head, rounds, best, final, stopReason, published, privacy, error }
}

/**
 * Marks a task found 'running' in the stored history (the peer crashed while it ran) as
 * interrupted. It ended at the last moment it is known to have been alive: the end of its last
 * round, else its start.
 */
export function markInterrupted (view: TaskView): void {
  const last = view.rounds.at(-1)
  const seen = last === undefined ? view.startedAt : last.startedAt + Math.round(Number.isFinite(last.wallMs) ? last.wallMs : 0)
  view.status = 'interrupted'
  view.stopReason = 'interrupted'
  view.endedAt = Math.max(view.startedAt, seen)
  view.error = { ...INTERRUPTED_ERROR }
}

/** A round's record of one accepted update, with its norm before clipping. */
export function participantOf (u: AcceptedUpdate, norm: number): RoundParticipant {
  return { hospital: u.hospital, samples: u.samples, loss: u.loss, trainMs: u.trainMs, receivedMs: u.receivedMs, norm }
}

/** Validation figures of an evaluate() result. */
export function validationOf (e: EvalResult): Validation {
  return { loss: e.loss, dice: e.dice, auroc: e.auroc ?? null }
}

/** The summary of a task view. */
export function summaryOf (view: TaskView): TaskSummary {
  return {
    id: view.id,
    task: view.options.task,
    coordinator: view.coordinator,
    continues: view.continues,
    status: view.status,
    startedAt: view.startedAt,
    endedAt: view.endedAt,
    stopReason: view.stopReason,
    error: view.error,
    rounds: view.rounds.length,
    bestLoss: view.best?.validation.loss ?? null,
    published: view.published?.model ?? null
  }
}

/** The metric key of one participant's sample count: `samples:` and the first 8 hex digits of its key. */
export function samplesMetricKey (hospital: Uint8Array | string): string {
  return SAMPLES_METRIC_PREFIX + (typeof hospital === 'string' ? hospital : toHex(hospital)).slice(0, 8)
}

/**
 * The participants of the model chosen at `round` (every hospital aggregated into it, in rounds
 * 1..round) with each one's latest sample count, largest first, ties by key.
 */
export function contributorsOf (rounds: readonly RoundRecord[], round: number): Array<{ hospital: string, samples: number }> {
  const latest = new Map<string, number>()
  for (const r of rounds) {
    if (r.round > round || r.status !== 'aggregated') continue
    for (const p of r.participants) latest.set(p.hospital, p.samples)
  }
  return [...latest].map(([hospital, samples]) => ({ hospital, samples }))
    .sort((a, b) => b.samples - a.samples || (a.hospital < b.hospital ? -1 : 1))
}

/**
 * The metrics of model.publish (at most 16 finite numbers, keys ≤ 32 characters: protocol/chain/tx.ts).
 * Always: `loss`, `dice` (validation), `rounds` (rounds run), `samples` (total over participants);
 * `auroc` when defined; `clip` (C) and `dpSigma` (σ) when differential privacy or clipping was on;
 * `mu` when FedProx was on; `serverLr` (η_g) when not 1 and `serverMomentum` (β) when above 0.
 * Then `samples:<first 8 hex of member key>` per participant, largest first, while slots remain:
 * with more participants than slots, the smallest are left to the task history (`participants`
 * on the ledger still lists every one of them).
 */
export function publishMetrics (input: {
  validation: Validation
  roundsRun: number
  options: Pick<TaskOptions, 'clip' | 'dpSigma' | 'mu' | 'serverLearningRate' | 'serverMomentum'> & Partial<Pick<TaskOptions, 'aggregation'>>
  contributors: Array<{ hospital: string, samples: number }>
}): Record<string, number> {
  const { validation, options, contributors } = input
  const metrics: Record<string, number> = {
    loss: validation.loss,
    dice: validation.dice,
    rounds: input.roundsRun,
    samples: contributors.reduce((n, c) => n + c.samples, 0)
  }
  if (validation.auroc !== null) metrics.auroc = validation.auroc
  // Provenance of the aggregation mode: 1 when no hospital's update was ever seen in the clear.
  if (options.aggregation === 'secure') metrics.secureAggregation = 1
  if (options.clip !== undefined) metrics.clip = options.clip
  if (options.dpSigma !== undefined) metrics.dpSigma = options.dpSigma
  if (options.mu > 0) metrics.mu = options.mu
  if (options.serverLearningRate !== 1) metrics.serverLr = options.serverLearningRate
  if (options.serverMomentum > 0) metrics.serverMomentum = options.serverMomentum
  for (const c of contributors) {
    if (Object.keys(metrics).length >= MAX_METRICS) break
    metrics[samplesMetricKey(c.hospital)] = c.samples
  }
  return metrics
}
