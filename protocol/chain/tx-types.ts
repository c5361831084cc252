// The transaction types of the ledger (docs/design.md §4): the names of the types, roles, purposes
// and access uses, each type's body, and the signed, unsigned and decoded forms of a transaction.
// Types and constants only; parsing is tx-body.ts, signing and encoding tx.ts.
import type { CID } from 'multiformats/cid'
import type { ResearchBodies } from './research.ts'
import type { GrantedStudyKey, RewrappedStudyKey, StudyKeyBody, StudySeal } from './study-tx.ts'

/** Every transaction type the state machine knows (docs/design.md §4). */
export const TX_TYPES = [
  'member.propose', 'member.approve', 'account.register', 'record.create', 'image.add',
  'consent.grant', 'consent.revoke', 'access.log', 'model.publish', 'directory.set', 'image.rekey', 'member.resolve',
  'patient.rekey', 'patient.cosign', 'patient.veto', 'patient.rewrap',
  'emergency.role', 'emergency.access', 'emergency.review',
  'research.project', 'research.decision', 'research.export', 'study.key'
] as const
export type TxType = typeof TX_TYPES[number]

export const ROLES = ['admin', 'clinician', 'patient', 'researcher'] as const
export type Role = typeof ROLES[number]

export const PURPOSES = ['treatment', 'research', 'training'] as const
export type Purpose = typeof PURPOSES[number]

export const ACCESS_BASES = ['custodian', 'consent', 'emergency'] as const
export type AccessBasis = typeof ACCESS_BASES[number]

/**
 * What a read was (docs/design.md §5 "Access"): a clinician's or researcher's listing of a
 * patient's images (one entry per listing, naming no image), the opening of one image, or the
 * hospital's own use of one image to train the model or to validate it (held out).
 */
export const ACCESS_USES = ['list', 'open', 'train', 'validate'] as const
export type AccessUse = typeof ACCESS_USES[number]

/** A data key sealed for one recipient's X25519 key: one for the raw image, one for the result. */
export interface WrappedKeys { to: Uint8Array, raw: Uint8Array, result: Uint8Array | null }

/** A data key re-wrapped by the patient for a grantee, for one image. */
export interface GrantedKeys { image: CID, raw: Uint8Array, result: Uint8Array | null }

/**
 * Where a DICOM instance sits in its study (docs/design.md §5 "Studies and series"): pseudonymous
 * 16-byte ids of its series and of the instance itself, made by the custodian from the real UIDs
 * under a key only it holds (real UIDs link to PHI and never reach the ledger), and its
 * InstanceNumber (0020,0013) to order the slices of a series. The study is the image's `record`.
 */
export interface SeriesPlace { series: Uint8Array, instance: Uint8Array, number: number }

/** Length of a pseudonymous study, series or instance id (the length of a record id). */
export const PSEUDONYM_BYTES = 16

/** Largest InstanceNumber kept (IS is at most 12 characters, PS3.5 §6.2; slices beyond 2^31 do not exist). */
export const MAX_INSTANCE_NUMBER = 2 ** 31 - 1

export type ConsentScope =
  | { kind: 'all' }
  | { kind: 'record', record: Uint8Array }
  | { kind: 'images', images: CID[] }

