// Transactions: `{type, body, signer, seq, time, sig}` in deterministic dag-cbor. The signature
// covers a domain tag, the ledger id and every other field, so a transaction signed for one
// consortium or one purpose can never be replayed in another.
import type { CID } from 'multiformats/cid'
import { encode, decode } from '../codec.ts'
import { DOMAIN, ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, HASH_BYTES, MAX_TX_BYTES, X25519_PUBLIC_KEY_BYTES } from '../constants.ts'
import { domainBytes } from '../domain.ts'
import type { Identity, Verifier } from '../crypto/ed25519.ts'
import { SchemaError, SignatureError, TooLargeError } from '../errors.ts'
import { sha256 } from '../crypto/hash.ts'
import { parseResearchBody } from './research.ts'
import type { ResearchBodies } from './research.ts'
import { parseGrantedStudyKeys, parseRewrappedStudyKeys, parseStudyKeyBody, parseStudySeal } from './study-tx.ts'
import type { GrantedStudyKey, RewrappedStudyKey, StudyKeyBody, StudySeal } from './study-tx.ts'
import {
  expectArray, expectBytes, expectCid, expectEnum, expectFields, expectFinite, expectString, expectUint, nullable
} from '../schema.ts'

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

const KEY = ED25519_PUBLIC_KEY_BYTES
const WRAPPED_MAX = 256
const MAX_KEYS = 64

function wrappedKeys (v: unknown, p: string): WrappedKeys {
  const f = expectFields(v, p, ['to', 'raw', 'result'])
  return {
    to: expectBytes(f.to, `${p}.to`, X25519_PUBLIC_KEY_BYTES),
    raw: expectBytes(f.raw, `${p}.raw`, undefined, WRAPPED_MAX),
    result: nullable(f.result, `${p}.result`, (x, q) => expectBytes(x, q, undefined, WRAPPED_MAX))
  }
}

function grantedKeys (v: unknown, p: string): GrantedKeys {
  const f = expectFields(v, p, ['image', 'raw', 'result'])
  return {
    image: expectCid(f.image, `${p}.image`),
    raw: expectBytes(f.raw, `${p}.raw`, undefined, WRAPPED_MAX),
    result: nullable(f.result, `${p}.result`, (x, q) => expectBytes(x, q, undefined, WRAPPED_MAX))
  }
}

function seriesPlace (v: unknown, p: string): SeriesPlace {
  const f = expectFields(v, p, ['series', 'instance', 'number'])
  return {
    series: expectBytes(f.series, `${p}.series`, PSEUDONYM_BYTES),
    instance: expectBytes(f.instance, `${p}.instance`, PSEUDONYM_BYTES),
    number: expectUint(f.number, `${p}.number`, MAX_INSTANCE_NUMBER)
  }
}

function scope (v: unknown, p: string): ConsentScope {
  const kind = expectEnum(expectFields(v, p, ['kind'], ['record', 'images']).kind, `${p}.kind`, ['all', 'record', 'images'])
  if (kind === 'all') {
    expectFields(v, p, ['kind'])
    return { kind }
  }
  if (kind === 'record') return { kind, record: expectBytes(expectFields(v, p, ['kind', 'record']).record, `${p}.record`, 16) }
  const images = expectArray(expectFields(v, p, ['kind', 'images']).images, `${p}.images`, MAX_KEYS, expectCid)
  return { kind, images }
}

function metrics (v: unknown, p: string): Record<string, number> {
  const f = expectFields(v, p, [], Object.keys(v !== null && typeof v === 'object' ? v : {}))
  const keys = Object.keys(f)
  if (keys.length > 16) throw new TooLargeError(`${p}: at most 16 metrics, got ${keys.length}`)
  const out: Record<string, number> = {}
  for (const k of keys) out[expectString(k, `${p} key`, 32)] = expectFinite(f[k], `${p}.${k}`)
  return out
}

