// What the patient's browser signs (docs/design.md §5): a consent grant that re-wraps the patient's image
// keys for the grantee's hospital peer (never for a user: the peer re-wraps for its user at read
// time, after checking the consent is live), a revoke, and the proof of possession that registers a user's keys. All of
// it runs client-side with @noble/curves; the patient's secrets never leave the browser.
import type { CID } from 'multiformats/cid'
import { equals, toHex } from '../bytes.ts'
import { nobleIdentity } from '../crypto/ed25519.ts'
import { MedichainError, TooLargeError } from '../errors.ts'
import { unwrapKey, wrapBoundKey } from '../crypto/key-wrap.ts'
import { wrapStudyKey } from '../crypto/study-key.ts'
import type { GrantedStudyKey } from './study-tx.ts'
import { accountPopBytes, encodeTx, parseBody, signTx } from './tx.ts'
import type { ConsentScope, GrantedKeys, Purpose, Role, TxBodies, TxOf } from './tx.ts'
import { hospitalBoxPublicKey, secureRandomBytes } from '../crypto/user-keys.ts'
import type { RandomBytes, UserKeys } from '../crypto/user-keys.ts'

/** One of the patient's images: its raw CID and its data keys as wrapped for the patient. */
export interface PatientImageKeys {
  cid: CID
  /** The raw image's data key, wrapped for the patient's box key (from `image.add`). */
  raw: Uint8Array
  /** The result image's data key, wrapped likewise, or null when there is no result. */
  result: Uint8Array | null
}

/**
 * One of the patient's study keys (a custodian's `study.key`): which study, whose, the key id, and
 * the key as wrapped for the patient's box key. `patient` is the study's patient id (the signer's
 * own, or one its key took over by assisted recovery).
 */
export interface PatientStudyKey { patient: Uint8Array, record: Uint8Array, custodian: Uint8Array, kid: Uint8Array, key: Uint8Array }

/** Everything a consent grant needs. */
export interface ConsentGrantInput {
  ledgerId: Uint8Array
  patient: Pick<UserKeys, 'signSeed' | 'boxSecret'>
  /** The grantee's Ed25519 key: a user's account key, or a hospital's member key. */
  grantee: Uint8Array
  kind: 'user' | 'hospital'
  /**
   * The member key of the hospital whose peer receives the keys. Required for a user (their home
   * hospital, from their `account.register`); for a hospital it is the grantee itself and, if
   * given, must match. The keys are wrapped for this hospital's X25519 key (user-keys.ts
   * `hospitalBoxPublicKey`), bound to their image, so only that peer opens them, and it hands a
   * user their copy only while the consent is live.
   */
  granteeHospital?: Uint8Array
  purpose: Purpose
  scope: ConsentScope
  /** Expiry, ms since the epoch; must be after `time`. */
  expires: number
  images: PatientImageKeys[]
  /**
   * Study keys to hand over (docs/design.md §5 "Study keys"): each opens every instance of its
   * study sealed under it, so a study of any size costs one entry. Only for a scope of all images
   * or of that study; the images they open need no entry in `images`.
   */
  studies?: PatientStudyKey[]
  /** The patient's next transaction sequence number (consents are last-writer-wins by it). */
  seq: number
  time: number
  /** Ephemeral keys for the re-wrapping; tests fix it. */
  random?: RandomBytes
  /** A research consent may name one project (its `research.project` id); absent: research in general. */
  project?: Uint8Array
}

/** Everything a consent revoke needs. */
export interface ConsentRevokeInput {
  ledgerId: Uint8Array
  patient: Pick<UserKeys, 'signSeed'>
  grantee: Uint8Array
  /** The one purpose to revoke; absent, the revoke ends the consents to `grantee` for every purpose. */
  purpose?: Purpose
  /**
   * "Revoke and re-key": also ask every custodian of the patient's images to re-encrypt them under
   * new keys and every member to delete the old ciphertext, so a key the grantee may have kept
   * opens nothing any more. Other grantees then need a new grant for the new images.
   */
  rekey?: boolean
  seq: number
  time: number
}

