// Assisted recovery (issue 16.3) on three real hospitals: the patient's images are held by A and B,
// and a clinician at C reads them under the patient's consent. A patient who lost password and
// recovery code gets a new key at a hospital that checks them in person. One hospital alone
// (even a custodian, even co-signing twice) never moves the patient; a hospital that holds none of
// the images cannot co-sign; the old key's session and a custodian's admin each veto during the
// waiting period. Co-signed by A and B and not vetoed, the request takes effect after the
// (short, configured) waiting period: A and B re-wrap their keys for the new key, which opens
// every image, sees the old reads, and revokes the consent the old key gave; the ledger refuses
// the rules' breaches with their codes. Nothing sleeps: the tests await ledger events.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { equals, fromHex } from '../../../protocol/bytes.ts'
import { cosignRekey, listRekeys, myRekeys, startAssistedRecovery, vetoMyRekey, vetoRekey } from '../../../protocol/client/recovery.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { nodeIdentity, randomSeed } from '../../../ledger/verify/node-crypto.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { REKEY_REWRAPPED } from '../../../node/records/patient-rekeys.ts'
import { rejects } from '../../helpers/assert.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { cleanup, makeTx } from '../../helpers/ledger/fixture.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { client, startHospitals, stopHospitals, TEST_VAULT_ITERATIONS, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const NEW_PASSWORD = 'the new key has a new password'

/** Resolves once every hospital holds request `id` with `status` at `now`. */
async function untilStatus (id: string, status: string, now = (): number => Date.now()): Promise<void> {
  for (const h of hospitals) {
    await untilLedger(h.peer.ledger, async () => (await h.peer.ledger.queries.rekeys.view(fromHex(id), now()))?.status === status, `request ${status} at ${h.name}`, 20_000)
  }
}

/** Three hospitals; the patient at A with one image at A and one at B; a clinician at C holding a consent. */
async function scene (delayMs: number): Promise<{ A: Hospital, B: Hospital, C: Hospital, pat: MedichainClient, pid: string, docC: MedichainClient, grant: string, images: Uint8Array[] }> {
  hospitals = await startHospitals(3, { recovery: { cosigners: 2, delayMs } })
  const [A, B, C] = hospitals
  const pat = await user(A, 'pat', 'patient')
  const pid = pat.user?.patientId as string
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  const docC = await user(C, 'doc-c', 'clinician')
  await waitFor(async () => await B.peer.ledger.queries.patientAccount(fromHex(pid)) !== undefined, { timeout: 20_000, what: 'the patient to reach B' })
  const { png, jpeg } = testImages()
  await docA.upload(pid, png, 'a.png')
  await docB.upload(pid, jpeg, 'b.jpg')
  await waitFor(async () => (await A.peer.ledger.queries.imagesOf(fromHex(pid))).length === 2 && await A.peer.ledger.queries.account(fromHex(docC.user?.signPub as string)) !== undefined, { timeout: 20_000, what: 'both images and C\'s clinician at A' })
  const grant = await pat.grant({ grantee: docC.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 3_600_000 })
  await untilLedger(C.peer.ledger, async () => await C.peer.ledger.tx(fromHex(grant.id)) !== undefined, 'the consent at C', 20_000)
  assert.is((await docC.patientImages(pid)).length, 2)
  return { A, B, C, pat, pid, docC, grant: grant.id, images: [png, jpeg] }
}

test('one hospital alone never rekeys; a non-custodian cannot co-sign; the old key and a custodian veto during the wait', async () => {
  const { A, B, C, pat, pid } = await scene(60 * 60_000)
  // A custodian starts a request: with only its own signature it never takes effect.
  const alone = await startAssistedRecovery(A.admin, { username: 'pat-new', password: NEW_PASSWORD, oldPatientId: pid, vaultIterations: TEST_VAULT_ITERATIONS })
  await untilStatus(alone.id, 'cosigning')
  const later = (): number => Date.now() + 10 * 60 * 60_000
  assert.is((await A.peer.ledger.queries.rekeys.view(fromHex(alone.id), later()))?.status, 'cosigning', 'hours later, still waiting for a second hospital')
  // Co-signing its own request again counts once.
  await cosignRekey(A.admin, alone.id)
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.rekeys.view(fromHex(alone.id), later()))?.cosigners.length === 1 && (await B.peer.ledger.queries.getPatientHashHistory(fromHex(pid))).some(e => e.tx.type === 'patient.cosign'), 'A\'s second signature at B', 20_000)
  assert.is((await B.peer.ledger.queries.rekeys.view(fromHex(alone.id), later()))?.status, 'cosigning')
  // C holds none of the images: its co-signature is refused by the ledger, through the peer.
  await rejects(async () => await cosignRekey(C.admin, alone.id), 'REKEY_NOT_CUSTODIAN')
  // The new key opens nothing of the old patient's.
  const fresh = client(A.url)
  await fresh.signIn('pat-new', NEW_PASSWORD)
  assert.equal(await fresh.myImages(), [])

  // The old key's device sees the request at once and vetoes it after B co-signed.
  const mine = await myRekeys(pat)
  assert.equal(mine.from.map(r => [r.id, r.status]), [[alone.id, 'cosigning']])
  await cosignRekey(B.admin, alone.id)
  await untilStatus(alone.id, 'waiting')
  await vetoMyRekey(pat, alone.id)
  await untilStatus(alone.id, 'vetoed')
  assert.is((await A.peer.ledger.queries.rekeys.view(fromHex(alone.id), later()))?.status, 'vetoed', 'vetoed stays vetoed after the wait')
  await rejects(async () => await cosignRekey(B.admin, alone.id), 'REKEY_CLOSED')

  // A second request, vetoed by a custodian's admin instead.
  const second = await startAssistedRecovery(C.admin, { username: 'pat-again', password: NEW_PASSWORD, oldPatientId: pid, vaultIterations: TEST_VAULT_ITERATIONS })
  await untilStatus(second.id, 'cosigning')
  await cosignRekey(A.admin, second.id)
  await cosignRekey(B.admin, second.id)
  await untilStatus(second.id, 'waiting')
  const listed = await listRekeys(B.admin)
  assert.ok(listed.some(r => r.id === second.id && r.status === 'waiting' && r.cosigners.length === 3), 'B\'s admin page lists the request')
  await vetoRekey(B.admin, second.id)
  await untilStatus(second.id, 'vetoed')
  // A patient's veto must be signed by the old key: another patient's key is refused by the ledger.
  const other = await user(A, 'someone-else', 'patient')
  const stranger = nodeIdentity(randomSeed())
  await rejects(async () => await vetoMyRekey(other, second.id), 'NOT_FOUND')
  const forged = makeTx(A.peer.ledger.id, stranger, 'patient.veto', { rekey: fromHex(second.id), patient: fromHex(pid) }, 0, Date.now())
  await rejects(async () => await A.peer.ledger.submit(forged), 'REKEY_VETO_SIGNER')
})

