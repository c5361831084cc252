// Study keys (docs/design.md §5 "Study keys"): one random 32-byte key per study (a DICOM study's
// record) and custodian, under which the custodian also seals each instance's data keys. A consent
// naming a study then carries that one key, bound to the study, instead of one key per instance,
// so its size does not grow with the study (issue 13 item 3: a CT study is 300–2000 instances).
import nacl from 'tweetnacl'
import { concat, equals } from '../bytes.ts'
import { MedichainError } from '../errors.ts'
import { sha256 } from './hash.ts'
import { DATA_KEY_BYTES, unwrapBound, wrapBound } from './key-wrap.ts'
import { secureRandomBytes } from './user-keys.ts'
import type { RandomBytes } from './user-keys.ts'

/** Length of a study key's id: random, chosen by the custodian, never derived from the key. */
export const STUDY_KEY_ID_BYTES = 16

/** Size of a data key sealed under a study key: nonce (24), binding digest (32), key (32), MAC (16). */
export const STUDY_SEALED_KEY_BYTES = nacl.secretbox.nonceLength + 32 + DATA_KEY_BYTES + nacl.secretbox.overheadLength

/** What a study key box is bound to: the patient, the study, its custodian and the key's id. */
export interface StudyKeyBinding { patient: Uint8Array, record: Uint8Array, custodian: Uint8Array, kid: Uint8Array }

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/**
 * The digest a study key box carries (key-wrap.ts wrapBound): the box opens as this study's key
 * only, so a box made for another study, patient or custodian, or a bound image key (whose
 * digest has another prefix), is refused by the peer before it opens anything.
 */
export function studyKeyBinding (b: StudyKeyBinding): Uint8Array {
  return sha256(concat(text('medichain/bound-key/v1/study'), b.patient, b.record, b.custodian, b.kid))
}

/** The digest a data key sealed under a study key carries: its part and image (raw CID bytes). */
function sealBinding (part: 'raw' | 'result', imageCid: Uint8Array): Uint8Array {
  return sha256(concat(text(`medichain/study-sealed-key/v1/${part}`), imageCid))
}

function badKey (message: string): MedichainError {
  return new MedichainError('BAD_KEY', message)
}

/** A fresh study key and its id. */
export function newStudyKey (random: RandomBytes = secureRandomBytes): { kid: Uint8Array, key: Uint8Array } {
  return { kid: random(STUDY_KEY_ID_BYTES), key: random(DATA_KEY_BYTES) }
}

/**
 * Seals one part's data key under the study key (XSalsa20-Poly1305, a random nonce in front),
 * together with the part and image it opens: the custodian does this at ingest, beside the key
 * it wraps for the patient and itself.
 */
export function sealUnderStudyKey (dataKey: Uint8Array, part: 'raw' | 'result', imageCid: Uint8Array, studyKey: Uint8Array, random: RandomBytes = secureRandomBytes): Uint8Array {
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== DATA_KEY_BYTES) throw badKey(`expected a ${DATA_KEY_BYTES}-byte data key`)
  if (!(studyKey instanceof Uint8Array) || studyKey.length !== DATA_KEY_BYTES) throw badKey(`expected a ${DATA_KEY_BYTES}-byte study key`)
  const nonce = random(nacl.secretbox.nonceLength)
  const payload = concat(sealBinding(part, imageCid), dataKey)
  try {
    return concat(nonce, nacl.secretbox(payload, nonce, studyKey))
  } finally {
    payload.fill(0)
  }
}

/**
 * Opens a data key sealed by `sealUnderStudyKey`. Throws BAD_WRAPPED_KEY, without saying why, for
 * a wrong size, a wrong study key, altered bytes, or a key bound to another part or image.
 */
export function openUnderStudyKey (sealed: Uint8Array, part: 'raw' | 'result', imageCid: Uint8Array, studyKey: Uint8Array): Uint8Array {
  const fail = (): MedichainError => new MedichainError('BAD_WRAPPED_KEY', 'cannot open the data key sealed under the study key')
  if (!(sealed instanceof Uint8Array) || sealed.length !== STUDY_SEALED_KEY_BYTES) throw fail()
  if (!(studyKey instanceof Uint8Array) || studyKey.length !== DATA_KEY_BYTES) throw fail()
  const payload = nacl.secretbox.open(sealed.subarray(nacl.secretbox.nonceLength), sealed.subarray(0, nacl.secretbox.nonceLength), studyKey)
  if (payload === null) throw fail()
  try {
    if (!equals(payload.subarray(0, 32), sealBinding(part, imageCid))) throw fail()
    return payload.slice(32)
  } finally {
    payload.fill(0)
  }
}

/** Wraps a study key for a hospital's box key, bound to its study (what a consent carries). */
export function wrapStudyKey (studyKey: Uint8Array, binding: StudyKeyBinding, recipientBoxPub: Uint8Array, random: RandomBytes = secureRandomBytes): Uint8Array {
  return wrapBound(studyKey, studyKeyBinding(binding), recipientBoxPub, random)
}

/** Opens a study key wrapped by `wrapStudyKey`; BAD_WRAPPED_KEY unless bound to this very study. */
export function unwrapStudyKey (wrapped: Uint8Array, binding: StudyKeyBinding, recipientBoxSecret: Uint8Array): Uint8Array {
  return unwrapBound(wrapped, studyKeyBinding(binding), recipientBoxSecret)
}