/**
 * Most images one grant can carry. Each image costs about 290 bytes (its CID and two keys bound
 * for a hospital, 112 bytes each), so 224 images with results stay under MAX_TX_BYTES (64 KiB);
 * tx.ts's schema cap of 256 key entries is looser.
 */
export const MAX_CONSENT_IMAGES = 224

function badConsent (message: string): MedichainError {
  return new MedichainError('BAD_CONSENT', message)
}

/** The X25519 key to wrap for: that of the grantee's hospital (the grantee itself for a hospital). */
function granteeBoxKey (input: ConsentGrantInput): Uint8Array {
  if (input.kind === 'user') {
    if (input.granteeHospital === undefined) throw badConsent('a consent to a user needs the grantee\'s hospital')
    return hospitalBoxPublicKey(input.granteeHospital)
  }
  if (input.granteeHospital !== undefined && !equals(input.granteeHospital, input.grantee)) {
    throw badConsent('granteeHospital of a consent to a hospital must be that hospital')
  }
  return hospitalBoxPublicKey(input.grantee)
}

/** Checks that the images are distinct and, for a scope of listed images, inside that list. */
function checkImages (images: PatientImageKeys[], scope: ConsentScope): void {
  if (images.length > MAX_CONSENT_IMAGES) throw new TooLargeError(`a grant may carry keys for at most ${MAX_CONSENT_IMAGES} images, got ${images.length}`)
  const seen = new Set<string>()
  for (const image of images) {
    const id = image.cid.toString()
    if (seen.has(id)) throw badConsent(`image ${id} is listed twice`)
    seen.add(id)
  }
  if (scope.kind !== 'images') return
  const inScope = new Set(scope.images.map(c => c.toString()))
  for (const id of seen) {
    // A key outside the scope would hand over an image the consent does not cover.
    if (!inScope.has(id)) throw badConsent(`image ${id} has keys but is outside the consent's scope`)
  }
}

/**
 * Re-wraps one data key for the grantee's hospital, bound to its image and part (key-wrap.ts
 * wrapBoundKey): the hospital's peer re-wraps it for its users after the consent check, and must
 * be able to tell that a key really is this image's and not another one wrapped for the hospital.
 * The ledger refuses a consent carrying any other kind of key (CONSENT_KEYS_UNBOUND).
 */
function rewrap (wrapped: Uint8Array, patientBoxSecret: Uint8Array, hospitalBoxPub: Uint8Array, random: RandomBytes, bind: { part: 'raw' | 'result', cid: CID }): Uint8Array {
  const dataKey = unwrapKey(wrapped, patientBoxSecret)
  try {
    return wrapBoundKey(dataKey, bind.part, bind.cid.bytes, hospitalBoxPub, random)
  } finally {
    dataKey.fill(0)
  }
}

/**
 * Unwraps each study key with the patient's box secret and re-wraps it for the grantee's hospital,
 * bound to its study (study-key.ts wrapStudyKey). BAD_CONSENT for a study key a scope of listed
 * images or of another study does not cover, or one listed twice.
 */
function grantedStudies (studies: PatientStudyKey[], scope: ConsentScope, patientBoxSecret: Uint8Array, hospitalBoxPub: Uint8Array, random: RandomBytes): GrantedStudyKey[] {
  if (studies.length > 0 && scope.kind === 'images') throw badConsent('a consent to listed images carries no study key')
  const seen = new Set<string>()
  return studies.map(s => {
    if (scope.kind === 'record' && !equals(scope.record, s.record)) throw badConsent('a study key outside the study the consent names')
    const id = `${toHex(s.record)}:${toHex(s.custodian)}:${toHex(s.kid)}`
    if (seen.has(id)) throw badConsent('a study key is listed twice')
    seen.add(id)
    const studyKey = unwrapKey(s.key, patientBoxSecret)
    try {
      return { record: s.record, custodian: s.custodian, kid: s.kid, key: wrapStudyKey(studyKey, s, hospitalBoxPub, random) }
    } finally {
      studyKey.fill(0)
    }
  })
}