test('co-signed by two custodians and not vetoed, the request takes effect: keys re-wrapped, images open, history follows, old consent revocable', async () => {
  const { A, B, C, pid, docC, grant, images } = await scene(2_000)
  const rewrapped = (h: Hospital): Promise<void> => withTimeout(new Promise<void>(resolve => h.peer.patientRekeys.addEventListener(REKEY_REWRAPPED, () => { resolve() }, { once: true })), 60_000, `re-wrap at ${h.name}`)
  const atA = rewrapped(A)
  const atB = rewrapped(B)
  // The patient turns up at C, which holds none of the images; A and B co-sign after their own checks.
  const req = await startAssistedRecovery(C.admin, { username: 'pat-new', password: NEW_PASSWORD, oldPatientId: pid, vaultIterations: TEST_VAULT_ITERATIONS })
  await untilStatus(req.id, 'cosigning')
  await cosignRekey(A.admin, req.id)
  await cosignRekey(B.admin, req.id)
  await atA
  await atB
  await untilStatus(req.id, 'effective')
  // A re-wrap for another key than the new one is refused by the ledger.
  const bad = { rekey: fromHex(req.id), patient: fromHex(pid), images: [] }
  await rejects(async () => await A.peer.ledger.submitOwn('patient.rewrap', { ...bad, images: [{ raw: (await A.peer.ledger.queries.imagesOf(fromHex(pid))).filter(i => equals(i.custodian, A.peer.ledger.self))[0].raw, keys: { to: new Uint8Array(32).fill(9), raw: new Uint8Array(80), result: null } }] }), 'BAD_REWRAP')

  const fresh = client(C.url)
  await fresh.signIn('pat-new', NEW_PASSWORD)
  assert.is(fresh.user?.patientId, req.patientId)
  await untilLedger(C.peer.ledger, async () => (await fresh.myImages()).length === 2, 'both re-wrapped images at C', 20_000)
  const opened = await Promise.all((await fresh.myImages()).map(async i => await fresh.openImage(i)))
  assert.equal(new Set(opened.map(b => Buffer.from(b).toString('base64'))), new Set(images.map(b => Buffer.from(b).toString('base64'))))
  // The audit history follows the patient: C's clinician's earlier reads show to the new key.
  const audit = await fresh.request('GET', '/api/me/audit')
  const entries = (await audit.json() as { entries: Array<{ accessor: string }> }).entries
  assert.ok(entries.some(e => e.accessor === docC.user?.signPub), 'the old reads are in the new key\'s audit')
  // The old key's consent stays valid until the new key revokes it.
  assert.is((await docC.patientImages(pid)).length, 2)
  const revoke = await fresh.revoke(grant, docC.user?.signPub as string, 'treatment')
  await untilLedger(C.peer.ledger, async () => await C.peer.ledger.tx(fromHex(revoke.id)) !== undefined, 'the revoke at C', 20_000)
  await rejects(async () => await docC.patientImages(pid), 'NO_CONSENT')
  // The new key grants consent anew for the images it took over.
  const regrant = await fresh.grant({ grantee: docC.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 3_600_000 })
  await untilLedger(C.peer.ledger, async () => await C.peer.ledger.tx(fromHex(regrant.id)) !== undefined, 'the new grant at C', 20_000)
  const reopened = await docC.patientImages(pid)
  assert.is(reopened.length, 2)
  assert.equal(new Set(await Promise.all(reopened.map(async i => Buffer.from(await docC.openImage(i)).toString('base64')))), new Set(images.map(b => Buffer.from(b).toString('base64'))))
})

