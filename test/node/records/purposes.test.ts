// One consent per grantee and purpose, end to end over HTTP (docs/design.md §5): a patient lets Hospital B
// treat and train; a later revoke of training leaves B's clinicians reading; a revoke of every
// purpose stops both; a revoke naming another purpose than its consent's is refused.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { filterByTrainingConsent } from '../../../node/fl/round/consent.ts'
import type { TrainingItem } from '../../../node/fl/round/consent.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { untilTx } from '../../helpers/ledger/until.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** What B's training filter does with the patient's image: kept, or why not. */
async function trainingAtB (B: Hospital, patientId: string): Promise<string> {
  const item: TrainingItem = { patient: fromHex(patientId), load: async () => await Promise.reject(new Error('an excluded image is never loaded')) }
  const result = await filterByTrainingConsent([item], { consentsOf: B.peer.ledger.queries.consentsOf, hospital: B.peer.ledger.self, now: Date.now() })
  if (result.kept.length === 1) return 'kept'
  return Object.entries(result.reasons).find(([, n]) => n > 0)?.[0] ?? 'none'
}

/** The patient's consent list as `purpose:action`, sorted. */
async function listed (patient: Awaited<ReturnType<typeof user>>): Promise<string[]> {
  return (await patient.myConsents()).consents.map(c => `${String(c.purpose)}:${String(c.action)}`).sort()
}

test('treatment and training to one hospital are independent: revoke one, then revoke all', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  const pid = patient.user?.patientId as string
  await docA.upload(pid, testImages().png, 'x.png')
  const hospitalB = toHex(B.peer.ledger.self)
  const expires = Date.now() + 3_600_000

  const treatment = await patient.grant({ grantee: hospitalB, kind: 'hospital', purpose: 'treatment', expires })
  const training = await patient.grant({ grantee: hospitalB, kind: 'hospital', purpose: 'training', expires })
  await untilTx(B.peer.ledger, training.id)
  assert.equal(await listed(patient), ['training:grant', 'treatment:grant'], 'both consents are live, each listed on its own')
  assert.is((await docB.patientImages(pid)).length, 1, 'B\'s clinician reads under the treatment consent')
  assert.is(await trainingAtB(B, pid), 'kept', 'B trains under the training consent')

  // A revoke naming another purpose than its consent's is refused, and writes nothing.
  await rejects(async () => await patient.revoke(treatment.id, hospitalB, 'training'), 'INVALID')
  await rejects(async () => await patient.revoke(training.id, hospitalB, 'research'), 'INVALID')
  assert.equal(await listed(patient), ['training:grant', 'treatment:grant'])

  const revokeTraining = await patient.revoke(training.id, hospitalB, 'training')
  await untilTx(B.peer.ledger, revokeTraining.id)
  assert.equal(await listed(patient), ['training:revoke', 'treatment:grant'], 'only training is revoked')
  assert.is((await docB.patientImages(pid)).length, 1, 'treatment reads still work')
  assert.is(await trainingAtB(B, pid), 'revoked', 'B no longer trains on the image')

  const revokeAll = await patient.revoke(treatment.id, hospitalB)
  await untilTx(B.peer.ledger, revokeAll.id)
  // Research was never granted, so the list does not show its revoke record.
  assert.equal(await listed(patient), ['training:revoke', 'treatment:revoke'], 'a revoke without purpose ends both')
  await rejects(async () => await docB.patientImages(pid), 'NO_CONSENT')
  assert.is(await trainingAtB(B, pid), 'revoked')
  assert.is((await patient.myConsents()).consents.length, 2, 'one entry per (grantee, purpose) granted')
})

test.run()
