// Decoding of the FL history records stored under `<data>/fl` (task headers, rounds, this
// hospital's participation): JSON written by this peer, checked field by field when read back,
// because a disk, a crash or a hand edit can leave anything there. A record that fails a check
// raises CorruptHistoryError (CORRUPT_HISTORY); the history skips it and keeps serving the rest.
import { CID } from 'multiformats/cid'
import { MedichainError } from '../../../protocol/errors.ts'
import {
  expectArray, expectEnum, expectFields, expectFinite, expectString, expectUint, nullable
} from '../../../protocol/schema.ts'
import type { Fields } from '../../../protocol/schema.ts'
import type { ExclusionReason } from '../round/consent.ts'
import type { ParticipationRecord, ParticipationStatus } from '../round/participant.ts'
import { TASK_DEFAULTS, TASK_ID } from '../constants.ts'
import { parseTaskOptions } from './options.ts'
import { STOP_REASONS, TASK_STATUSES } from './record.ts'
import type { Publication, RoundParticipant, RoundRecord, TaskHeader, Validation } from './record.ts'

/** Thrown when a stored FL history record cannot be read back; the history skips it. */
export class CorruptHistoryError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('CORRUPT_HISTORY', message, options)
    this.name = 'CorruptHistoryError'
  }
}

/** Most items of one stored array: far above any real round (MAX_MEMBERS is 256). */
const MAX_ITEMS = 65_536

const HEX_KEY = /^[0-9a-f]{64}$/
const PARTICIPATION_STATUSES: readonly ParticipationStatus[] = ['sent', 'no-data', 'late', 'failed', 'superseded', 'refused', 'undelivered']
const EXCLUSION_REASONS: readonly ExclusionReason[] = ['no-consent', 'revoked', 'expired', 'other-purpose', 'out-of-scope']

/** Decodes stored JSON text; anything else (not JSON, not an object) is corrupt. */
function json (text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new CorruptHistoryError(`${what}: not JSON`, { cause: err })
  }
}

