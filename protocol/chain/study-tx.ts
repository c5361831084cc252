// The ledger's fields for study keys (protocol/crypto/study-key.ts, docs/design.md §5 "Study keys"): the
// custodian's `study.key` (one study key wrapped for the patient and itself), the data keys an
// `image.add` seals under it, and the study keys a `consent.grant` carries for its grantee.
import { ED25519_PUBLIC_KEY_BYTES, HASH_BYTES, X25519_PUBLIC_KEY_BYTES } from '../constants.ts'
import { BOUND_WRAPPED_KEY_BYTES, WRAPPED_KEY_BYTES } from '../crypto/key-wrap.ts'
import { STUDY_KEY_ID_BYTES, STUDY_SEALED_KEY_BYTES } from '../crypto/study-key.ts'
import { expectArray, expectBytes, expectFields, nullable } from '../schema.ts'

/** Length of a record (study) id: the pseudonymous 16 bytes of tx.ts's PSEUDONYM_BYTES. */
const RECORD_BYTES = 16

/** At most this many recipients of one study key (the patient and the custodian; room for more). */
export const MAX_STUDY_KEY_RECIPIENTS = 8

/** At most this many study keys in one grant or one re-wrap (about 200 bytes each). */
export const MAX_GRANT_STUDY_KEYS = 64

/**
 * `study.key`, signed by the custodian: the study key `kid` of `patient`'s study `record`, wrapped
 * (plain sealed boxes, key-wrap.ts wrapKey) for the patient's box key and the custodian's.
 */
export interface StudyKeyBody { patient: Uint8Array, record: Uint8Array, kid: Uint8Array, keys: Array<{ to: Uint8Array, key: Uint8Array }> }

/** An instance's data keys sealed under its study's key `kid` (study-key.ts sealUnderStudyKey). */
export interface StudySeal { kid: Uint8Array, raw: Uint8Array, result: Uint8Array | null }

/**
 * One study key a consent hands its grantee: study `record` of custodian `custodian`, key `kid`,
 * wrapped for the grantee's hospital and bound to that study (study-key.ts wrapStudyKey).
 */
export interface GrantedStudyKey { record: Uint8Array, custodian: Uint8Array, kid: Uint8Array, key: Uint8Array }

/** A study key a custodian re-wrapped for a recovered patient's new box key (`patient.rewrap`). */
export interface RewrappedStudyKey { record: Uint8Array, kid: Uint8Array, key: Uint8Array }

/** Checks a `study.key` body. */
export function parseStudyKeyBody (v: unknown, p: string): StudyKeyBody {
  const f = expectFields(v, p, ['patient', 'record', 'kid', 'keys'])
  return {
    patient: expectBytes(f.patient, `${p}.patient`, HASH_BYTES),
    record: expectBytes(f.record, `${p}.record`, RECORD_BYTES),
    kid: expectBytes(f.kid, `${p}.kid`, STUDY_KEY_ID_BYTES),
    keys: expectArray(f.keys, `${p}.keys`, MAX_STUDY_KEY_RECIPIENTS, (x, q) => {
      const g = expectFields(x, q, ['to', 'key'])
      return { to: expectBytes(g.to, `${q}.to`, X25519_PUBLIC_KEY_BYTES), key: expectBytes(g.key, `${q}.key`, WRAPPED_KEY_BYTES) }
    })
  }
}

/** Checks an `image.add`'s `study` field. */
export function parseStudySeal (v: unknown, p: string): StudySeal {
  const f = expectFields(v, p, ['kid', 'raw', 'result'])
  return {
    kid: expectBytes(f.kid, `${p}.kid`, STUDY_KEY_ID_BYTES),
    raw: expectBytes(f.raw, `${p}.raw`, STUDY_SEALED_KEY_BYTES),
    result: nullable(f.result, `${p}.result`, (x, q) => expectBytes(x, q, STUDY_SEALED_KEY_BYTES))
  }
}

/**
 * Checks a `consent.grant`'s `studies`. The key's size is left to the ledger rule
 * (CONSENT_KEYS_UNBOUND), as for image keys, so an unbound key is refused with that code.
 */
export function parseGrantedStudyKeys (v: unknown, p: string): GrantedStudyKey[] {
  return expectArray(v, p, MAX_GRANT_STUDY_KEYS, (x, q) => {
    const g = expectFields(x, q, ['record', 'custodian', 'kid', 'key'])
    return {
      record: expectBytes(g.record, `${q}.record`, RECORD_BYTES),
      custodian: expectBytes(g.custodian, `${q}.custodian`, ED25519_PUBLIC_KEY_BYTES),
      kid: expectBytes(g.kid, `${q}.kid`, STUDY_KEY_ID_BYTES),
      key: expectBytes(g.key, `${q}.key`, undefined, 256)
    }
  })
}

/** Checks a `patient.rewrap`'s `studies`. */
export function parseRewrappedStudyKeys (v: unknown, p: string): RewrappedStudyKey[] {
  return expectArray(v, p, MAX_GRANT_STUDY_KEYS, (x, q) => {
    const g = expectFields(x, q, ['record', 'kid', 'key'])
    return {
      record: expectBytes(g.record, `${q}.record`, RECORD_BYTES),
      kid: expectBytes(g.kid, `${q}.kid`, STUDY_KEY_ID_BYTES),
      key: expectBytes(g.key, `${q}.key`, WRAPPED_KEY_BYTES)
    }
  })
}

/** Size of a study key bound for a hospital: the same as a bound image key. */
export const BOUND_STUDY_KEY_BYTES = BOUND_WRAPPED_KEY_BYTES
