// Emergency access across hospitals (issue 16.4) on two real hospitals: the patient's image is at
// A; clinicians at B declare emergencies. B refuses a clinician its admin gave no emergency role;
// with the role, A releases the keys for a bounded window (recorded on the ledger as an
// emergency, seen at once by the patient), B's clinician opens the image, A's admin reviews the
// release with the reason and records a verdict; over the per-clinician and per-hospital limits A
// refuses; when the window ends nothing opens any more. The ledger refuses a release without the
// role grant, by a hospital that holds no image, or with an unbounded window. The clock is moved
// by hand (one clock shared by both peers), so nothing sleeps.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { rejects } from '../../helpers/assert.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { createLogger } from '../../../node/logger.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const WINDOW_MS = 10 * 60_000
const REASON = 'unconscious after a road accident, allergy history needed'

async function body<T> (c: MedichainClient, method: string, path: string, json?: unknown): Promise<T> {
  return await (await c.request(method, path, json)).json() as T
}

test('cross-hospital emergency: role, release, patient sees it, review, rate limits, window end, ledger refusals', async () => {
  let offset = 0
  const clock = (): number => Date.now() + offset
  hospitals = await startHospitals(2, { ...(process.env.LOG_LEVEL === undefined ? {} : { logger: createLogger({ level: 'debug' }) }), clock, records: { emergencyWindowMs: WINDOW_MS, emergenciesPerClinician: 2, emergenciesPerHospital: 3 } })
  const [A, B] = hospitals
  const pat = await user(A, 'pat', 'patient')
  const pid = pat.user?.patientId as string
  const loner = await user(A, 'pat-no-images', 'patient')
  const docA = await user(A, 'doc-a', 'clinician')
  const png = testImages().png
  await docA.upload(pid, png, 'scan.png')
  const [b1, b2, b3] = [await user(B, 'doc-b1', 'clinician'), await user(B, 'doc-b2', 'clinician'), await user(B, 'doc-b3', 'clinician')]
  const keyOf = (c: MedichainClient): string => c.user?.signPub as string
  await waitFor(async () => (await B.peer.ledger.queries.imagesOf(fromHex(pid))).length === 1 && await A.peer.ledger.queries.account(fromHex(keyOf(b3))) !== undefined, { timeout: 20_000, what: 'the image at B and B\'s clinicians at A' })

  // Without the role B's admin gives, nothing is asked of A.
  await rejects(async () => await b1.emergency(pid, REASON), 'EMERGENCY_ROLE')
  await rejects(async () => await b1.patientImages(pid), 'NO_CONSENT')
  for (const c of [b1, b2, b3]) await body(B.admin, 'PUT', `/api/emergency-roles/${keyOf(c)}`, { role: 'allow' })
  await untilLedger(A.peer.ledger, async () => (await A.peer.ledger.queries.emergencies.role(fromHex(keyOf(b3))))?.role === 'allow', 'the roles at A', 20_000)
  // A patient whose images nobody holds: nothing to release.
  await rejects(async () => await b1.emergency(loner.user?.patientId as string, REASON), 'EMERGENCY_NOT_CUSTODIAN')

  const declared = await b1.emergency(pid, REASON) as { until: number, where?: string, hospitals?: string[] }
  assert.is(declared.where, 'elsewhere')
  assert.equal(declared.hospitals, [toHex(A.peer.ledger.self)])
  assert.ok(declared.until > clock() && declared.until <= clock() + WINDOW_MS)
  // The patient sees it at once, at their own hospital (A wrote it before releasing anything).
  const seen = await body<{ emergencies: Array<{ clinician: { key: string }, hospital: { key: string }, review: unknown }> }>(pat, 'GET', '/api/me/emergencies')
  assert.equal(seen.emergencies.map(e => [e.clinician.key, e.hospital.key, e.review]), [[keyOf(b1), toHex(B.peer.ledger.self), null]])
  // B's clinician opens the image with the keys A released, re-wrapped by B.
  const [image] = await b1.patientImages(pid)
  assert.is(image.basis, 'emergency')
  assert.equal(await b1.openImage(image), png)
  // Another clinician at B, without a declaration of their own, opens nothing.
  await rejects(async () => await b2.patientImages(pid), 'NO_CONSENT')

  // A's admin reviews after the fact, with the reason, and records a verdict on the ledger.
  const review = await body<{ emergencies: Array<{ id: string, reason?: string, review: unknown }> }>(A.admin, 'GET', '/api/emergencies')
  assert.is(review.emergencies.length, 1)
  assert.is(review.emergencies[0].reason, REASON)
  await body(A.admin, 'POST', `/api/emergencies/${review.emergencies[0].id}/review`, { verdict: 'unjustified' })
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.emergencies.of(fromHex(pid)))[0]?.review?.verdict === 'unjustified', 'the verdict at B', 20_000)
  // B cannot review A's release.
  await rejects(async () => await B.peer.ledger.submitOwn('emergency.review', { access: fromHex(review.emergencies[0].id), patient: fromHex(pid), verdict: 'justified' }), 'EMERGENCY_UNKNOWN')

  // Limits at A: two per clinician, three per hospital, in the window.
  await b1.emergency(pid, REASON)
  const overClinician = await rejects(async () => await b1.emergency(pid, REASON), 'RATE_LIMITED') as { status?: number, retryAfter?: number | null }
  assert.is(overClinician.status, 429)
  assert.ok((overClinician.retryAfter ?? 0) > 0)
  await b2.emergency(pid, REASON)
  await rejects(async () => await b3.emergency(pid, REASON), 'RATE_LIMITED')

  // When the window ends, nothing more opens.
  offset += WINDOW_MS + 1000
  await rejects(async () => await b1.patientImages(pid), 'NO_CONSENT')
  await rejects(async () => await b1.openImage(image), 'NO_CONSENT')

  // A role taken back: the clinician's next declaration is refused.
  await body(B.admin, 'PUT', `/api/emergency-roles/${keyOf(b2)}`, { role: 'deny' })
  await rejects(async () => await b2.emergency(pid, REASON), 'EMERGENCY_ROLE')

  // The ledger's own rules, whatever a peer's code does.
  const roleTx = (await A.peer.ledger.queries.emergencies.role(fromHex(keyOf(b1))))?.tx as Uint8Array
  const release = { patient: fromHex(pid), accessor: fromHex(keyOf(b1)), hospital: B.peer.ledger.self, until: clock() + 60_000, role: roleTx, reason: new Uint8Array(32) }
  await rejects(async () => await B.peer.ledger.submitOwn('emergency.access', release), 'EMERGENCY_NOT_CUSTODIAN')
  await rejects(async () => await A.peer.ledger.submitOwn('emergency.access', { ...release, role: new Uint8Array(32).fill(3) }), 'EMERGENCY_ROLE')
  await rejects(async () => await A.peer.ledger.submitOwn('emergency.access', { ...release, until: clock() + 48 * 3_600_000 }), 'BAD_EMERGENCY')
  await rejects(async () => await A.peer.ledger.submitOwn('emergency.role', { subject: fromHex(keyOf(b1)), role: 'allow' }), 'EMERGENCY_ROLE')
})

test.run()
