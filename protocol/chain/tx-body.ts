// The schema of every transaction body: `parseBody` checks a decoded body against its type's fields,
// sizes and enumerations and returns it typed, refusing unknown and missing fields and a second
// encoding of the same meaning (an optional field is absent, never null). Research and study-key
// bodies are checked by research.ts and study-tx.ts.
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, HASH_BYTES, X25519_PUBLIC_KEY_BYTES } from '../constants.ts'
import { SchemaError, TooLargeError } from '../errors.ts'
import { parseResearchBody } from './research.ts'
import { parseGrantedStudyKeys, parseRewrappedStudyKeys, parseStudyKeyBody, parseStudySeal } from './study-tx.ts'
import {
  expectArray, expectBytes, expectCid, expectEnum, expectFields, expectFinite, expectString, expectUint, nullable
} from '../schema.ts'
import { ACCESS_BASES, ACCESS_USES, MAX_INSTANCE_NUMBER, PSEUDONYM_BYTES, PURPOSES, ROLES } from './tx-types.ts'
import type { ConsentScope, GrantedKeys, SeriesPlace, TxBodies, TxType, WrappedKeys } from './tx-types.ts'

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
