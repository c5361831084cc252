// The options of a federated task (issue 4: `startTask({ task, rounds, minParticipants,
// roundTimeoutMs, epochs, aggregation, mu?, clip?, dpSigma?, patience })`, plus the learning-rate
// schedule and the server optimizer), checked once at the boundary — the admin's POST body or a
// caller's object — and filled with defaults.
import { CID } from 'multiformats/cid'
import { InvalidRequestError } from '../../../protocol/errors.ts'
import { validateConfig, DEFAULT_UNET } from '../../ai/model/unet-config.ts'
import type { UNetConfig } from '../../ai/model/unet-config.ts'
import { AGGREGATIONS } from '../round/aggregate.ts'
import { AggregationConflictError } from '../errors.ts'
import { TASK_DEFAULTS, TASK_LIMITS, TASK_NAME } from '../constants.ts'
import { SCHEDULES } from './schedule.ts'
import type { Schedule } from './schedule.ts'

/**
 * How a task combines updates: the plain rules of round/aggregate.ts, or 'secure' (node/fl/secagg):
 * masked updates of which the coordinator learns only the sum, FedAvg-weighted.
 */
export const TASK_AGGREGATIONS = [...AGGREGATIONS, 'secure'] as const
export type TaskAggregation = typeof TASK_AGGREGATIONS[number]

/** A task's settings, complete. */
export interface TaskOptions {
  /** What the model is for; part of the task id, the topic and model.publish's `task`. */
  task: string
  /** Maximum number of rounds. */
  rounds: number
  /** Fewest updates a round needs to aggregate. */
  minParticipants: number
  /** Time from round start to its deadline (ms). */
  roundTimeoutMs: number
  /** Local epochs per round (E). */
  epochs: number
  /** Local epochs of round 1 (at least `epochs`, which is the default). */
  firstRoundEpochs: number
  batchSize: number
  /** Adam step size at the task's first local step (the peak of the cosine schedule). */
  learningRate: number
  /** 'cosine': one cosine from learningRate to 0 over rounds × epochs, cut per round; 'constant'. */
  schedule: Schedule
  /** Server learning rate η_g applied to the aggregated update (Reddi et al., ICLR 2021); 1 is FedAvg. */
  serverLearningRate: number
  /** Server momentum β (FedAvgM, Hsu et al. 2019): v ← β·v + Δ̄; 0 is none. */
  serverMomentum: number
  /** 'secure' needs `clip` (it bounds the quantised sum) and cannot be robust: see docs/design.md. */
  aggregation: TaskAggregation
  /** Trimmed mean β (fraction dropped at each end). */
  trim: number
  /** FedProx μ; 0 is plain FedAvg. */
  mu: number
  /** Clip norm C of each update, if any. */
  clip?: number
  /** DP noise multiplier σ (noise σ·C), if any; needs `clip`. */
  dpSigma?: number
  /** Rounds without a better validation loss before stopping early. */
  patience: number
  /** Seed of the initial model when `initialModel` is absent. */
  seed: number
  /** Shape of the initial model when `initialModel` is absent. */
  model: UNetConfig
  /** Start from these stored MCW1 weights (e.g. the current published model) instead of fresh ones. */
  initialModel?: CID
  /**
   * Number of the task's first round (1 to `rounds`, default 1): the task runs rounds
   * firstRound..rounds, and the learning-rate schedule starts at that round's segment. A task that
   * continues an interrupted or stopped one (`continueTask`) starts at that one's last recorded round.
   */
  firstRound: number
}

/** The keys a caller may set. */
const KEYS = ['task', 'rounds', 'minParticipants', 'roundTimeoutMs', 'epochs', 'firstRoundEpochs', 'batchSize', 'learningRate', 'schedule',
  'serverLearningRate', 'serverMomentum', 'aggregation', 'secureAggregation', 'trim', 'mu', 'clip', 'dpSigma', 'patience', 'seed', 'model', 'initialModel', 'firstRound'] as const

function int (v: unknown, name: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new InvalidRequestError(`${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`)
  }
  return v
}

function num (v: unknown, name: string, lo: number, hi: number, open = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi || (open && v === lo)) {
    throw new InvalidRequestError(`${name} must be a number in ${open ? '(' : '['}${lo}, ${hi}], got ${String(v)}`)
  }
  return v
}

function cidOf (v: unknown): CID {
  const cid = CID.asCID(v)
  if (cid !== null) return cid
  if (typeof v !== 'string' || v.length > 128) throw new InvalidRequestError('initialModel must be a CID')
  try {
    return CID.parse(v)
  } catch {
    throw new InvalidRequestError('initialModel is not a valid CID')
  }
}

/**
 * Task defaults that fit the consortium: a task that does not say how many hospitals it needs
 * needs at most as many as are active members, so a one-hospital consortium can run a task with
 * the defaults (the general default of 2 could never be met there). Anything else is left as is.
 */
export function fitToConsortium (value: unknown, activeMembers: number): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || (value as Record<string, unknown>).minParticipants !== undefined) return value
  return { ...value, minParticipants: Math.max(1, Math.min(TASK_DEFAULTS.minParticipants, activeMembers)) }
}

