// Who may read an image, and on what basis (docs/design.md §5 "Access"): the patient always; a clinician
// at the custodian hospital when hospital policy allows; anyone else only under a live consent
// for the right purpose that covers the image; break-glass where policy allows, logged as such.
// Pure: the caller supplies the consents and the clock.
import { equals } from '../../protocol/bytes.ts'
import type { CID } from 'multiformats/cid'
import type { Purpose, Role } from '../../protocol/chain/tx.ts'
import type { ConsentRecord, ImageRecord } from '../../ledger/queries/queries.ts'

/** The signed-in user asking to read. */
export interface Reader {
  role: Role
  signPub: Uint8Array
  boxPub: Uint8Array
  /** Member key of the user's home hospital (the peer they signed in at). */
  hospital: Uint8Array
  patientId?: Uint8Array
}

/** Hospital policy from config. */
export interface AccessPolicy {
  /** Clinicians of the custodian hospital may read its images without a consent. */
  custodianRead: boolean
  /** Clinicians may open a patient's images in an emergency, with a reason, logged and shown. */
  breakGlass: boolean
}

/** Where the reader's copy of the data keys comes from. */
export type KeySource =
  /** The patient's own key; `wrapped` when a custodian re-wrapped it for a recovered key (issue 16.3). */
  | { from: 'patient', wrapped?: { raw: Uint8Array, result: Uint8Array | null } }
  | { from: 'hospital' }
  /** Keys another custodian released to this hospital in an emergency (issue 16.4), sealed for its box. */
  | { from: 'emergency', wrapped: { raw: Uint8Array, result: Uint8Array | null } }
  | { from: 'consent', consent: ConsentRecord }

/** The outcome of an access check. */
export type AccessDecision =
  | { allowed: true, basis: 'patient' | 'custodian' | 'consent' | 'emergency', keys: KeySource, consent: Uint8Array | null }
  | { allowed: false, code: 'FORBIDDEN' | 'NO_CONSENT', reason: string }

/**
 * The consents that could cover this reader, both for the purpose the reader's role reads under
 * (`purposeOfRole`): one naming the user, one naming the user's hospital.
 */
export interface ReaderConsents { user?: ConsentRecord, hospital?: ConsentRecord }

const PURPOSE_BY_ROLE: Partial<Record<Role, Purpose>> = { clinician: 'treatment', researcher: 'research' }

/** The purpose a role reads images under (clinician: treatment, researcher: research), or undefined for a role that does not read. */
export function purposeOfRole (role: Role): Purpose | undefined {
  return PURPOSE_BY_ROLE[role]
}

/** True when a consent is a live grant for `purpose` whose scope covers `image` at `now`. */
export function consentCovers (consent: ConsentRecord | undefined, image: ImageRecord, purpose: Purpose, now: number): consent is ConsentRecord {
  if (consent === undefined || consent.action !== 'grant') return false
  if (consent.purpose !== purpose || consent.expires === undefined || consent.expires <= now) return false
  const scope = consent.scope
  if (scope === undefined) return false
  if (scope.kind === 'all') return true
  if (scope.kind === 'record') return image.record !== null && equals(scope.record, image.record)
  return scope.images.some((c: CID) => c.equals(image.raw))
}

/** Decides whether `reader` may read `image` now. */
export function decideAccess (input: {
  reader: Reader
  image: ImageRecord
  consents: ReaderConsents
  policy: AccessPolicy
  now: number
  /** The reader declared an emergency for this patient (and policy allows it). */
  emergency: boolean
}): AccessDecision {
  const { reader, image, consents, policy, now } = input
  if (reader.role === 'patient') {
    if (reader.patientId !== undefined && equals(reader.patientId, image.patient)) {
      return { allowed: true, basis: 'patient', keys: { from: 'patient' }, consent: null }
    }
    return { allowed: false, code: 'FORBIDDEN', reason: 'a patient may read only their own images' }
  }
  const purpose = purposeOfRole(reader.role)
  if (purpose === undefined) return { allowed: false, code: 'FORBIDDEN', reason: `the ${reader.role} role does not read images` }
  const atCustodian = equals(image.custodian, reader.hospital)
  if (purpose === 'treatment' && atCustodian && policy.custodianRead) {
    return { allowed: true, basis: 'custodian', keys: { from: 'hospital' }, consent: null }
  }
  if (consentCovers(consents.user, image, purpose, now)) {
    return { allowed: true, basis: 'consent', keys: { from: 'consent', consent: consents.user }, consent: consents.user.tx }
  }
  if (consentCovers(consents.hospital, image, purpose, now)) {
    return { allowed: true, basis: 'consent', keys: { from: 'consent', consent: consents.hospital }, consent: consents.hospital.tx }
  }
  if (purpose === 'treatment' && input.emergency && policy.breakGlass && atCustodian) {
    return { allowed: true, basis: 'emergency', keys: { from: 'hospital' }, consent: null }
  }
  return { allowed: false, code: 'NO_CONSENT', reason: 'no live consent covers this image for this reader' }
}
