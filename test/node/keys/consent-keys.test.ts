// Issue 11.3 on two real hospitals: a clinician at B whose consent was revoked, and one whose
// consent expired, before they ever opened A's image cannot decrypt it, although another
// clinician's legitimate read left the ciphertext on B's disk: the consent carries no key they can
// open (only B's peer can, and it re-wraps only after the live check). Once no consent covers the
// image any more, B deletes the ciphertext it fetched (also what a read left before a restart).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { fromBase64 } from '../../../protocol/base64.ts'
import { fromHex } from '../../../protocol/bytes.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { unwrapBoundKey, unwrapKey } from '../../../protocol/crypto/key-wrap.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { hospitalGenesis, startHospital, startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** Resolves once `ledger` holds transaction `idHex` (test/helpers/ledger/until.ts). */
async function untilTx (ledger: Ledger, idHex: string): Promise<void> {
  await untilLedger(ledger, async () => await ledger.tx(fromHex(idHex)) !== undefined, `tx ${idHex.slice(0, 12)} to arrive`)
}

/** What a grantee can get of their own consent (the tx, with its keys), tried with their own box key. */
async function keysOpenFor (who: MedichainClient, consentId: string): Promise<void> {
  const answer = await (await who.request('GET', `/api/me/tx/${consentId}`)).json() as { tx: { body: { keys: Array<{ image: string, raw: string }> } } }
  const secret = who.keys?.boxSecret as Uint8Array
  assert.ok(answer.tx.body.keys.length > 0, 'the consent carries keys')
  for (const k of answer.tx.body.keys) {
    const wrapped = fromBase64(k.raw)
    throwsCode(() => unwrapKey(wrapped, secret), 'BAD_WRAPPED_KEY')
    throwsCode(() => unwrapBoundKey(wrapped, 'raw', CID.parse(k.image).bytes, secret), 'BAD_WRAPPED_KEY')
  }
}

test('a revoked and an expired grantee cannot decrypt what another read left on their hospital\'s disk', async () => {
  let skew = 0
  const clock = (): number => Date.now() + skew
  // No replicas: B holds A's image only because a read fetched it.
  hospitals = await startHospitals(2, { records: { replicas: 0 }, clock })
  const [A, B] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const pid = patient.user?.patientId as string
  const docA = await user(A, 'doc-a', 'clinician')
  const [reader, revoked, expired] = [await user(B, 'doc-b1', 'clinician'), await user(B, 'doc-b2', 'clinician'), await user(B, 'doc-b3', 'clinician')]
  await waitFor(async () => await B.peer.ledger.queries.account(fromHex(revoked.user?.signPub as string)) !== undefined && await A.peer.ledger.queries.account(fromHex(expired.user?.signPub as string)) !== undefined, { timeout: 10_000, what: 'B\'s users to reach A' })
  await docA.upload(pid, testImages().png, 'scan.png')

  const grant = async (who: MedichainClient, ms: number): Promise<string> => {
    const { id } = await patient.grant({ grantee: who.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: clock() + ms })
    await untilTx(B.peer.ledger, id)
    return id
  }
  const readerGrant = await grant(reader, 3_600_000)
  const revokedGrant = await grant(revoked, 3_600_000)
  const expiredGrant = await grant(expired, 30_000)

  // A legitimate read at B: the ciphertext now sits on B's disk, unpinned.
  const [image] = await reader.patientImages(pid)
  assert.equal(await reader.openImage(image), testImages().png)
  const raw = CID.parse(image.raw)
  assert.ok(await B.peer.storage.has(raw), 'the read left the ciphertext at B')
  assert.not.ok(B.peer.storage.isPinned(raw))

  // Revoked before ever opening the image.
  await untilTx(B.peer.ledger, (await patient.revoke(revokedGrant, revoked.user?.signPub as string)).id)
  await rejects(async () => await revoked.patientImages(pid), 'NO_CONSENT')
  await rejects(async () => await revoked.openImage(image), 'NO_CONSENT')
  await rejects(async () => await revoked.request('GET', `/api/ledger/tx/${revokedGrant}`), 'FORBIDDEN')
  await keysOpenFor(revoked, revokedGrant)

  // Expired before ever opening it (every peer's clock moves on together, within the skew limit).
  skew = 90_000
  await rejects(async () => await expired.patientImages(pid), 'NO_CONSENT')
  await keysOpenFor(expired, expiredGrant)
  assert.is(await B.peer.fetchedCopies.sweep(), 0, 'the reader\'s consent is live: B keeps its copy')
  assert.ok(await B.peer.storage.has(raw))

  // The last consent that covered the image at B ends: B deletes what it fetched.
  await untilTx(B.peer.ledger, (await patient.revoke(readerGrant, reader.user?.signPub as string)).id)
  await waitFor(async () => !(await B.peer.storage.has(raw)), { timeout: 10_000, what: 'B to delete the fetched ciphertext' })
  await rejects(async () => await reader.openImage(image), 'NO_CONSENT')
  assert.ok(await A.peer.storage.has(raw), 'the custodian keeps its copy')
  assert.equal(await patient.openImage((await patient.myImages())[0]), testImages().png)
})

test('a copy fetched under a consent that then expires is deleted by the sweep', async () => {
  let skew = 0
  const clock = (): number => Date.now() + skew
  hospitals = await startHospitals(2, { records: { replicas: 0 }, clock })
  const [A, B] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const pid = patient.user?.patientId as string
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  await waitFor(async () => await A.peer.ledger.queries.account(fromHex(docB.user?.signPub as string)) !== undefined, { timeout: 10_000, what: 'B\'s clinician to reach A' })
  await docA.upload(pid, testImages().png, 'scan.png')
  const { id } = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: clock() + 30_000 })
  await untilTx(B.peer.ledger, id)
  const [image] = await docB.patientImages(pid)
  assert.equal(await docB.openImage(image), testImages().png)
  const raw = CID.parse(image.raw)
  assert.ok(await B.peer.storage.has(raw))
  skew = 90_000
  assert.is(await B.peer.fetchedCopies.sweep(), 1)
  assert.not.ok(await B.peer.storage.has(raw), 'the expired consent\'s copy is gone')
  await rejects(async () => await docB.openImage(image), 'NO_CONSENT')
})

test('a copy a read left before a restart is found at start and deleted once its consent has ended', async () => {
  let skew = 0
  const clock = (): number => Date.now() + skew
  hospitals = await startHospitals(2, { records: { replicas: 0 }, clock })
  const [A, B] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const pid = patient.user?.patientId as string
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  await waitFor(async () => await A.peer.ledger.queries.account(fromHex(docB.user?.signPub as string)) !== undefined, { timeout: 10_000, what: 'B\'s clinician to reach A' })
  await docA.upload(pid, testImages().png, 'scan.png')
  const { id } = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: clock() + 30_000 })
  await untilTx(B.peer.ledger, id)
  const [image] = await docB.patientImages(pid)
  await docB.openImage(image)
  const raw = CID.parse(image.raw)
  assert.ok(await B.peer.storage.has(raw), 'the read left the ciphertext at B')
  await B.peer.stop()
  skew = 90_000
  const again = await startHospital(2, hospitalGenesis(2), { data: B.data, clock, records: { replicas: 0 } })
  hospitals = [A, { ...B, peer: again.peer }]
  await waitFor(async () => !(await again.peer.storage.has(raw)), { timeout: 10_000, what: 'the restarted B to delete the leftover copy' })
})

test.run()
