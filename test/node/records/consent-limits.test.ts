// Consents over HTTP on real peers (issue 11.5): the consents only the SDK used to refuse are now
// refused by the peer's ledger with a code, and a consent flood from one patient is throttled
// (429 RATE_LIMITED with Retry-After) while the peer keeps serving every other user.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { ApiError } from '../../../protocol/client/client.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { buildConsentGrant } from '../../../protocol/chain/consent.ts'
import { nobleIdentity } from '../../../protocol/crypto/ed25519.ts'
import { signTx } from '../../../protocol/chain/tx.ts'
import type { TxBodies } from '../../../protocol/chain/tx.ts'
import { txToBase64 } from '../../../protocol/chain/tx-transport.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, testIdentity } from '../../helpers/ledger/fixture.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const HOUR = 3_600_000

/** Signs a grant with the patient's own key, bypassing the SDK's checks, as a hostile client would. */
async function rawGrant (patient: MedichainClient, body: Partial<TxBodies['consent.grant']> & { grantee: Uint8Array }, opts: { seq?: number, time?: number } = {}): Promise<string> {
  const keys = patient.keys
  if (keys === null) throw new Error('the patient is not signed in')
  const identity = nobleIdentity(keys.signSeed)
  const { ledger } = await patient.peerInfo()
  const { nextSeq } = await patient.myConsents()
  const full: TxBodies['consent.grant'] = { kind: 'hospital', purpose: 'treatment', scope: { kind: 'all' }, expires: Date.now() + HOUR, keys: [], ...body }
  const tx = signTx(ledger, { type: 'consent.grant', body: full, signer: identity.publicKey, seq: opts.seq ?? nextSeq, time: opts.time ?? Date.now() }, identity)
  return txToBase64(tx)
}

async function post (patient: MedichainClient, tx: string): Promise<unknown> {
  return await (await patient.request('POST', '/api/consents', { tx })).json()
}

test('the peer refuses what only the SDK refused: self, expired, far-future time, unknown grantee, another patient\'s image', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const otherPatient = await user(A, 'pat2', 'patient')
  const doc = await user(A, 'doc', 'clinician')
  const hospitalB = fromHex(toHex(B.peer.ledger.self))
  const self = fromHex(String(patient.keys === null ? '' : toHex(patient.keys.signPub)))
  const before = A.peer.ledger.size()

  await rejects(async () => await post(patient, await rawGrant(patient, { grantee: self, kind: 'user' })), 'CONSENT_SELF')
  await rejects(async () => await post(patient, await rawGrant(patient, { grantee: hospitalB, expires: Date.now() - 1 })), 'CONSENT_EXPIRED')
  await rejects(async () => await post(patient, await rawGrant(patient, { grantee: hospitalB }, { time: Number.MAX_SAFE_INTEGER })), 'TX_TIME')
  await rejects(async () => await post(patient, await rawGrant(patient, { grantee: testIdentity(99).publicKey, kind: 'user' })), 'UNKNOWN_GRANTEE')
  await rejects(async () => await post(patient, await rawGrant(patient, { grantee: testIdentity(99).publicKey, kind: 'hospital' })), 'UNKNOWN_GRANTEE')
  // Another patient's image, uploaded at A for them: its CID in a grant's scope is FOREIGN_IMAGE.
  const theirs = await doc.upload(String(otherPatient.user?.patientId), testImages().png, 'theirs.png')
  const foreign = { grantee: hospitalB, scope: { kind: 'images' as const, images: [CID.parse(String(theirs.raw))] } }
  await rejects(async () => await post(patient, await rawGrant(patient, foreign)), 'FOREIGN_IMAGE')
  const err = await rejects(async () => await post(patient, await rawGrant(patient, { grantee: hospitalB, expires: 0 })), 'CONSENT_EXPIRED')
  assert.is((err as ApiError).status, 400)
  assert.is(A.peer.ledger.size(), before + 1, 'only the other patient\'s image was written')
  // The honest path still works, through the SDK.
  assert.match((await patient.grant({ grantee: toHex(hospitalB), kind: 'hospital', purpose: 'treatment', expires: Date.now() + HOUR })).id, /^[0-9a-f]{64}$/)
})

test('a consent flood from one patient is throttled while the peer keeps serving everyone else', async () => {
  hospitals = await startHospitals(1, { records: { writesPerPatient: 10, writesPerPeer: 1000 } })
  const [A] = hospitals
  const flooder = await user(A, 'flood', 'patient')
  const calm = await user(A, 'calm', 'patient')
  const keys = flooder.keys
  assert.ok(keys)
  const { ledger } = await flooder.peerInfo()
  const grantee = A.peer.ledger.self
  const grants = Array.from({ length: 100 }, (_, seq) => txToBase64(buildConsentGrant({
    ledgerId: ledger, patient: keys, grantee, kind: 'hospital', purpose: 'research', scope: { kind: 'all' }, expires: Date.now() + HOUR, images: [], seq, time: Date.now()
  })))
  const before = A.peer.ledger.size()
  const started = performance.now()
  const flood = Promise.allSettled(grants.map(async tx => await post(flooder, tx)))
  // Sent while the flood is in flight: another patient's write and read are served.
  const served = performance.now()
  const granted = await calm.grant({ grantee: toHex(grantee), kind: 'hospital', purpose: 'training', expires: Date.now() + HOUR })
  const consents = await calm.myConsents()
  const calmMs = performance.now() - served
  const results = await flood
  const floodMs = performance.now() - started
  assert.match(granted.id, /^[0-9a-f]{64}$/)
  assert.is(consents.consents.length, 1)
  const limited = results.filter(r => r.status === 'rejected' && r.reason instanceof ApiError && r.reason.code === 'RATE_LIMITED')
  assert.is(results.filter(r => r.status === 'fulfilled').length, 10, 'the patient\'s budget of ten writes')
  assert.is(limited.length, 90, 'every other write of the flood answered 429')
  for (const r of limited) {
    const retry = r.status === 'rejected' && r.reason instanceof ApiError ? r.reason.retryAfter : null
    assert.ok(retry !== null && retry > 0 && retry <= 60, 'with a Retry-After within the window')
  }
  assert.ok(A.peer.ledger.size() - before <= 11, 'the ledger grew by at most the admitted writes')
  console.log(`flood of 100 consents: ${Math.round(floodMs)} ms, 10 admitted; another patient's grant and read during it: ${Math.round(calmMs)} ms`)
})

test('a user refused by their own budget does not spend the peer\'s, which bounds all users together', async () => {
  hospitals = await startHospitals(1, { records: { writesPerPatient: 3, writesPerPeer: 6 } })
  const [A] = hospitals
  const [flooder, calm, late] = [await user(A, 'flood', 'patient'), await user(A, 'calm', 'patient'), await user(A, 'late', 'patient')]
  const grantee = toHex(A.peer.ledger.self)
  const grant = async (c: MedichainClient, purpose: 'treatment' | 'research' | 'training'): Promise<unknown> =>
    await c.grant({ grantee, kind: 'hospital', purpose, expires: Date.now() + HOUR })
  for (const purpose of ['treatment', 'research', 'training'] as const) await grant(flooder, purpose)
  for (let i = 0; i < 5; i++) await rejects(async () => await grant(flooder, 'treatment'), 'RATE_LIMITED')
  for (const purpose of ['treatment', 'research', 'training'] as const) await grant(calm, purpose)
  const err = await rejects(async () => await grant(late, 'treatment'), 'RATE_LIMITED')
  assert.is((err as ApiError).status, 429)
  // Reads are never limited.
  assert.is((await late.myConsents()).consents.length, 0)
})

test.run()