/** Checks a body against its type's schema and returns it typed. */
export function parseBody<T extends TxType> (type: T, v: unknown): TxBodies[T]
export function parseBody (type: TxType, v: unknown): TxBodies[TxType] {
  const p = 'body'
  switch (type) {
    case 'member.propose': {
      const f = expectFields(v, p, ['action', 'member', 'name', 'addrs'])
      return {
        action: expectEnum(f.action, `${p}.action`, ['add', 'remove']),
        member: expectBytes(f.member, `${p}.member`, KEY),
        name: expectString(f.name, `${p}.name`, 128, 0),
        addrs: expectArray(f.addrs, `${p}.addrs`, 8, (x, q) => expectString(x, q, 256))
      }
    }
    case 'member.approve':
      return { proposal: expectBytes(expectFields(v, p, ['proposal']).proposal, `${p}.proposal`, HASH_BYTES) }
    case 'member.resolve': {
      const f = expectFields(v, p, ['member', 'height', 'keep'])
      return { member: expectBytes(f.member, `${p}.member`, KEY), height: expectUint(f.height, `${p}.height`), keep: expectBytes(f.keep, `${p}.keep`, HASH_BYTES) }
    }
    case 'account.register': {
      const f = expectFields(v, p, ['user', 'box', 'role', 'hospital', 'pop'])
      return {
        user: expectBytes(f.user, `${p}.user`, KEY),
        box: expectBytes(f.box, `${p}.box`, X25519_PUBLIC_KEY_BYTES),
        role: expectEnum(f.role, `${p}.role`, ROLES),
        hospital: expectBytes(f.hospital, `${p}.hospital`, KEY),
        pop: expectBytes(f.pop, `${p}.pop`, ED25519_SIGNATURE_BYTES)
      }
    }
    case 'record.create': {
      const f = expectFields(v, p, ['patient', 'record'])
      return { patient: expectBytes(f.patient, `${p}.patient`, HASH_BYTES), record: expectBytes(f.record, `${p}.record`, 16) }
    }
    case 'image.add': {
      const f = expectFields(v, p, ['patient', 'record', 'raw', 'result', 'modality', 'size', 'model', 'score', 'keys'], ['meta', 'dicom', 'study'])
      const out: TxBodies['image.add'] = {
        patient: expectBytes(f.patient, `${p}.patient`, HASH_BYTES),
        record: nullable(f.record, `${p}.record`, (x, q) => expectBytes(x, q, 16)),
        raw: expectCid(f.raw, `${p}.raw`),
        result: nullable(f.result, `${p}.result`, expectCid),
        modality: expectString(f.modality, `${p}.modality`, 16),
        size: expectUint(f.size, `${p}.size`),
        model: nullable(f.model, `${p}.model`, expectCid),
        score: nullable(f.score, `${p}.score`, (x, q) => expectUint(x, q, 10000)),
        keys: expectArray(f.keys, `${p}.keys`, MAX_KEYS, wrappedKeys)
      }
      // Present means a CID: a key holding null or undefined is refused, so "no card" has one encoding.
      if ('meta' in f) out.meta = expectCid(f.meta, `${p}.meta`)
      if ('dicom' in f) out.dicom = seriesPlace(f.dicom, `${p}.dicom`)
      if ('study' in f) out.study = parseStudySeal(f.study, `${p}.study`)
      return out
    }
    case 'consent.grant': {
      const f = expectFields(v, p, ['grantee', 'kind', 'purpose', 'scope', 'expires', 'keys'], ['project', 'studies'])
      const out: TxBodies['consent.grant'] = {
        grantee: expectBytes(f.grantee, `${p}.grantee`, KEY),
        kind: expectEnum(f.kind, `${p}.kind`, ['user', 'hospital']),
        purpose: expectEnum(f.purpose, `${p}.purpose`, PURPOSES),
        scope: scope(f.scope, `${p}.scope`),
        expires: expectUint(f.expires, `${p}.expires`),
        keys: expectArray(f.keys, `${p}.keys`, MAX_KEYS * 4, grantedKeys)
      }
      if ('project' in f) {
        // Only a research consent names a project.
        if (out.purpose !== 'research') throw new SchemaError(`${p}.project: only a research consent names a project`)
        out.project = expectBytes(f.project, `${p}.project`, HASH_BYTES)
      }
      if ('studies' in f) out.studies = parseGrantedStudyKeys(f.studies, `${p}.studies`)
      return out
    }
    case 'consent.revoke': {
      const f = expectFields(v, p, ['grantee'], ['purpose', 'rekey'])
      const grantee = expectBytes(f.grantee, `${p}.grantee`, KEY)
      // Present means a purpose; a key holding undefined or null is refused like any other bad value.
      const out: TxBodies['consent.revoke'] = 'purpose' in f ? { grantee, purpose: expectEnum(f.purpose, `${p}.purpose`, PURPOSES) } : { grantee }
      // Only `true` is meaningful; false would be a second encoding of "no re-key".
      if ('rekey' in f) {
        if (f.rekey !== true) throw new SchemaError(`${p}.rekey: expected true or absent`)
        out.rekey = true
      }
      return out
    }
    case 'image.rekey': {
      const f = expectFields(v, p, ['patient', 'old', 'raw', 'result', 'keys'], ['meta', 'study'])
      const old = expectFields(f.old, `${p}.old`, ['raw', 'result'], ['meta'])
      const out: TxBodies['image.rekey'] = {
        patient: expectBytes(f.patient, `${p}.patient`, HASH_BYTES),
        old: { raw: expectCid(old.raw, `${p}.old.raw`), result: nullable(old.result, `${p}.old.result`, expectCid) },
        raw: expectCid(f.raw, `${p}.raw`),
        result: nullable(f.result, `${p}.result`, expectCid),
        keys: expectArray(f.keys, `${p}.keys`, MAX_KEYS, wrappedKeys)
      }
      if ('meta' in old) out.old.meta = expectCid(old.meta, `${p}.old.meta`)
      if ('meta' in f) out.meta = expectCid(f.meta, `${p}.meta`)
      if ('study' in f) out.study = parseStudySeal(f.study, `${p}.study`)
      return out
    }
    case 'access.log': {
      const f = expectFields(v, p, ['patient', 'image', 'accessor', 'basis', 'consent'], ['use'])
      // Present means a use; a key holding undefined or null is refused like any other bad value.
      const use = 'use' in f ? expectEnum(f.use, `${p}.use`, ACCESS_USES) : undefined
      const out: TxBodies['access.log'] = {
        patient: expectBytes(f.patient, `${p}.patient`, HASH_BYTES),
        // Only the new form may name no image (a listing); the old form always named one.
        image: use === undefined ? expectCid(f.image, `${p}.image`) : nullable(f.image, `${p}.image`, expectCid),
        accessor: expectBytes(f.accessor, `${p}.accessor`, KEY),
        basis: expectEnum(f.basis, `${p}.basis`, ACCESS_BASES),
        consent: nullable(f.consent, `${p}.consent`, (x, q) => expectBytes(x, q, HASH_BYTES))
      }
      if (use !== undefined) out.use = use
      return out
    }
    case 'directory.set': {
      const f = expectFields(v, p, ['subject', 'name', 'department'])
      return {
        subject: expectBytes(f.subject, `${p}.subject`, KEY),
        name: expectString(f.name, `${p}.name`, 128),
        department: expectString(f.department, `${p}.department`, 64, 0)
      }
    }
    case 'emergency.role': {
      const f = expectFields(v, p, ['subject', 'role'])
      return { subject: expectBytes(f.subject, `${p}.subject`, KEY), role: expectEnum(f.role, `${p}.role`, ['allow', 'deny'] as const) }
    }
    case 'emergency.access': {
      const f = expectFields(v, p, ['patient', 'accessor', 'hospital', 'until', 'role', 'reason'])
      return {
        patient: expectBytes(f.patient, `${p}.patient`, HASH_BYTES),
        accessor: expectBytes(f.accessor, `${p}.accessor`, KEY),
        hospital: expectBytes(f.hospital, `${p}.hospital`, KEY),
        until: expectUint(f.until, `${p}.until`),
        role: expectBytes(f.role, `${p}.role`, HASH_BYTES),
        reason: expectBytes(f.reason, `${p}.reason`, HASH_BYTES)
      }
    }
    case 'emergency.review': {
      const f = expectFields(v, p, ['access', 'patient', 'verdict'])
      return { access: expectBytes(f.access, `${p}.access`, HASH_BYTES), patient: expectBytes(f.patient, `${p}.patient`, HASH_BYTES), verdict: expectEnum(f.verdict, `${p}.verdict`, ['justified', 'unjustified'] as const) }
    }
    case 'patient.rekey': {
      const f = expectFields(v, p, ['old', 'box', 'hospital'])
      return { old: expectBytes(f.old, `${p}.old`, HASH_BYTES), box: expectBytes(f.box, `${p}.box`, X25519_PUBLIC_KEY_BYTES), hospital: expectBytes(f.hospital, `${p}.hospital`, KEY) }
    }
    case 'patient.cosign':
    case 'patient.veto': {
      const f = expectFields(v, p, ['rekey', 'patient'])
      return { rekey: expectBytes(f.rekey, `${p}.rekey`, HASH_BYTES), patient: expectBytes(f.patient, `${p}.patient`, HASH_BYTES) }
    }
    case 'patient.rewrap': {
      const f = expectFields(v, p, ['rekey', 'patient', 'images'], ['studies'])
      const out: TxBodies['patient.rewrap'] = {
        rekey: expectBytes(f.rekey, `${p}.rekey`, HASH_BYTES),
        patient: expectBytes(f.patient, `${p}.patient`, HASH_BYTES),
        images: expectArray(f.images, `${p}.images`, MAX_KEYS, (x, q) => {
          const g = expectFields(x, q, ['raw', 'keys'])
          return { raw: expectCid(g.raw, `${q}.raw`), keys: wrappedKeys(g.keys, `${q}.keys`) }
        })
      }
      if ('studies' in f) out.studies = parseRewrappedStudyKeys(f.studies, `${p}.studies`)
      return out
    }
    case 'study.key':
      return parseStudyKeyBody(v, p)
    case 'model.publish': {
      const f = expectFields(v, p, ['model', 'task', 'round', 'metrics', 'participants'])
      return {
        model: expectCid(f.model, `${p}.model`),
        task: expectString(f.task, `${p}.task`, 64),
        round: expectUint(f.round, `${p}.round`),
        metrics: metrics(f.metrics, `${p}.metrics`),
        participants: expectArray(f.participants, `${p}.participants`, 256, (x, q) => expectBytes(x, q, KEY))
      }
    }
    case 'research.project':
    case 'research.decision':
    case 'research.export':
      return parseResearchBody(type, v)
  }
}

