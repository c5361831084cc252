// Break-glass where hospital policy allows it (and only there), shown to the patient as an
// emergency, refused with a code at a hospital that holds none of the images; the seed upload route with its patientId form field; the credit score.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex } from '../../../protocol/bytes.ts'
import { ApiError } from '../../../protocol/client/client.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor } from '../../helpers/timeout.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

test('break-glass opens images only with a reason and where policy allows, and the patient sees it', async () => {
  hospitals = await startHospitals(1, { records: { custodianRead: false, breakGlass: true } })
  const [A] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const doc = await user(A, 'doc', 'clinician')
  const pid = patient.user?.patientId as string
  // The seed route: multipart with the patient id as a form field.
  const form = new FormData()
  form.append('patientId', pid)
  form.append('file', new Blob([testImages().png as BlobPart]), 'scan.png')
  const res = await doc.request('POST', '/doctor/upload-patient-img', form)
  assert.is(res.status, 201)
  await rejects(async () => await doc.patientImages(pid), 'NO_CONSENT')
  await rejects(async () => await doc.emergency(pid, 'too short'), 'INVALID')
  await rejects(async () => await patient.emergency(pid, 'I am the patient, let me in'), 'FORBIDDEN')
  await doc.emergency(pid, 'unconscious patient in the emergency department')
  const [image] = await doc.patientImages(pid)
  assert.is(image.basis, 'emergency')
  assert.equal(await doc.openImage(image), testImages().png)
  const audit = await patient.myAudit()
  assert.ok(audit.length >= 2 && audit.every(e => e.emergency === true), 'every emergency read is flagged for the patient')
})

test('break-glass at a hospital that holds none of the images needs the emergency role there (issue 16.4): without it, refused and nothing opens', async () => {
  hospitals = await startHospitals(2, { records: { custodianRead: true, breakGlass: true } })
  const [A, B] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  const pid = patient.user?.patientId as string
  await docA.upload(pid, testImages().png, 'scan.png')
  await waitFor(async () => (await B.peer.ledger.queries.imagesOf(fromHex(pid))).length === 1, { timeout: 10_000, what: 'the image record to reach B' })
  const err = await rejects(async () => await docB.emergency(pid, 'unconscious patient in the emergency department'), 'EMERGENCY_ROLE')
  assert.is((err as ApiError).status, 403)
  await rejects(async () => await docB.patientImages(pid), 'NO_CONSENT')
  assert.is((await patient.myAudit()).filter(e => e.emergency === true).length, 0, 'nothing was opened as an emergency')
  // At the hospital that holds the image, the same declaration opens it.
  await docA.emergency(pid, 'unconscious patient in the emergency department')
})

test('no break-glass where policy forbids it', async () => {
  hospitals = await startHospitals(1, { records: { custodianRead: false, breakGlass: false } })
  const [A] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const doc = await user(A, 'doc', 'clinician')
  try {
    await doc.emergency(patient.user?.patientId as string, 'unconscious patient in the emergency department')
    assert.unreachable('emergency access was allowed')
  } catch (err) {
    assert.instance(err, ApiError)
    assert.is((err as ApiError).status, 403)
  }
})

test('the credit score counts research and training consents and shows its formula', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const researcher = await user(A, 'res', 'researcher')
  const before = await patient.myCredit() as { score: number }
  await patient.grant({ grantee: researcher.user?.signPub as string, kind: 'user', purpose: 'research', expires: Date.now() + 60_000 })
  await patient.grant({ grantee: A.peer.ledger.self.reduce((s, b) => s + b.toString(16).padStart(2, '0'), ''), kind: 'hospital', purpose: 'training', expires: Date.now() + 60_000 })
  const after = await patient.myCredit() as { score: number, breakdown: { researchConsents: number, trainingConsents: number }, formula: string }
  assert.is(after.breakdown.researchConsents, 1)
  assert.is(after.breakdown.trainingConsents, 1)
  assert.is(after.score - before.score, 20)
  assert.match(after.formula, 'research')
})

test.run()
