// The hot-loader's bookkeeping, without tfjs or the network: the record of every publication
// considered, which one is deployed, the pin and the roll-back trail, read from and written to the
// FL store as one JSON record (deploy/record.ts). deploy/hotload.ts decides; this file remembers.
import { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import type { Clock } from '../../../ledger/types.ts'
import { codeOf } from '../../p2p/errors.ts'
import { DEPLOY_MODELS_KEPT, DEPLOY_TRAIL_KEPT } from '../constants.ts'
import { decodeDeployment, publicationOf, recordOf } from './record.ts'
import type { DeploymentRecord, HoldCode, LocalCheck, ModelRecord } from './record.ts'
import { comparePositions } from './publications.ts'
import type { PublishedModel } from './publications.ts'

/** What `GET /api/fl/deployment` shows: the deployed model, the pin, and every publication newest first. */
export interface DeploymentView {
  deployed: ModelRecord | null
  pinned: boolean
  /** Held-out images needed before a candidate is compared with the deployed model. */
  minimumValidation: number
  models: ModelRecord[]
}

/** What the state needs. */
export interface DeploymentStateInit {
  minimum: number
  clock: Clock
  store?: { deployment(): string | null, saveDeployment(json: string): Promise<void> }
  logger: Logger
}

/** Why a deployed model stopped being deployed, by the code it is then held with. */
const DISPLACED: Partial<Record<HoldCode, string>> = {
  SUPERSEDED: 'a model later in ledger order was deployed',
  PINNED: 'an admin pinned another model',
  ROLLED_BACK: 'an admin rolled back to an earlier model'
}

/** Creates the bookkeeping; `load()` reads the stored record. */
export function createDeploymentState (init: DeploymentStateInit) {
  const { clock, logger: log } = init
  const records = new Map<string, ModelRecord>()
  let deployed: string | null = null
  let pinned = false
  let trail: string[] = []

  const ordered = (): ModelRecord[] => [...records.values()].sort((a, b) => comparePositions(a.position, b.position))

  /** Drops the oldest records beyond DEPLOY_MODELS_KEPT, never the deployed one or one on the trail. */
  const trim = (): void => {
    let excess = records.size - DEPLOY_MODELS_KEPT
    for (const r of ordered()) {
      if (excess <= 0) return
      if (r.cid === deployed || trail.includes(r.cid)) continue
      records.delete(r.cid)
      excess--
    }
  }

  const state = {
    /** Reads the stored record; an unreadable one is logged and the deployment starts afresh. */
    load (): void {
      records.clear()
      deployed = null
      pinned = false
      trail = []
      const text = init.store?.deployment() ?? null
      if (text === null) return
      try {
        const stored = decodeDeployment(text)
        for (const r of stored.models) records.set(r.cid, r)
        deployed = stored.deployed !== null && records.has(stored.deployed) ? stored.deployed : null
        pinned = stored.pinned && deployed !== null
        trail = stored.trail.filter(c => records.has(c))
      } catch (err) {
        log.warn({ code: codeOf(err) }, 'the stored model deployment is unreadable; starting afresh')
      }
    },
    /** Writes the record; resolves once it is durable. */
    async save (): Promise<void> {
      trim()
      const record: DeploymentRecord = { deployed, pinned, trail, models: ordered() }
      await init.store?.saveDeployment(JSON.stringify(record))
    },
    get: (cid: string): ModelRecord | undefined => records.get(cid),
    /** The record of `p` when it still needs a decision (new, or pending when the peer stopped); else null. */
    note (p: PublishedModel): ModelRecord | null {
      const cid = p.cid.toString()
      const known = records.get(cid)
      if (known !== undefined) return known.state === 'pending' ? known : null
      const r = recordOf(p)
      records.set(cid, r)
      return r
    },
    deployed: (): ModelRecord | null => deployed === null ? null : records.get(deployed) ?? null,
    pinned: () => pinned,
    setPinned (on: boolean): void { pinned = on },
    /** Marks `r` deployed; the model it replaces is held with `displaced`. */
    deploy (r: ModelRecord, displaced: HoldCode, check: LocalCheck | null): void {
      const before = state.deployed()
      if (before !== null && before !== r) state.hold(before, displaced, DISPLACED[displaced] ?? displaced, before.check)
      Object.assign(r, { state: 'deployed', reason: null, check, decidedAt: clock() })
      deployed = r.cid
      if (trail.at(-1) !== r.cid) trail.push(r.cid)
      trail = trail.slice(-DEPLOY_TRAIL_KEPT)
    },
    /** Marks `r` available, not deployed, with a reason. */
    hold (r: ModelRecord, code: HoldCode, message: string, check: LocalCheck | null): void {
      Object.assign(r, { state: 'available', reason: { code, message }, check, decidedAt: clock() })
      if (deployed === r.cid) deployed = null
    },
    /** Forgets the deployed model (its weights could not be restored). */
    undeploy (): void {
      deployed = null
      pinned = false
    },
    /** The model deployed before the current one, or null. */
    earlier (): ModelRecord | null {
      const i = deployed === null ? trail.length : trail.lastIndexOf(deployed)
      const c = trail[i - 1]
      return c === undefined ? null : records.get(c) ?? null
    },
    /** Removes the current model from the end of the trail (a roll-back steps back past it). */
    dropCurrentFromTrail (): void {
      if (deployed !== null && trail.at(-1) === deployed) trail.pop()
    },
    /**
     * After a pin is lifted: the newest publication held back only by the pin, when it comes after
     * the deployed model, goes back to pending and is returned for a decision; every other one the
     * pin held is superseded by it (or by the deployed model).
     */
    releasePinned (): ModelRecord | null {
      const current = state.deployed()
      const held = ordered().filter(r => r.reason?.code === 'PINNED')
      const newest = held.at(-1)
      let again: ModelRecord | null = null
      if (newest !== undefined && (current === null || comparePositions(newest.position, current.position) > 0)) {
        Object.assign(newest, { state: 'pending', reason: null, check: null, decidedAt: null })
        again = newest
      }
      for (const r of held) if (r !== again) state.hold(r, 'SUPERSEDED', 'superseded when the pin was lifted', r.check)
      return again
    },
    view: (): DeploymentView => ({ deployed: state.deployed(), pinned, minimumValidation: init.minimum, models: ordered().reverse() }),
    cidOf: (r: ModelRecord): CID => CID.parse(r.cid),
    publicationOf
  }
  return state
}
