// The authorisation matrix over real HTTP: every role against every image route and consent
// state (none, live, expired, revoked, wrong purpose, another patient). Every refusal is a 401 or
// 403 whose body is only {code, message}: no wrapped key, no ciphertext.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { ApiError } from '../../../protocol/client/client.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { client, startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { untilTx } from '../../helpers/ledger/until.ts'
import { testClock } from '../auth/fixture.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** Status of a raw request, and its body when it failed. */
async function statusOf (c: MedichainClient, method: string, path: string): Promise<{ status: number, body: string }> {
  try {
    const res = await c.request(method, path)
    return { status: res.status, body: '' }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err
    return { status: err.status, body: JSON.stringify({ code: err.code, message: err.message }) }
  }
}

test('roles × routes × consent states', async () => {
  const clock = testClock()
  hospitals = await startHospitals(2, { clock })
  const [A, B] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const otherPatient = await user(A, 'pat2', 'patient')
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  const researcher = await user(B, 'res-b', 'researcher')
  const pid = patient.user?.patientId as string
  await docA.upload(pid, testImages().png, 'x.png')
  const [image] = await patient.myImages()
  const anonymous = client(A.url)

  const imageRoutes = [`/api/patients/${pid}/images`, `/doctor/get-patient-img?patientId=${pid}`, `/api/images/${image.raw}`]
  const expectAll = async (who: MedichainClient, status: number, label: string, at = who): Promise<void> => {
    for (const path of imageRoutes) {
      const got = await statusOf(at, 'GET', path)
      assert.is(got.status, status, `${label}: GET ${path.split('?')[0]}`)
      if (status >= 400) {
        assert.not.match(got.body, image.keys.raw, 'no wrapped key in a refusal')
        assert.ok(got.body.length < 400, 'a refusal is only {code, message}')
      }
    }
  }

  await expectAll(anonymous, 401, 'signed out')
  for (const path of ['/api/me/images', '/patient/get-my-img', '/api/me/consents', '/api/me/audit', '/api/me/credit']) {
    assert.is((await statusOf(anonymous, 'GET', path)).status, 401, `signed out: ${path}`)
    assert.is((await statusOf(docA, 'GET', path)).status, 403, `clinician: ${path}`)
    assert.is((await statusOf(patient, 'GET', path)).status, 200, `patient: ${path}`)
  }
  await expectAll(docA, 200, 'clinician at the custodian')
  for (const path of imageRoutes.slice(0, 2)) assert.is((await statusOf(patient, 'GET', path)).status, 403, `patient on a clinician route: ${path.split('?')[0]}`)
  assert.is((await statusOf(patient, 'GET', `/api/images/${image.raw}`)).status, 200, 'the patient fetches their own ciphertext')
  await expectAll(A.admin, 403, 'admin')
  await expectAll(docB, 403, 'clinician elsewhere, no consent')
  await expectAll(researcher, 403, 'researcher, no consent')
  assert.is((await otherPatient.myImages()).length, 0, 'another patient sees none of these')
  assert.is((await statusOf(otherPatient, 'GET', `/api/images/${image.raw}`)).status, 403, 'another patient cannot fetch the ciphertext')
  assert.is((await statusOf(patient, 'POST', `/api/patients/${pid}/images`)).status, 403, 'a patient cannot upload')

  const waitAtB = async (id: string): Promise<void> => await untilTx(B.peer.ledger, id, 30_000, 'a transaction to reach B')
  const grantee = docB.user?.signPub as string

  // Wrong purpose: a research consent does not open treatment reads.
  await waitAtB((await patient.grant({ grantee, kind: 'user', purpose: 'research', expires: clock() + 60_000 })).id)
  await expectAll(docB, 403, 'wrong purpose')
  // Another patient's consent to the same clinician covers only that patient's images.
  await waitAtB((await otherPatient.grant({ grantee, kind: 'user', purpose: 'treatment', expires: clock() + 60_000 })).id)
  await expectAll(docB, 403, 'another patient\'s consent')
  // Live.
  const live = await patient.grant({ grantee, kind: 'user', purpose: 'treatment', expires: clock() + 60_000 })
  await waitAtB(live.id)
  await expectAll(docB, 200, 'live consent', docB)
  // Expired: the peers' clock moves past the expiry.
  clock.advance(61_000)
  await expectAll(docB, 403, 'expired consent')
  // Revoked.
  const second = await patient.grant({ grantee, kind: 'user', purpose: 'treatment', expires: clock() + 60_000 })
  await waitAtB(second.id)
  await expectAll(docB, 200, 'granted again')
  await waitAtB((await patient.revoke(second.id, grantee)).id)
  await expectAll(docB, 403, 'revoked')
  // A research consent opens the image to the researcher.
  await waitAtB((await patient.grant({ grantee: researcher.user?.signPub as string, kind: 'user', purpose: 'research', expires: clock() + 60_000 })).id)
  await expectAll(researcher, 200, 'researcher with a research consent')
})

test.run()
