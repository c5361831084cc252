// "Training uses only images whose patient has a live `training` consent" (docs/design.md §6): the filter
// between a hospital's own labelled images and local training. Consents are read from the ledger
// at the start of every round, so a revoke stops the next round's use of the patient's images.
// An excluded image is never loaded: items may carry a `load()` that only kept items ever call.
import type { CID } from 'multiformats/cid'
import { equals, toHex } from '../../../protocol/bytes.ts'
import type { ConsentRecord } from '../../../ledger/queries/queries.ts'
import type { TrainSample } from '../../ai/train/train.ts'

/** Where an item's image comes from: already decoded, or loaded on demand (only if consented). */
export type TrainingSource = TrainSample | { load: () => Promise<TrainSample> }

/** One labelled image of this hospital, with what the consent check needs. */
export type TrainingItem = TrainingSource & {
  /** Pseudonymous patient id (SHA-256 of the patient's key), as on the ledger. */
  patient: Uint8Array
  /** Raw CID of the image on the ledger; needed when a consent lists images. */
  cid?: CID
  /** Record id of the image; needed when a consent covers one record. */
  record?: Uint8Array
}

/** The hospital's training set, provided by the peer (its own images with ground-truth masks). */
export type TrainingSet = () => Promise<TrainingItem[]>

/**
 * Why an image was left out of training. Consents are held per purpose, so the filter only ever
 * looks at the patient's `training` record for this hospital; 'other-purpose' is left for a record
 * that is not a training consent to a hospital (a `kind: 'user'` grant naming the hospital's key,
 * or a caller handing `trainingConsentStatus` a record of another purpose).
 */
export type ExclusionReason = 'no-consent' | 'revoked' | 'expired' | 'other-purpose' | 'out-of-scope'

/** The outcome of filtering: what may be used, and counts of what may not (never the items). */
export interface ConsentFilterResult {
  kept: TrainingItem[]
  total: number
  excluded: number
  reasons: Record<ExclusionReason, number>
}

/** What the filter reads. */
export interface ConsentFilterContext {
  /** The ledger's consents of one patient (ledger.queries.consentsOf). */
  consentsOf: (patient: Uint8Array) => Promise<ConsentRecord[]>
  /** This hospital's member key: the grantee a training consent must name. */
  hospital: Uint8Array
  now: number
}

/**
 * Whether the patient's training consent to this hospital lets `item` be used for training at
 * `now`: a grant (the latest training record by the patient's seq, so not revoked), of kind
 * 'hospital', for the purpose 'training', not expired, whose scope covers the image. Returns
 * 'live' or the reason it does not.
 */
export function trainingConsentStatus (consent: ConsentRecord | undefined, item: Pick<TrainingItem, 'cid' | 'record'>, now: number): 'live' | ExclusionReason {
  if (consent === undefined) return 'no-consent'
  if (consent.action !== 'grant') return 'revoked'
  if (consent.purpose !== 'training' || consent.kind !== 'hospital') return 'other-purpose'
  if (consent.expires === undefined || consent.expires <= now) return 'expired'
  const scope = consent.scope
  if (scope === undefined) return 'out-of-scope'
  if (scope.kind === 'all') return 'live'
  if (scope.kind === 'record') return item.record !== undefined && equals(item.record, scope.record) ? 'live' : 'out-of-scope'
  const cid = item.cid
  return cid !== undefined && scope.images.some(c => c.equals(cid)) ? 'live' : 'out-of-scope'
}

/** Keeps the items whose patient holds a live training consent for this hospital; counts the rest ('no-consent' when the patient never named this hospital for training). */
export async function filterByTrainingConsent (items: readonly TrainingItem[], ctx: ConsentFilterContext): Promise<ConsentFilterResult> {
  const reasons: Record<ExclusionReason, number> = { 'no-consent': 0, revoked: 0, expired: 0, 'other-purpose': 0, 'out-of-scope': 0 }
  const byPatient = new Map<string, ConsentRecord | undefined>()
  const kept: TrainingItem[] = []
  for (const item of items) {
    const key = toHex(item.patient)
    if (!byPatient.has(key)) {
      const consents = await ctx.consentsOf(item.patient)
      // The training record only: a treatment or research consent to the hospital neither helps nor hides it.
      byPatient.set(key, consents.find(c => c.purpose === 'training' && equals(c.grantee, ctx.hospital)))
    }
    const status = trainingConsentStatus(byPatient.get(key), item, ctx.now)
    if (status === 'live') kept.push(item)
    else reasons[status]++
  }
  return { kept, total: items.length, excluded: items.length - kept.length, reasons }
}

/** The decoded sample of a kept item (loading it if it is loaded on demand). */
export async function sampleOf (item: TrainingItem): Promise<TrainSample> {
  if ('load' in item) return await item.load()
  return { image: item.image, mask: item.mask }
}
