// The grantee peer's keys through a study key (node/records/reader-keys.ts, docs/design.md §5 "Study
// keys"): a consent may carry image keys for older instances and a study key for the sealed ones,
// and each opens its own; an instance sealed under a key the consent does not carry stays shut
// (KEYS_UNAVAILABLE); a study key box bound to another study, or an instance seal made for another
// image, is BAD_WRAPPED_KEY, also after the honest box was opened and kept for the reader.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { equals } from '../../../protocol/bytes.ts'
import { unwrapKey, wrapBoundKey } from '../../../protocol/crypto/key-wrap.ts'
import { newStudyKey, sealUnderStudyKey, wrapStudyKey } from '../../../protocol/crypto/study-key.ts'
import type { GrantedStudyKey } from '../../../protocol/chain/study-tx.ts'
import { generateUserKeys, secureRandomBytes } from '../../../protocol/crypto/user-keys.ts'
import type { ConsentRecord, ImageRecord } from '../../../ledger/queries/queries.ts'
import { hospitalDataKey, readerKeys } from '../../../node/records/reader-keys.ts'
import { throwsCode } from '../../helpers/assert.ts'

const hospital = generateUserKeys()
const box = { publicKey: hospital.boxPub, secretKey: hospital.boxSecret }
const patient = new Uint8Array(32).fill(1)
const custodian = new Uint8Array(32).fill(2)
const studyA = new Uint8Array(16).fill(0xa)
const studyB = new Uint8Array(16).fill(0xb)

async function cidOf (n: number): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`instance ${n}`)))
}

/** An instance of `record` with raw and result keys, sealed under `study` when given (the seal's image may be forged). */
async function instance (n: number, record: Uint8Array, keys: { raw: Uint8Array, result: Uint8Array }, study?: { kid: Uint8Array, key: Uint8Array, sealFor?: CID }): Promise<ImageRecord> {
  const cid = await cidOf(n)
  const sealFor = (study?.sealFor ?? cid).bytes
  return {
    patient, record, raw: cid, result: await cidOf(1000 + n), modality: 'CT', size: 1, model: null, score: null, keys: [],
    custodian, tx: new Uint8Array(32), time: 0, dicom: { series: record, instance: new Uint8Array(16).fill(n), number: n },
    ...(study === undefined ? {} : { study: { kid: study.kid, raw: sealUnderStudyKey(keys.raw, 'raw', sealFor, study.key), result: sealUnderStudyKey(keys.result, 'result', sealFor, study.key) } })
  }
}

function consent (keys: NonNullable<ConsentRecord['keys']>, studies: GrantedStudyKey[]): ConsentRecord {
  return { grantee: hospital.signPub, purpose: 'treatment', action: 'grant', seq: 0, tx: new Uint8Array(32), time: 0, kind: 'hospital', scope: { kind: 'all' }, expires: Date.now() + 60_000, keys, studies }
}

const entry = (record: Uint8Array, s: { kid: Uint8Array, key: Uint8Array }, boundTo = record): GrantedStudyKey =>
  ({ record, custodian, kid: s.kid, key: wrapStudyKey(s.key, { patient, record: boundTo, custodian, kid: s.kid }, hospital.boxPub) })

const keysOf = (): { raw: Uint8Array, result: Uint8Array } => ({ raw: secureRandomBytes(32), result: secureRandomBytes(32) })

test('an older instance opens by its own key, a sealed one through the study key, in one consent', async () => {
  const s = newStudyKey()
  const [k1, k2] = [keysOf(), keysOf()]
  const older = await instance(1, studyA, k1)
  const sealed = await instance(2, studyA, k2, s)
  const c = consent([{ image: older.raw, raw: wrapBoundKey(k1.raw, 'raw', older.raw.bytes, hospital.boxPub), result: wrapBoundKey(k1.result, 'result', older.raw.bytes, hospital.boxPub) }], [entry(studyA, s)])
  const reader = generateUserKeys()
  for (const [image, k] of [[older, k1], [sealed, k2]] as const) {
    const got = readerKeys(image, { from: 'consent', consent: c }, reader.boxPub, box)
    assert.ok(equals(unwrapKey(got.raw, reader.boxSecret), k.raw))
    assert.ok(equals(unwrapKey(got.result as Uint8Array, reader.boxSecret), k.result))
  }
  // The peer's own copy for a DICOMweb read goes the same way.
  assert.ok(equals(hospitalDataKey(sealed, { from: 'consent', consent: c }, box), k2.raw))
  // An instance sealed under a key the consent does not carry stays shut.
  const renewed = await instance(3, studyA, keysOf(), newStudyKey())
  throwsCode(() => readerKeys(renewed, { from: 'consent', consent: c }, reader.boxPub, box), 'KEYS_UNAVAILABLE')
  throwsCode(() => hospitalDataKey(renewed, { from: 'consent', consent: c }, box), 'KEYS_UNAVAILABLE')
})

test('a study key box bound to another study opens nothing, even after the honest one was kept', async () => {
  const a = newStudyKey()
  const b = newStudyKey()
  const inA = await instance(10, studyA, keysOf(), a)
  const inB = await instance(11, studyB, keysOf(), b)
  const reader = generateUserKeys()
  // The honest box of study A opens A's instance, and the reader's box is kept.
  const honest = entry(studyA, a)
  readerKeys(inA, { from: 'consent', consent: consent([], [honest]) }, reader.boxPub, box)
  // A's box (A's key, bound to A) filed under B's entry: refused, not served from what was kept.
  throwsCode(() => readerKeys(inB, { from: 'consent', consent: consent([], [{ ...honest, record: studyB, kid: b.kid }]) }, reader.boxPub, box), 'BAD_WRAPPED_KEY')
  // B's own key in a box bound to A, filed under B's entry: the binding does not hold.
  throwsCode(() => readerKeys(inB, { from: 'consent', consent: consent([], [entry(studyB, b, studyA)]) }, reader.boxPub, box), 'BAD_WRAPPED_KEY')
  // A's key in a box bound to B: the binding holds, B's seals do not open under A's key.
  throwsCode(() => readerKeys(inB, { from: 'consent', consent: consent([], [{ ...entry(studyB, a), kid: b.kid }]) }, reader.boxPub, box), 'BAD_WRAPPED_KEY')
  throwsCode(() => hospitalDataKey(inB, { from: 'consent', consent: consent([], [entry(studyB, b, studyA)]) }, box), 'BAD_WRAPPED_KEY')
})

test('an instance whose seal was made for another image stays shut', async () => {
  const s = newStudyKey()
  const other = await cidOf(99)
  const misbound = await instance(20, studyA, keysOf(), { ...s, sealFor: other })
  throwsCode(() => readerKeys(misbound, { from: 'consent', consent: consent([], [entry(studyA, s)]) }, generateUserKeys().boxPub, box), 'BAD_WRAPPED_KEY')
})

test.run()