/** Checks a caller's options (plain object, JSON-friendly) and fills the defaults. Throws INVALID. */
export function parseTaskOptions (value: unknown): TaskOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidRequestError('task options must be an object')
  const v = value as Record<string, unknown>
  for (const key of Object.keys(v)) {
    if (!(KEYS as readonly string[]).includes(key)) throw new InvalidRequestError(`unknown task option ${JSON.stringify(key.slice(0, 40))}`)
  }
  const get = (key: typeof KEYS[number], fallback: unknown): unknown => v[key] === undefined ? fallback : v[key]
  const task = get('task', TASK_DEFAULTS.name)
  if (typeof task !== 'string' || !TASK_NAME.test(task)) throw new InvalidRequestError('task must be 1–39 lower-case letters, digits or dashes')
  const asked = get('aggregation', TASK_DEFAULTS.aggregation)
  if (typeof asked !== 'string' || !(TASK_AGGREGATIONS as readonly string[]).includes(asked)) {
    throw new InvalidRequestError(`aggregation must be one of ${TASK_AGGREGATIONS.join(', ')}`)
  }
  const secureFlag = v.secureAggregation
  if (secureFlag !== undefined && typeof secureFlag !== 'boolean') throw new InvalidRequestError('secureAggregation must be a boolean')
  // Robust aggregation needs every update in the clear; secure aggregation hides them: one or the other.
  if (secureFlag === true && asked === 'trimmed-mean') throw new AggregationConflictError()
  if (secureFlag === false && asked === 'secure') throw new InvalidRequestError('aggregation "secure" contradicts secureAggregation: false')
  const aggregation = (secureFlag === true ? 'secure' : asked) as TaskAggregation
  const schedule = get('schedule', TASK_DEFAULTS.schedule)
  if (typeof schedule !== 'string' || !(SCHEDULES as readonly string[]).includes(schedule)) {
    throw new InvalidRequestError(`schedule must be one of ${SCHEDULES.join(', ')}`)
  }
  const shape = get('model', {})
  if (typeof shape !== 'object' || shape === null || Array.isArray(shape)) throw new InvalidRequestError('model must be an object')
  let model: UNetConfig
  try {
    model = validateConfig({ ...DEFAULT_UNET, ...shape })
  } catch (err) {
    throw new InvalidRequestError(`model: ${err instanceof Error ? err.message : String(err)}`)
  }
  const clip = v.clip === undefined ? undefined : num(v.clip, 'clip', 0, 1e6, true)
  const dpSigma = v.dpSigma === undefined ? undefined : num(v.dpSigma, 'dpSigma', 0, 1e3)
  if (dpSigma !== undefined && clip === undefined) throw new InvalidRequestError('dpSigma needs clip: the noise is σ·C')
  if (aggregation === 'secure' && clip === undefined) throw new InvalidRequestError('secure aggregation needs clip: it bounds every update, so the masked sum cannot overflow')
  const rounds = int(get('rounds', TASK_DEFAULTS.rounds), 'rounds', 1, TASK_LIMITS.rounds)
  const epochs = int(get('epochs', TASK_DEFAULTS.epochs), 'epochs', 1, TASK_LIMITS.epochs)
  // Every round alike unless the task asks for a longer first one (docs/benchmarks.md, issue 17:
  // it recovers the rounds a fresh model loses at the start, not the final quality).
  const firstRoundEpochs = int(get('firstRoundEpochs', epochs), 'firstRoundEpochs', epochs, TASK_LIMITS.epochs)
  return {
    task,
    rounds,
    minParticipants: int(get('minParticipants', TASK_DEFAULTS.minParticipants), 'minParticipants', 1, TASK_LIMITS.minParticipants),
    roundTimeoutMs: int(get('roundTimeoutMs', TASK_DEFAULTS.roundTimeoutMs), 'roundTimeoutMs', 100, TASK_LIMITS.roundTimeoutMs),
    epochs,
    firstRoundEpochs,
    batchSize: int(get('batchSize', TASK_DEFAULTS.batchSize), 'batchSize', 1, TASK_LIMITS.batchSize),
    learningRate: num(get('learningRate', TASK_DEFAULTS.learningRate), 'learningRate', 0, 1, true),
    schedule: schedule as Schedule,
    serverLearningRate: num(get('serverLearningRate', TASK_DEFAULTS.serverLearningRate), 'serverLearningRate', 0, TASK_LIMITS.serverLearningRate, true),
    serverMomentum: num(get('serverMomentum', TASK_DEFAULTS.serverMomentum), 'serverMomentum', 0, TASK_LIMITS.serverMomentum),
    aggregation,
    trim: num(get('trim', TASK_DEFAULTS.trim), 'trim', 0, 0.49),
    mu: num(get('mu', 0), 'mu', 0, 1e4),
    ...(clip === undefined ? {} : { clip }),
    ...(dpSigma === undefined ? {} : { dpSigma }),
    patience: int(get('patience', TASK_DEFAULTS.patience), 'patience', 1, TASK_LIMITS.patience),
    seed: int(get('seed', TASK_DEFAULTS.seed), 'seed', 0, 0xffffffff),
    model,
    ...(v.initialModel === undefined ? {} : { initialModel: cidOf(v.initialModel) }),
    firstRound: int(get('firstRound', 1), 'firstRound', 1, rounds)
  }
}