/** Checks the shape of a whole transaction (not its signature) and returns it typed. */
export function parseTx (v: unknown): Tx {
  const f = expectFields(v, 'tx', ['type', 'body', 'signer', 'seq', 'time', 'sig'])
  const type = expectEnum(f.type, 'tx.type', TX_TYPES)
  return {
    type,
    body: parseBody(type, f.body),
    signer: expectBytes(f.signer, 'tx.signer', KEY),
    seq: expectUint(f.seq, 'tx.seq'),
    time: expectUint(f.time, 'tx.time'),
    sig: expectBytes(f.sig, 'tx.sig', ED25519_SIGNATURE_BYTES)
  } as Tx
}

/** Consent transactions carry their own domain tag so a patient's consent signature is never reusable elsewhere. */
function tagFor (type: TxType): typeof DOMAIN.tx | typeof DOMAIN.consent {
  return type.startsWith('consent.') ? DOMAIN.consent : DOMAIN.tx
}

/** The bytes a transaction's signature covers. */
export function txSigningBytes (ledgerId: Uint8Array, tx: UnsignedTx): Uint8Array {
  const { type, body, signer, seq, time } = tx
  return domainBytes(tagFor(type), encode({ ledger: ledgerId, type, body, signer, seq, time }))
}

/** Signs an unsigned transaction with `identity`, whose key must be `tx.signer`. */
export function signTx<T extends TxType> (ledgerId: Uint8Array, tx: UnsignedTxOf<T>, identity: Identity): TxOf<T> {
  return { ...tx, sig: identity.sign(txSigningBytes(ledgerId, tx as UnsignedTx)) }
}

