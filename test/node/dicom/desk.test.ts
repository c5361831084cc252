// The hospital's patient index at the desk (issue 13 item 4): staff find a patient of their own
// hospital by MRN or name (decrypted locally; never on the ledger), images of a patient not yet
// enrolled wait in custody, and a printed enrolment code the patient enters in their portal
// attaches them (once; unknown, used and expired codes answer alike). An MRN linked to one patient
// is never moved to another.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { enrolWithCode, findHospitalPatients, issueEnrolmentCode, linkMrn } from '../../../protocol/client/desk.ts'
import { hospitalBoxPublicKey, hospitalBoxSecretKey } from '../../../protocol/crypto/user-keys.ts'
import { ENROLMENT_CODE_TTL_MS, newEnrolmentCode, normaliseEnrolmentCode } from '../../../node/dicom/custody/enrolment.ts'
import { PatientIndex } from '../../../node/dicom/custody/patient-index.ts'
import { cleanup, tempDir, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { dcmtk, writeStudy } from '../../helpers/imaging/dicom.ts'
import { rejects } from '../../helpers/assert.ts'

let A: Hospital
let dir: string
let port: number

test.before(async () => {
  ;[A] = await startHospitals(1, { dicom: {} })
  dir = await tempDir('medichain-desk-')
  port = A.peer.dicom?.address()?.port ?? 0
})

test.after(async () => {
  await stopHospitals([A])
  await cleanup()
})

async function send (mrn: string, name: string, uid: string, slices = 2): Promise<void> {
  const files = await writeStudy(join(dir, uid), { mrn, name, birthDate: '19610412', uid, series: [{ uid: `${uid}.1`, modality: 'CT', slices }] })
  const r = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...files])
  assert.is(r.code, 0, r.stderr)
  // Acknowledged from custody (the default): the intake puts them on the ledger right after.
  await A.peer.dicom?.settled()
}

test('staff find a patient by MRN or name; a patient or a too-short query is refused', async () => {
  await send('MRN-DESK-1', 'SYNTH^DESKONE^ANNA', '2.25.4000001')
  await send('MRN-DESK-2', 'SYNTH^DESKTWO^BORIS', '2.25.4000002', 1)
  const doc = await user(A, 'desk-doc', 'clinician')
  const byMrn = await findHospitalPatients(doc, 'MRN-DESK-1')
  assert.equal(byMrn, [{ mrn: 'MRN-DESK-1', name: 'SYNTH^DESKONE^ANNA', birthDate: '19610412', sex: '', patientId: null, held: 2 }])
  const byName = await findHospitalPatients(doc, 'anna deskone')
  assert.equal(byName.map(p => p.mrn), ['MRN-DESK-1'], 'every word of the query, in any order, any case')
  assert.equal((await findHospitalPatients(doc, 'synth')).map(p => p.mrn).sort(), ['MRN-DESK-1', 'MRN-DESK-2'])
  assert.equal(await findHospitalPatients(doc, 'nobody here'), [])
  await rejects(async () => await findHospitalPatients(doc, 'x'), 'INVALID')
  const patient = await user(A, 'desk-nosy', 'patient')
  await rejects(async () => await findHospitalPatients(patient, 'synth'), 'FORBIDDEN')
  const admin = A.admin
  assert.is((await findHospitalPatients(admin, 'MRN-DESK-2')).length, 1, 'the admin works the desk too')
})