/**
 * Builds and signs a `consent.grant` with the patient's key. Each image's data keys are unwrapped
 * with the patient's box secret (BAD_WRAPPED_KEY if one is not the patient's) and re-wrapped for
 * the grantee's hospital peer. Throws BAD_CONSENT for an inconsistent request, BAD_SCHEMA for a body the ledger
 * would refuse, and TOO_LARGE past MAX_CONSENT_IMAGES or MAX_TX_BYTES.
 */
export function buildConsentGrant (input: ConsentGrantInput): TxOf<'consent.grant'> {
  const identity = nobleIdentity(input.patient.signSeed)
  if (equals(input.grantee, identity.publicKey)) throw badConsent('a patient cannot grant consent to themselves')
  if (!Number.isSafeInteger(input.expires) || input.expires <= input.time) throw badConsent('the consent must expire after it is made')
  checkImages(input.images, input.scope)
  const boxPub = granteeBoxKey(input)
  const random = input.random ?? secureRandomBytes
  const studies = grantedStudies(input.studies ?? [], input.scope, input.patient.boxSecret, boxPub, random)
  const keys: GrantedKeys[] = input.images.map(image => ({
    image: image.cid,
    raw: rewrap(image.raw, input.patient.boxSecret, boxPub, random, { part: 'raw', cid: image.cid }),
    result: image.result === null ? null : rewrap(image.result, input.patient.boxSecret, boxPub, random, { part: 'result', cid: image.cid })
  }))
  const body = parseBody('consent.grant', {
    grantee: input.grantee, kind: input.kind, purpose: input.purpose, scope: input.scope, expires: input.expires, keys,
    ...(input.project === undefined ? {} : { project: input.project }),
    ...(studies.length === 0 ? {} : { studies })
  })
  const tx = signTx(input.ledgerId, { type: 'consent.grant', body, signer: identity.publicKey, seq: input.seq, time: input.time }, identity)
  encodeTx(tx)
  return tx
}

/**
 * Builds and signs a `consent.revoke` of the patient's consent to `grantee` for `purpose`, or for
 * every purpose when none is given. Throws BAD_SCHEMA for a purpose outside PURPOSES.
 */
export function buildConsentRevoke (input: ConsentRevokeInput): TxOf<'consent.revoke'> {
  const identity = nobleIdentity(input.patient.signSeed)
  const body = parseBody('consent.revoke', {
    grantee: input.grantee,
    ...(input.purpose === undefined ? {} : { purpose: input.purpose }),
    ...(input.rekey === true ? { rekey: true } : {})
  })
  return signTx(input.ledgerId, { type: 'consent.revoke', body, signer: identity.publicKey, seq: input.seq, time: input.time }, identity)
}

/** What an account registration binds: the user's keys, role and home hospital. */
export interface AccountRegistrationInput {
  ledgerId: Uint8Array
  keys: Pick<UserKeys, 'signSeed' | 'boxPub'>
  role: Role
  /** The home hospital's Ed25519 member key. */
  hospital: Uint8Array
}

/**
 * The `pop` of an `account.register`: the user's signature over `accountPopBytes`, proving the
 * holder of the signing key asked to be registered with this box key, role and hospital, so a
 * hospital cannot register someone else's key (ledger/rules/validate.ts checks it).
 */
export function accountRegistrationProof (input: AccountRegistrationInput): Uint8Array {
  return accountRegistrationBody(input).pop
}

/** The whole `account.register` body, pop included, ready for the hospital to sign into a tx. */
export function accountRegistrationBody (input: AccountRegistrationInput): TxBodies['account.register'] {
  const identity = nobleIdentity(input.keys.signSeed)
  const unsigned = { user: identity.publicKey, box: input.keys.boxPub, role: input.role, hospital: input.hospital }
  return parseBody('account.register', { ...unsigned, pop: identity.sign(accountPopBytes(input.ledgerId, unsigned)) })
}