/** Canonical bytes and id of a signed transaction. */
export function encodeTx (tx: Tx): DecodedTx {
  const bytes = encode(tx)
  if (bytes.length > MAX_TX_BYTES) throw new TooLargeError(`a transaction may be at most ${MAX_TX_BYTES} bytes, got ${bytes.length}`)
  return { tx, bytes, id: sha256(bytes) }
}

/** Decodes and shape-checks a transaction; the signature is checked by `verifyTx`. */
export function decodeTx (bytes: Uint8Array): DecodedTx {
  if (bytes.length > MAX_TX_BYTES) throw new TooLargeError(`a transaction may be at most ${MAX_TX_BYTES} bytes, got ${bytes.length}`)
  return { tx: parseTx(decode(bytes)), bytes, id: sha256(bytes) }
}

/** Throws SignatureError unless `tx.sig` is the signer's strict Ed25519 signature. */
export function verifyTx (ledgerId: Uint8Array, tx: Tx, verify: Verifier): void {
  if (!verify(tx.signer, txSigningBytes(ledgerId, tx), tx.sig)) {
    throw new SignatureError(`transaction ${tx.type} seq ${tx.seq} is not signed by its signer`)
  }
}

/** The bytes an account's proof of possession covers: the user key vouches for its own registration. */
export function accountPopBytes (ledgerId: Uint8Array, body: Omit<TxBodies['account.register'], 'pop'>): Uint8Array {
  const { user, box, role, hospital } = body
  return domainBytes(DOMAIN.account, encode({ ledger: ledgerId, user, box, role, hospital }))
}

/** Pseudonymous patient id: SHA-256 of the patient's Ed25519 public key (docs/design.md §5). */
export function patientIdOf (patientKey: Uint8Array): Uint8Array {
  return sha256(patientKey)
}