/** Runs the field checks of one record; every SchemaError becomes CORRUPT_HISTORY. */
function checked<T> (what: string, text: string, check: (v: unknown) => T): T {
  const value = json(text, what)
  try {
    return check(value)
  } catch (err) {
    if (err instanceof CorruptHistoryError) throw err
    throw new CorruptHistoryError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

/**
 * A measured figure (loss, Dice, a duration). JSON has no NaN or Infinity: JSON.stringify wrote
 * them as null, as the HTTP API has always shown them, so null reads back as NaN.
 */
export function figure (v: unknown, path: string): number {
  return v === null ? Number.NaN : expectFinite(v, path)
}

/** 64 lower-case hex digits (a public key, a block hash). */
export function hexKey (v: unknown, path: string): string {
  const s = expectString(v, path, 64)
  if (!HEX_KEY.test(s)) throw new CorruptHistoryError(`${path}: expected 64 lower-case hex digits`)
  return s
}

/** A CID, in its canonical string form. */
export function cidString (v: unknown, path: string): string {
  const s = expectString(v, path, 128)
  try {
    return CID.parse(s).toString()
  } catch {
    throw new CorruptHistoryError(`${path}: not a CID`)
  }
}

/** A task id, as the coordinator makes them. */
function taskId (v: unknown, path: string): string {
  const s = expectString(v, path, 64)
  if (!TASK_ID.test(s)) throw new CorruptHistoryError(`${path}: not a task id`)
  return s
}

/** Free text kept for people (an error message): any string, bounded. */
function text (v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length > 4096) throw new CorruptHistoryError(`${path}: expected a string of at most 4096 characters`)
  return v
}

/** A plain JSON object, whatever its keys (checked by the caller). */
function plain (v: unknown, path: string): Fields {
  const keys = typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.keys(v) : []
  return expectFields(v, path, [], keys)
}

function validation (v: unknown, path: string): Validation {
  const f = expectFields(v, path, ['loss', 'dice', 'auroc'])
  return { loss: figure(f.loss, `${path}.loss`), dice: figure(f.dice, `${path}.dice`), auroc: nullable(f.auroc, `${path}.auroc`, expectFinite) }
}

function chosen (v: unknown, path: string): { round: number, validation: Validation } {
  const f = expectFields(v, path, ['round', 'validation'])
  return { round: expectUint(f.round, `${path}.round`), validation: validation(f.validation, `${path}.validation`) }
}

function publication (v: unknown, path: string): Publication {
  const f = expectFields(v, path, ['model', 'tx', 'round', 'metrics', 'participants'])
  const metrics = Object.entries(plain(f.metrics, `${path}.metrics`))
  if (metrics.length > 16) throw new CorruptHistoryError(`${path}.metrics: more than 16 metrics`)
  return {
    model: cidString(f.model, `${path}.model`),
    tx: hexKey(f.tx, `${path}.tx`),
    round: expectUint(f.round, `${path}.round`),
    // fromEntries defines own properties, so a stored "__proto__" key stays a plain key.
    metrics: Object.fromEntries(metrics.map(([k, x]) => [expectString(k, `${path}.metrics key`, 32), expectFinite(x, `${path}.metrics.${k.slice(0, 32)}`)])),
    participants: expectArray(f.participants, `${path}.participants`, MAX_ITEMS, hexKey)
  }
}

/**
 * Stored options, re-checked by parseTaskOptions. Records written before an option existed load
 * with its default, except `schedule` and `firstRoundEpochs`: those tasks trained at a constant
 * rate, and their first round as long as the others, whatever today's defaults are, and the
 * history must say what was done.
 */
function options (v: unknown, path: string): TaskHeader['options'] {
  const f = plain(v, path)
  const { initialModel, ...rest } = f
  try {
    const legacy = { schedule: 'constant', ...(f.firstRoundEpochs === undefined ? { firstRoundEpochs: f.epochs ?? TASK_DEFAULTS.epochs } : {}) }
    const parsed = parseTaskOptions({ ...legacy, ...(initialModel === null ? rest : f) })
    return { ...parsed, initialModel: parsed.initialModel?.toString() ?? null }
  } catch (err) {
    throw new CorruptHistoryError(`${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

/** Reads a stored task header (a TaskView without its rounds) kept under the key of task `id`. */
export function decodeTaskHeader (id: string, stored: string): TaskHeader {
  return checked(`task ${id.slice(0, 64)}`, stored, (v) => {
    // `continues` came later: records written before it load as null (not a continuation).
    const f = expectFields(v, 'task', ['id', 'coordinator', 'status', 'options', 'startedAt', 'endedAt', 'baseline', 'best', 'final', 'stopReason', 'published', 'privacy', 'error'], ['continues'])
    if (f.id !== id || !TASK_ID.test(id)) throw new CorruptHistoryError('task.id: does not match its key')
    const privacy = expectFields(f.privacy, 'task.privacy', ['clip', 'dpSigma'])
    const error = nullable(f.error, 'task.error', (x, p) => {
      const e = expectFields(x, p, ['code', 'message'])
      return { code: expectString(e.code, `${p}.code`, 64), message: text(e.message, `${p}.message`) }
    })
    return {
      id,
      coordinator: hexKey(f.coordinator, 'task.coordinator'),
      continues: f.continues === undefined ? null : nullable(f.continues, 'task.continues', taskId),
      status: expectEnum(f.status, 'task.status', TASK_STATUSES),
      options: options(f.options, 'task.options'),
      startedAt: expectUint(f.startedAt, 'task.startedAt'),
      endedAt: nullable(f.endedAt, 'task.endedAt', expectUint),
      baseline: nullable(f.baseline, 'task.baseline', validation),
      best: nullable(f.best, 'task.best', chosen),
      final: nullable(f.final, 'task.final', chosen),
      stopReason: nullable(f.stopReason, 'task.stopReason', (x, p) => expectEnum(x, p, STOP_REASONS)),
      published: nullable(f.published, 'task.published', publication),
      privacy: { clip: nullable(privacy.clip, 'task.privacy.clip', expectFinite), dpSigma: nullable(privacy.dpSigma, 'task.privacy.dpSigma', expectFinite) },
      error
    }
  })
}

function participant (v: unknown, path: string): RoundParticipant {
  const f = expectFields(v, path, ['hospital', 'samples', 'loss', 'trainMs', 'receivedMs', 'norm'])
  return {
    hospital: hexKey(f.hospital, `${path}.hospital`),
    samples: expectUint(f.samples, `${path}.samples`),
    loss: figure(f.loss, `${path}.loss`),
    trainMs: figure(f.trainMs, `${path}.trainMs`),
    receivedMs: figure(f.receivedMs, `${path}.receivedMs`),
    norm: figure(f.norm, `${path}.norm`)
  }
}

function refusal (v: unknown, path: string): RoundRecord['refused'][number] {
  const f = expectFields(v, path, ['hospital', 'code'])
  return { hospital: nullable(f.hospital, `${path}.hospital`, hexKey), code: expectString(f.code, `${path}.code`, 64) }
}

/** Reads a stored round record of task `id`, round `round` (both from its key). */
export function decodeRoundRecord (id: string, round: number, stored: string): RoundRecord {
  return checked(`round ${round} of task ${id.slice(0, 64)}`, stored, (v) => {
    const f = expectFields(v, 'round', ['round', 'status', 'startedAt', 'model', 'participants', 'refused', 'closedBy', 'validation', 'improved',
      'clipped', 'collectMs', 'aggregateMs', 'validateMs', 'wallMs', 'slowestTrainMs', 'overhead'])
    if (f.round !== round) throw new CorruptHistoryError('round.round: does not match its key')
    if (typeof f.improved !== 'boolean') throw new CorruptHistoryError('round.improved: expected a boolean')
    return {
      round,
      status: expectEnum(f.status, 'round.status', ['aggregated', 'insufficient'] as const),
      startedAt: expectUint(f.startedAt, 'round.startedAt'),
      model: cidString(f.model, 'round.model'),
      participants: expectArray(f.participants, 'round.participants', MAX_ITEMS, participant),
      refused: expectArray(f.refused, 'round.refused', MAX_ITEMS, refusal),
      closedBy: expectEnum(f.closedBy, 'round.closedBy', ['deadline', 'all-answered', 'stopped'] as const),
      validation: nullable(f.validation, 'round.validation', validation),
      improved: f.improved,
      clipped: expectUint(f.clipped, 'round.clipped'),
      collectMs: figure(f.collectMs, 'round.collectMs'),
      aggregateMs: figure(f.aggregateMs, 'round.aggregateMs'),
      validateMs: figure(f.validateMs, 'round.validateMs'),
      wallMs: figure(f.wallMs, 'round.wallMs'),
      slowestTrainMs: nullable(f.slowestTrainMs, 'round.slowestTrainMs', expectFinite),
      overhead: nullable(f.overhead, 'round.overhead', expectFinite)
    }
  })
}

function reasons (v: unknown, path: string): Record<ExclusionReason, number> {
  const f: Fields = expectFields(v, path, EXCLUSION_REASONS)
  const out = { 'no-consent': 0, revoked: 0, expired: 0, 'other-purpose': 0, 'out-of-scope': 0 }
  for (const r of EXCLUSION_REASONS) out[r] = expectUint(f[r], `${path}.${r}`)
  return out
}

/** Reads a stored record of this hospital's part in one round. */
export function decodeParticipation (stored: string): ParticipationRecord {
  return checked('participation record', stored, (v) => {
    const f = expectFields(v, 'participation', ['task', 'round', 'status', 'total', 'kept', 'excluded', 'reasons', 'loss', 'trainMs'], ['code'])
    const task = taskId(f.task, 'participation.task')
    return {
      task,
      round: expectUint(f.round, 'participation.round'),
      status: expectEnum(f.status, 'participation.status', PARTICIPATION_STATUSES),
      total: expectUint(f.total, 'participation.total'),
      kept: expectUint(f.kept, 'participation.kept'),
      excluded: expectUint(f.excluded, 'participation.excluded'),
      reasons: reasons(f.reasons, 'participation.reasons'),
      loss: nullable(f.loss, 'participation.loss', expectFinite),
      trainMs: nullable(f.trainMs, 'participation.trainMs', expectFinite),
      ...(f.code === undefined ? {} : { code: expectString(f.code, 'participation.code', 64) })
    }
  })
}