/** Transaction bodies by type. Patient ids are SHA-256 of the patient's public key: never PHI. */
export interface TxBodies extends ResearchBodies {
  'member.propose': { action: 'add' | 'remove', member: Uint8Array, name: string, addrs: string[] }
  'member.approve': { proposal: Uint8Array }
  /**
   * Proposes to close an equivocation of `member` at `height` by keeping the block whose hash is
   * `keep`; like a membership proposal it takes effect once a quorum approved it (`member.approve`).
   */
  'member.resolve': { member: Uint8Array, height: number, keep: Uint8Array }
  'account.register': { user: Uint8Array, box: Uint8Array, role: Role, hospital: Uint8Array, pop: Uint8Array }
  'record.create': { patient: Uint8Array, record: Uint8Array }
  /**
   * `meta`, when present, is the CID of the image's sealed card (protocol/image-meta.ts): file name,
   * date, description and thumbnail, encrypted under a key derived from the raw data key. Absent
   * for images uploaded before cards existed; omitted from the canonical encoding then, so their
   * bytes and ids are unchanged.
   */
  'image.add': {
    patient: Uint8Array, record: Uint8Array | null, raw: CID, result: CID | null, modality: string,
    size: number, model: CID | null, score: number | null, keys: WrappedKeys[], meta?: CID,
    /**
     * A DICOM instance's place in its series (its study is `record`, which it then requires).
     * Absent for other images, and omitted from the canonical encoding, so earlier `image.add`
     * bytes keep their meaning.
     */
    dicom?: SeriesPlace
    /**
     * The data keys sealed under the study's key (protocol/crypto/study-key.ts): present for instances
     * ingested since study keys exist, so a consent naming the study opens them with one key.
     * Omitted when absent, so earlier bytes keep their encoding.
     */
    study?: StudySeal
  }
  /** A custodian's study key for one study of a patient, wrapped for the patient and itself. */
  'study.key': StudyKeyBody
  /**
   * A research consent may name one research project (the id of its `research.project`); without
   * one it covers research in general. Absent is omitted from the canonical encoding, so consents
   * signed before projects existed keep their bytes.
   */
  'consent.grant': {
    grantee: Uint8Array, kind: 'user' | 'hospital', purpose: Purpose, scope: ConsentScope,
    expires: number, keys: GrantedKeys[], project?: Uint8Array,
    /**
     * Study keys bound for the grantee's hospital, one per (study, custodian, key id) the scope
     * covers: they open every instance sealed under them, so a study of any size costs one entry.
     * Omitted when absent, so earlier grants keep their bytes.
     */
    studies?: GrantedStudyKey[]
  }
  /**
   * A revoke of the patient's consent to `grantee` for one purpose, or, with no purpose, for every
   * purpose. An absent purpose is omitted from the canonical encoding, so revokes signed before
   * purposes existed keep their bytes and their meaning. `rekey: true` also asks every custodian
   * of the patient's images to re-encrypt them under new keys (`image.rekey`); absent, likewise
   * omitted.
   */
  'consent.revoke': { grantee: Uint8Array, purpose?: Purpose, rekey?: true }
  /**
   * The custodian re-encrypted an image under new keys, after the patient's "revoke and re-key"
   * (a `consent.revoke` with `rekey: true`): the new CIDs, their keys for the patient and the
   * custodian, and the CIDs they replace, which every member then unpins and deletes. An image
   * with a sealed card has it re-sealed under the new raw key: `meta` and `old.meta` are present
   * exactly then (absent ones are omitted from the encoding, as in `image.add`).
   */
  'image.rekey': { patient: Uint8Array, old: { raw: CID, result: CID | null, meta?: CID }, raw: CID, result: CID | null, keys: WrappedKeys[], meta?: CID, study?: StudySeal }
  /**
   * One read of a patient's images by someone other than the patient. `use` says what the read
   * was; an entry without it is the form written before uses existed (an absent use is omitted from
   * the canonical encoding, so those entries keep their bytes), and always names an image. A
   * listing (`use: 'list'`) names no image: `image` is null exactly then (ledger/rules/access.ts).
   */
  'access.log': { patient: Uint8Array, image: CID | null, accessor: Uint8Array, basis: AccessBasis, consent: Uint8Array | null, use?: AccessUse }
  'model.publish': { model: CID, task: string, round: number, metrics: Record<string, number>, participants: Uint8Array[] }
  /**
   * The consortium directory: a hospital publishes its own display name (subject = its key) or the
   * display name and department of one of its staff (subject = their signing key). Staff names
   * are not PHI; a patient is never a subject, and the ledger refuses one.
   */
  'directory.set': { subject: Uint8Array, name: string, department: string }
  /**
   * Emergency access across hospitals (issue 16.4): a hospital's admin gives (`allow`) or takes back
   * (`deny`) the emergency role of one of its clinicians; other hospitals release keys in an
   * emergency only to a clinician whose home hospital gave it.
   */
  'emergency.role': { subject: Uint8Array, role: 'allow' | 'deny' }
  /**
   * A custodian released the keys of `patient`'s images in an emergency declared by clinician
   * `accessor` of `hospital`, until `until`, relying on that hospital's `emergency.role` tx `role`.
   * `reason` is the SHA-256 of the reason the clinician gave (the text stays with the hospitals).
   */
  'emergency.access': { patient: Uint8Array, accessor: Uint8Array, hospital: Uint8Array, until: number, role: Uint8Array, reason: Uint8Array }
  /** The custodian's review after the fact of its `emergency.access` `access`: justified or not. */
  'emergency.review': { access: Uint8Array, patient: Uint8Array, verdict: 'justified' | 'unjustified' }
  /**
   * Assisted recovery (issue 16.3): a patient who lost password and recovery code made a new key
   * pair at a hospital that checked their identity in person. Signed by the new key (the signer),
   * carried by that hospital (`hospital`, the block's author), it asks to link the patient id
   * `old` to the new key, whose box key is `box`. It takes effect only once custodians of the old
   * patient's images co-signed (`patient.cosign`) and a waiting period passed without a veto.
   */
  'patient.rekey': { old: Uint8Array, box: Uint8Array, hospital: Uint8Array }
  /** A custodian of patient `patient`'s images co-signs the assisted recovery `rekey` (its tx id). */
  'patient.cosign': { rekey: Uint8Array, patient: Uint8Array }
  /** The old key of `patient`, or a custodian of its images, vetoes the assisted recovery `rekey`. */
  'patient.veto': { rekey: Uint8Array, patient: Uint8Array }
  /** A custodian wrapped its copies of `patient`'s image keys for the new key of an effective `rekey`. */
  'patient.rewrap': { rekey: Uint8Array, patient: Uint8Array, images: Array<{ raw: CID, keys: WrappedKeys }>, studies?: RewrappedStudyKey[] }
}

/** The fields a signature covers, for one type. */
export interface UnsignedTxOf<T extends TxType> { type: T, body: TxBodies[T], signer: Uint8Array, seq: number, time: number }
export type UnsignedTx = { [K in TxType]: UnsignedTxOf<K> }[TxType]
/** A signed transaction. */
export type Tx = UnsignedTx & { sig: Uint8Array }
export type TxOf<T extends TxType> = UnsignedTxOf<T> & { sig: Uint8Array }

/** A decoded transaction with its canonical bytes and id (SHA-256 of the bytes). */
export interface DecodedTx { tx: Tx, bytes: Uint8Array, id: Uint8Array }
