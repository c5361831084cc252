// The access rule as a table: every role against every consent state (none, live, expired,
// revoked, wrong purpose, another patient's consent, scopes), plus hospital policy switches.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { sha256 as mh } from 'multiformats/hashes/sha2'
import { decideAccess, purposeOfRole } from '../../../node/records/access.ts'
import type { AccessPolicy, Reader } from '../../../node/records/access.ts'
import type { ConsentRecord, ImageRecord } from '../../../ledger/queries/queries.ts'

const key = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const cid = async (n: number): Promise<CID> => CID.createV1(0x55, await mh.digest(new Uint8Array([n])))
const HOSPITAL_A = key(1)
const HOSPITAL_B = key(2)
const PATIENT = key(10)
const NOW = 1_800_000_000_000
const policy: AccessPolicy = { custodianRead: true, breakGlass: true }

const image = async (): Promise<ImageRecord> => ({
  patient: PATIENT, record: new Uint8Array(16).fill(4), raw: await cid(1), result: await cid(2), modality: 'CT', size: 10,
  model: null, score: null, keys: [], custodian: HOSPITAL_A, tx: key(99), time: NOW - 1000
})

const clinicianAt = (hospital: Uint8Array, n = 20): Reader => ({ role: 'clinician', signPub: key(n), boxPub: key(n + 1), hospital })
const grant = (grantee: Uint8Array, over: Partial<ConsentRecord> = {}): ConsentRecord => ({
  grantee, action: 'grant', seq: 1, tx: key(77), time: NOW - 500, kind: 'user', purpose: 'treatment', scope: { kind: 'all' }, expires: NOW + 60_000, keys: [], ...over
})

test('the patient reads their own images and no one else\'s', async () => {
  const img = await image()
  const own = decideAccess({ reader: { role: 'patient', signPub: key(30), boxPub: key(31), hospital: HOSPITAL_B, patientId: PATIENT }, image: img, consents: {}, policy, now: NOW, emergency: false })
  assert.ok(own.allowed && own.basis === 'patient')
  const other = decideAccess({ reader: { role: 'patient', signPub: key(32), boxPub: key(33), hospital: HOSPITAL_A, patientId: key(11) }, image: img, consents: {}, policy, now: NOW, emergency: false })
  assert.equal(other.allowed, false)
})

test('a clinician at the custodian reads by policy, and not when policy forbids it', async () => {
  const img = await image()
  const yes = decideAccess({ reader: clinicianAt(HOSPITAL_A), image: img, consents: {}, policy, now: NOW, emergency: false })
  assert.ok(yes.allowed && yes.basis === 'custodian' && yes.keys.from === 'hospital')
  const no = decideAccess({ reader: clinicianAt(HOSPITAL_A), image: img, consents: {}, policy: { ...policy, custodianRead: false }, now: NOW, emergency: false })
  assert.equal(no.allowed, false)
})

test('a clinician elsewhere needs a live treatment consent covering the image', async () => {
  const img = await image()
  const reader = clinicianAt(HOSPITAL_B)
  const cases: Array<[string, ConsentRecord | undefined, boolean]> = [
    ['none', undefined, false],
    ['live', grant(reader.signPub), true],
    ['expired', grant(reader.signPub, { expires: NOW - 1 }), false],
    ['expiring exactly now', grant(reader.signPub, { expires: NOW }), false],
    ['revoked', { grantee: reader.signPub, purpose: 'treatment', action: 'revoke', seq: 2, tx: key(78), time: NOW }, false],
    ['wrong purpose', grant(reader.signPub, { purpose: 'research' }), false],
    ['training purpose', grant(reader.signPub, { purpose: 'training' }), false],
    ['record scope, same record', grant(reader.signPub, { scope: { kind: 'record', record: new Uint8Array(16).fill(4) } }), true],
    ['record scope, other record', grant(reader.signPub, { scope: { kind: 'record', record: new Uint8Array(16).fill(5) } }), false],
    ['image list with it', grant(reader.signPub, { scope: { kind: 'images', images: [await cid(1)] } }), true],
    ['image list without it', grant(reader.signPub, { scope: { kind: 'images', images: [await cid(3)] } }), false]
  ]
  for (const [name, consent, allowed] of cases) {
    const d = decideAccess({ reader, image: img, consents: { user: consent }, policy, now: NOW, emergency: false })
    assert.is(d.allowed, allowed, name)
    if (d.allowed) assert.is(d.basis, 'consent', name)
  }
})

test('a consent to the reader\'s hospital covers its clinicians', async () => {
  const img = await image()
  const d = decideAccess({ reader: clinicianAt(HOSPITAL_B), image: img, consents: { hospital: grant(HOSPITAL_B, { kind: 'hospital' }) }, policy, now: NOW, emergency: false })
  assert.ok(d.allowed && d.basis === 'consent')
})

test('researchers need a research consent; admins never read images', async () => {
  const img = await image()
  const researcher: Reader = { role: 'researcher', signPub: key(40), boxPub: key(41), hospital: HOSPITAL_A }
  assert.equal(decideAccess({ reader: researcher, image: img, consents: {}, policy, now: NOW, emergency: false }).allowed, false, 'custodian policy is for treatment only')
  assert.equal(decideAccess({ reader: researcher, image: img, consents: { user: grant(researcher.signPub) }, policy, now: NOW, emergency: false }).allowed, false, 'treatment consent')
  assert.ok(decideAccess({ reader: researcher, image: img, consents: { user: grant(researcher.signPub, { purpose: 'research' }) }, policy, now: NOW, emergency: false }).allowed)
  const admin: Reader = { role: 'admin', signPub: key(50), boxPub: key(51), hospital: HOSPITAL_A }
  assert.equal(decideAccess({ reader: admin, image: img, consents: { user: grant(admin.signPub) }, policy, now: NOW, emergency: true }).allowed, false)
})

test('break-glass opens custodian images only when policy allows it, and says so', async () => {
  const img = await image()
  const strict = { custodianRead: false, breakGlass: true }
  const d = decideAccess({ reader: clinicianAt(HOSPITAL_A), image: img, consents: {}, policy: strict, now: NOW, emergency: true })
  assert.ok(d.allowed && d.basis === 'emergency')
  assert.equal(decideAccess({ reader: clinicianAt(HOSPITAL_A), image: img, consents: {}, policy: { custodianRead: false, breakGlass: false }, now: NOW, emergency: true }).allowed, false)
  assert.equal(decideAccess({ reader: clinicianAt(HOSPITAL_A), image: img, consents: {}, policy: strict, now: NOW, emergency: false }).allowed, false)
})

test('each reading role reads under one purpose; patients and admins under none', () => {
  assert.is(purposeOfRole('clinician'), 'treatment')
  assert.is(purposeOfRole('researcher'), 'research')
  assert.is(purposeOfRole('patient'), undefined)
  assert.is(purposeOfRole('admin'), undefined)
})

test.run()
