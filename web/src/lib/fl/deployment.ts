// Reads `GET /api/fl/deployment` (which published models this hospital deployed, and why the others
// are available but not deployed) into the shapes the FL page draws. Validated at the boundary: a
// record missing its CID or state is dropped, unknown fields are ignored.

/** Loss and Dice of one model on this hospital's held-out images. */
export interface FlFigures { loss: number | null, dice: number | null }

/** One publication as this hospital judged it. */
export interface FlDeployedModel {
  cid: string
  task: string
  round: number | null
  /** `deployed`, `available` or `pending`. */
  state: string
  /** Why it is not deployed (`WORSE_ON_LOCAL_VALIDATION`, `PINNED`, …), or null. */
  reason: { code: string, message: string } | null
  /** The local comparison: held-out images used, the minimum, and both models' figures (null when skipped). */
  check: { samples: number, minimum: number, candidate: FlFigures | null, deployed: FlFigures | null } | null
  decidedAt: number | null
}

/** The whole deployment. */
export interface FlDeployment { deployed: string | null, pinned: boolean, minimumValidation: number | null, models: FlDeployedModel[] }

/** Words for each reason code, for people. The code is shown beside them. */
export const REASON_TEXT: Readonly<Record<string, string>> = {
  FETCH_FAILED: 'its weights could not be fetched',
  BAD_WEIGHTS: 'its weights fail the format checks',
  WORSE_ON_LOCAL_VALIDATION: 'worse than the deployed model on this hospital\'s held-out images',
  PINNED: 'an admin pinned another model',
  SUPERSEDED: 'a later model was deployed',
  ROLLED_BACK: 'an admin rolled back from it'
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown): number | null => typeof v === 'number' && Number.isFinite(v) ? v : null
const str = (v: unknown, max = 200): string | null => typeof v === 'string' && v.length > 0 && v.length <= max ? v : null

function figures (v: unknown): FlFigures | null {
  return isObj(v) ? { loss: num(v.loss), dice: num(v.dice) } : null
}

function parseModel (v: unknown): FlDeployedModel | null {
  if (!isObj(v)) return null
  const cid = str(v.cid)
  const state = str(v.state, 32)
  if (cid === null || state === null) return null
  const r = isObj(v.reason) ? v.reason : null
  const code = r === null ? null : str(r.code, 64)
  const c = isObj(v.check) ? v.check : null
  return {
    cid,
    task: str(v.task) ?? '',
    round: num(v.round),
    state,
    reason: r === null || code === null ? null : { code, message: str(r.message, 1024) ?? '' },
    check: c === null ? null : { samples: num(c.samples) ?? 0, minimum: num(c.minimum) ?? 0, candidate: figures(c.candidate), deployed: figures(c.deployed) },
    decidedAt: num(v.decidedAt)
  }
}

/** Parses the deployment answer; anything that is not an object reads as "nothing deployed". */
export function parseFlDeployment (v: unknown): FlDeployment {
  if (!isObj(v)) return { deployed: null, pinned: false, minimumValidation: null, models: [] }
  const deployed = isObj(v.deployed) ? str(v.deployed.cid) : null
  return {
    deployed,
    pinned: v.pinned === true,
    minimumValidation: num(v.minimumValidation),
    models: Array.isArray(v.models) ? v.models.map(parseModel).filter(m => m !== null) : []
  }
}