test('a printed enrolment code attaches the held images once; unknown and used codes are refused alike', async () => {
  await send('MRN-DESK-3', 'SYNTH^DESKTHREE^CARL', '2.25.4000003', 3)
  const doc = await user(A, 'desk-doc-3', 'clinician')
  const { code, expires } = await issueEnrolmentCode(doc, 'MRN-DESK-3')
  assert.match(code, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/)
  assert.ok(expires > Date.now() + ENROLMENT_CODE_TTL_MS - 60_000)
  const patient = await user(A, 'desk-carl', 'patient')
  await rejects(async () => await issueEnrolmentCode(patient, 'MRN-DESK-3'), 'FORBIDDEN')
  await rejects(async () => await enrolWithCode(patient, newEnrolmentCode()), 'UNKNOWN_ENROLMENT_CODE')
  await rejects(async () => await enrolWithCode(patient, 'not a code'), 'UNKNOWN_ENROLMENT_CODE')
  await rejects(async () => await enrolWithCode(doc, code), 'FORBIDDEN')
  assert.is((await patient.myImages()).length, 0)
  // Typed as people type it: lower case, spaces for dashes.
  assert.is(await enrolWithCode(patient, code.toLowerCase().replace(/-/g, ' ')), 3)
  const images = await patient.myImages()
  assert.is(images.length, 3, 'the patient sees the images in their portal')
  assert.is(new Set(images.map(i => i.dicom?.series)).size, 1, 'one series')
  await rejects(async () => await enrolWithCode(patient, code), 'UNKNOWN_ENROLMENT_CODE')
  const [found] = await findHospitalPatients(doc, 'MRN-DESK-3')
  assert.is(found.patientId, patient.user?.patientId)
  assert.is(found.held, 0)
  // A later instance for the MRN goes straight to the patient.
  await send('MRN-DESK-3', 'SYNTH^DESKTHREE^CARL', '2.25.4000033', 1)
  assert.is((await patient.myImages()).length, 4)
})

test('an MRN linked to one patient is not moved to another (MRN_LINKED), by link or by code', async () => {
  await send('MRN-DESK-4', 'SYNTH^DESKFOUR^DORA', '2.25.4000004', 1)
  const doc = await user(A, 'desk-doc-4', 'clinician')
  const dora = await user(A, 'desk-dora', 'patient')
  const other = await user(A, 'desk-other', 'patient')
  assert.is(await linkMrn(doc, 'MRN-DESK-4', dora.user?.patientId as string), 1)
  assert.is(await linkMrn(doc, 'MRN-DESK-4', dora.user?.patientId as string), 0, 'linking again to the same patient is harmless')
  await rejects(async () => await linkMrn(doc, 'MRN-DESK-4', other.user?.patientId as string), 'MRN_LINKED')
  const { code } = await issueEnrolmentCode(doc, 'MRN-DESK-4')
  await rejects(async () => await enrolWithCode(other, code), 'MRN_LINKED')
  assert.is((await other.myImages()).length, 0)
  assert.is((await dora.myImages()).length, 1)
})

test('codes: Crockford normalisation, and an expired code opens nothing', async () => {
  assert.is(normaliseEnrolmentCode('abcd-efgh-jkmn'), 'ABCDEFGHJKMN')
  assert.is(normaliseEnrolmentCode('0oIl 0000 0000'), '001100000000', 'O reads as 0, I and L as 1')
  assert.is(normaliseEnrolmentCode('ABCD-EFGH-JKM'), undefined, 'too short')
  assert.is(normaliseEnrolmentCode('ABCD-EFGH-JKMU'), undefined, 'U is not in the alphabet')
  assert.is(normaliseEnrolmentCode(42), undefined)
  const box = { publicKey: hospitalBoxPublicKey(testIdentity(9).publicKey), secretKey: hospitalBoxSecretKey(testSeed(9)) }
  const index = new PatientIndex(await tempDir('medichain-index-'), testSeed(9), box)
  await index.open()
  try {
    await index.issueCode('ABCDEFGHJKMN', 'MRN-X', 1_000)
    assert.is(await index.codeMrn('ABCDEFGHJKMN', 999), 'MRN-X')
    assert.is(await index.codeMrn('ABCDEFGHJKMN', 1_000), undefined, 'expired at its expiry')
    assert.is(await index.codeMrn('ABCDEFGHJKMP', 0), undefined, 'another code')
    await index.spendCode('ABCDEFGHJKMN')
    assert.is(await index.codeMrn('ABCDEFGHJKMN', 0), undefined, 'spent')
  } finally {
    await index.close()
  }
})

test.run()
