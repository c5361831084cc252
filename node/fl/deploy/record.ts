// What this hospital decided about each published model, kept in the FL store (`<data>/fl`, key
// `d:deployment`) so that a restart deploys the same model and an admin's pin holds: which model
// is deployed, whether an admin pinned it, the models deployed before (for roll-back), and per
// publication its state and, when it is not deployed, the reason. Checked field by field when read.
import { CID } from 'multiformats/cid'
import {
  expectArray, expectEnum, expectFields, expectString, expectUint, nullable
} from '../../../protocol/schema.ts'
import { cidString, CorruptHistoryError, figure, hexKey } from '../task/history-codec.ts'
import type { LedgerPosition, PublishedModel } from './publications.ts'

/** A publication's state here: being fetched and checked, in the analyser slot, or available but not deployed. */
export const DEPLOY_STATES = ['pending', 'deployed', 'available'] as const
export type DeployState = typeof DEPLOY_STATES[number]

/**
 * Why a publication is available but not deployed. FETCH_FAILED: its weights could not be fetched;
 * BAD_WEIGHTS: they fail the format checks (node/ai/model/weights-format.ts); WORSE_ON_LOCAL_VALIDATION:
 * higher loss than the deployed model on this hospital's held-out images; PINNED: an admin pinned
 * another model; SUPERSEDED: a model later in ledger order was deployed, or this one comes before
 * the deployed one; ROLLED_BACK: an admin rolled back from it.
 */
export const HOLD_CODES = ['FETCH_FAILED', 'BAD_WEIGHTS', 'WORSE_ON_LOCAL_VALIDATION', 'PINNED', 'SUPERSEDED', 'ROLLED_BACK'] as const
export type HoldCode = typeof HOLD_CODES[number]

/** Loss and hard Dice of one model on this hospital's held-out set (node/ai/train/train.ts evaluate). */
export interface Figures { loss: number, dice: number }

/**
 * The local check of a candidate: on `samples` held-out images (`minimum` are needed for a
 * comparison). `candidate` and `deployed` are null when it was not run: too few images, or no
 * model deployed to compare with.
 */
export interface LocalCheck { samples: number, minimum: number, candidate: Figures | null, deployed: Figures | null }

/** One publication as this hospital judged it. */
export interface ModelRecord {
  cid: string
  task: string
  round: number
  publisher: string
  /** The publisher's own `tx.time`: shown, never used to order. */
  time: number
  position: LedgerPosition
  state: DeployState
  reason: { code: HoldCode, message: string } | null
  check: LocalCheck | null
  /** When this hospital last decided about it (ms since the epoch), or null while pending. */
  decidedAt: number | null
}

/** The whole deployment state. */
export interface DeploymentRecord {
  /** CID of the model in the analyser slot, or null. */
  deployed: string | null
  /** True while an admin's pin holds the deployed model against newer publications. */
  pinned: boolean
  /** Models deployed here, oldest first, the current one last: roll-back steps back along it. */
  trail: string[]
  /** Every publication considered, oldest first in ledger order. */
  models: ModelRecord[]
}

/** A fresh record of a publication, pending. */
export function recordOf (p: PublishedModel): ModelRecord {
  return {
    cid: p.cid.toString(), task: p.task, round: p.round, publisher: p.publisher, time: p.time, position: p.position,
    state: 'pending', reason: null, check: null, decidedAt: null
  }
}

/** The PublishedModel a record describes. */
export function publicationOf (r: ModelRecord): PublishedModel {
  return { cid: CID.parse(r.cid), task: r.task, round: r.round, time: r.time, publisher: r.publisher, position: r.position }
}

const MAX_ITEMS = 65_536

function figures (v: unknown, p: string): Figures {
  const f = expectFields(v, p, ['loss', 'dice'])
  return { loss: figure(f.loss, `${p}.loss`), dice: figure(f.dice, `${p}.dice`) }
}

function position (v: unknown, p: string): LedgerPosition {
  const f = expectFields(v, p, ['order', 'author', 'height', 'index'])
  return { order: expectUint(f.order, `${p}.order`), author: hexKey(f.author, `${p}.author`), height: expectUint(f.height, `${p}.height`), index: expectUint(f.index, `${p}.index`) }
}

function modelRecord (v: unknown, p: string): ModelRecord {
  const f = expectFields(v, p, ['cid', 'task', 'round', 'publisher', 'time', 'position', 'state', 'reason', 'check', 'decidedAt'])
  return {
    cid: cidString(f.cid, `${p}.cid`),
    task: expectString(f.task, `${p}.task`, 64),
    round: expectUint(f.round, `${p}.round`),
    publisher: hexKey(f.publisher, `${p}.publisher`),
    time: expectUint(f.time, `${p}.time`),
    position: position(f.position, `${p}.position`),
    state: expectEnum(f.state, `${p}.state`, DEPLOY_STATES),
    reason: nullable(f.reason, `${p}.reason`, (x, q) => {
      const r = expectFields(x, q, ['code', 'message'])
      return { code: expectEnum(r.code, `${q}.code`, HOLD_CODES), message: expectString(r.message, `${q}.message`, 1024) }
    }),
    check: nullable(f.check, `${p}.check`, (x, q) => {
      const c = expectFields(x, q, ['samples', 'minimum', 'candidate', 'deployed'])
      return {
        samples: expectUint(c.samples, `${q}.samples`),
        minimum: expectUint(c.minimum, `${q}.minimum`),
        candidate: nullable(c.candidate, `${q}.candidate`, figures),
        deployed: nullable(c.deployed, `${q}.deployed`, figures)
      }
    }),
    decidedAt: nullable(f.decidedAt, `${p}.decidedAt`, (x, q) => expectUint(x, q))
  }
}

/** Reads a stored deployment record back; CORRUPT_HISTORY when any field fails its check. */
export function decodeDeployment (text: string): DeploymentRecord {
  try {
    const f = expectFields(JSON.parse(text), 'deployment', ['deployed', 'pinned', 'trail', 'models'])
    if (typeof f.pinned !== 'boolean') throw new CorruptHistoryError('deployment.pinned: expected a boolean')
    return {
      deployed: nullable(f.deployed, 'deployment.deployed', cidString),
      pinned: f.pinned,
      trail: expectArray(f.trail, 'deployment.trail', MAX_ITEMS, cidString),
      models: expectArray(f.models, 'deployment.models', MAX_ITEMS, modelRecord)
    }
  } catch (err) {
    if (err instanceof CorruptHistoryError) throw err
    throw new CorruptHistoryError(`deployment: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}