test('the ledger refuses a co-signature or re-wrap by a hospital that holds none of the images, and a request for another hospital, an unknown patient, the same key or a registered key', async () => {
  const { A, C, pat, pid, docC } = await scene(60 * 60_000)
  const req = await startAssistedRecovery(A.admin, { username: 'pat-new', password: NEW_PASSWORD, oldPatientId: pid, vaultIterations: TEST_VAULT_ITERATIONS })
  await untilLedger(C.peer.ledger, async () => await C.peer.ledger.queries.rekeys.view(fromHex(req.id), Date.now()) !== undefined, 'the request at C', 20_000)
  const ledger: Ledger = C.peer.ledger
  await rejects(async () => await ledger.submitOwn('patient.cosign', { rekey: fromHex(req.id), patient: fromHex(pid) }), 'REKEY_NOT_CUSTODIAN')
  await rejects(async () => await ledger.submitOwn('patient.veto', { rekey: fromHex(req.id), patient: fromHex(pid) }), 'REKEY_VETO_SIGNER')
  const image = (await ledger.queries.imagesOf(fromHex(pid)))[0]
  await rejects(async () => await ledger.submitOwn('patient.rewrap', { rekey: fromHex(req.id), patient: fromHex(pid), images: [{ raw: image.raw, keys: { to: new Uint8Array(32), raw: new Uint8Array(80), result: null } }] }), 'REKEY_NOT_CUSTODIAN')
  await rejects(async () => await ledger.submitOwn('patient.cosign', { rekey: new Uint8Array(32).fill(1), patient: fromHex(pid) }), 'REKEY_UNKNOWN')
  // The request itself: for the hospital whose block carries it, of a registered patient, to a new key.
  const fresh = nodeIdentity(randomSeed())
  const rekey = (signer: typeof fresh, body: { old: Uint8Array, hospital: Uint8Array }): Promise<unknown> =>
    ledger.submit(makeTx(ledger.id, signer, 'patient.rekey', { ...body, box: new Uint8Array(32).fill(4) }, 0, Date.now()))
  await rejects(async () => await rekey(fresh, { old: fromHex(pid), hospital: A.peer.ledger.self }), 'UNAUTHORISED_SIGNER')
  await rejects(async () => await rekey(fresh, { old: new Uint8Array(32).fill(5), hospital: ledger.self }), 'REKEY_UNKNOWN')
  const oldKey = nodeIdentity(pat.keys?.signSeed as Uint8Array)
  await rejects(async () => await rekey(oldKey, { old: fromHex(pid), hospital: ledger.self }), 'BAD_REKEY')
  const taken = nodeIdentity(docC.keys?.signSeed as Uint8Array)
  await rejects(async () => await rekey(taken, { old: fromHex(pid), hospital: ledger.self }), 'BAD_REKEY')
})

test.run()
