// The `fl` block of the config file: how much federated-learning history a peer keeps (the tasks
// it coordinated and this hospital's round participations). Kept beside index.ts, like the
// `records` block, so that file stays one concept.
import { MedichainError } from '../../protocol/errors.ts'
import { DEPLOY_MIN_VALIDATION, MAX_TASKS_KEPT, MAX_TASKS_KEPT_LIMIT, PARTICIPATION_KEPT } from '../fl/constants.ts'

/** Bounds of the FL history (createFederation's `keepTasks` and `keepParticipation`). */
export interface FlConfig {
  /** Tasks whose history is kept (default 64); beyond it the oldest finished ones are dropped. */
  keepTasks: number
  /** This hospital's round participations kept (default 256); the oldest are dropped. */
  keepParticipation: number
  /**
   * Held-out labelled images needed before a published model is compared with the deployed one
   * (default 20, node/fl/constants.ts DEPLOY_MIN_VALIDATION says why); below it the comparison is skipped.
   */
  deployMinValidation: number
}

/** Defaults of the fl block: the ones createFederation uses when given none (node/fl/constants.ts). */
export const FL_DEFAULTS: Readonly<FlConfig> = { keepTasks: MAX_TASKS_KEPT, keepParticipation: PARTICIPATION_KEPT, deployMinValidation: DEPLOY_MIN_VALIDATION }

/** Largest `deployMinValidation` accepted: every held-out image is evaluated twice per candidate model. */
export const DEPLOY_MIN_VALIDATION_LIMIT = 100_000

/** Largest `keepTasks` accepted: every kept task is held in memory and loaded at start. */
export const KEEP_TASKS_LIMIT = MAX_TASKS_KEPT_LIMIT

/**
 * Largest `keepParticipation` accepted. node/fl/task/history.ts checks both bounds against
 * MAX_TASKS_KEPT_LIMIT, so the config file accepts exactly what createFederation accepts; a
 * participation record is a few hundred bytes, so 10,000 of them stay small in memory.
 */
export const KEEP_PARTICIPATION_LIMIT = MAX_TASKS_KEPT_LIMIT

const KEYS: ReadonlyArray<keyof FlConfig> = ['keepTasks', 'keepParticipation', 'deployMinValidation']

/**
 * Checks a config file's `fl` block; absent fields take the defaults. Unknown keys are refused
 * (they are usually typos), own keys only, so `toString` or `__proto__` is refused too.
 */
export function parseFlConfig (v: unknown, source: string): FlConfig {
  const bad = (message: string): MedichainError => new MedichainError('INVALID_CONFIG', `${source}${message}`)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(': expected an object')
  const o = v as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if (!(KEYS as readonly string[]).includes(key)) throw bad(`.${key.slice(0, 64)}: unknown setting (expected one of ${KEYS.join(', ')})`)
  }
  const out: FlConfig = { ...FL_DEFAULTS }
  const int = (key: keyof FlConfig, max: number): void => {
    const x = o[key]
    if (x === undefined) return
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 1 || x > max) throw bad(`.${key}: expected an integer from 1 to ${max}, got ${JSON.stringify(x).slice(0, 64)}`)
    out[key] = x
  }
  int('keepTasks', KEEP_TASKS_LIMIT)
  int('keepParticipation', KEEP_PARTICIPATION_LIMIT)
  int('deployMinValidation', DEPLOY_MIN_VALIDATION_LIMIT)
  return out
}
