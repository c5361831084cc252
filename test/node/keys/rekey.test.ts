// Issue 11.3 "revoke and re-key" on two real hospitals: after a clinician at B read the patient's
// image (and so held its data key), the patient revokes with a re-key. The custodian A re-encrypts
// under a new key and records `image.rekey` with new CIDs linked to the old; both members (B pinned
// a replica) unpin and delete the old ciphertext; the patient reads the new image; the key B's
// clinician had opens nothing. The ledger refuses a re-key by anyone but the custodian.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { fromBase64 } from '../../../protocol/base64.ts'
import { fromHex } from '../../../protocol/bytes.ts'
import { unwrapKey } from '../../../protocol/crypto/key-wrap.ts'
import { buildConsentRevoke } from '../../../protocol/chain/consent.ts'
import { decryptContentSync } from '../../../node/storage/seal/content-crypto-node.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
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

test('revoke and re-key: new CIDs linked to the old, the old ciphertext gone from every member', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const pid = patient.user?.patientId as string
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  await waitFor(async () => await A.peer.ledger.queries.account(fromHex(docB.user?.signPub as string)) !== undefined, { timeout: 10_000, what: 'B\'s clinician to reach A' })
  const png = testImages().png
  await docA.upload(pid, png, 'scan.png')
  const grant = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 3_600_000 })
  await untilTx(B.peer.ledger, grant.id)
  const [read] = await docB.patientImages(pid)
  assert.equal(await docB.openImage(read), png)
  // What B's clinician legitimately had in hand: the old data key.
  const keptKey = unwrapKey(fromBase64(read.keys.raw), docB.keys?.boxSecret as Uint8Array)
  const old = CID.parse(read.raw)
  await waitFor(async () => { await B.peer.storage.repair(); return B.peer.storage.isPinned(old) }, { timeout: 20_000, what: 'B to pin a replica' })

  const revoke = await patient.revoke(grant.id, docB.user?.signPub as string, undefined, { rekey: true })
  await untilTx(A.peer.ledger, revoke.id)
  const rekeyed = async (h: Hospital): Promise<boolean> => (await h.peer.ledger.queries.imagesOf(fromHex(pid))).some(i => i.replaces?.equals(old) === true)
  await waitFor(async () => await rekeyed(A) && await rekeyed(B), { timeout: 20_000, what: 'image.rekey on both members' })
  await A.peer.rekeys.idle()
  await B.peer.rekeys.idle()

  const [image] = await A.peer.ledger.queries.imagesOf(fromHex(pid))
  assert.not.ok(image.raw.equals(old), 'a new raw CID')
  assert.ok(image.result === null || !image.result.equals(CID.parse(read.result as string)), 'a new result CID')
  assert.ok(image.replaces?.equals(old), 'linked to the old CID')
  for (const h of [A, B]) {
    assert.not.ok(h.peer.storage.isPinned(old), `${h.name} unpinned the old ciphertext`)
    assert.not.ok(await h.peer.storage.has(old), `${h.name} deleted the old ciphertext`)
  }
  assert.ok(A.peer.storage.isPinned(image.raw), 'the custodian pins the new ciphertext')
  await rejects(async () => await patient.request('GET', `/api/images/${old.toString()}`), 'NOT_FOUND')

  // The patient reads the new image; the key B's clinician kept does not open its ciphertext.
  const [mine] = await patient.myImages()
  assert.is(mine.raw, image.raw.toString())
  assert.equal(await patient.openImage(mine), png)
  // The card is re-sealed under the new key; the old sealed card is gone like the old ciphertext.
  const oldMeta = CID.parse(read.meta as string)
  assert.ok(image.meta !== undefined && !image.meta.equals(oldMeta), 'a new card CID')
  assert.is((await patient.imageCard(mine))?.name, 'scan.png')
  for (const h of [A, B]) assert.not.ok(await h.peer.storage.has(oldMeta), `${h.name} deleted the old card`)
  const ciphertext = new Uint8Array(await (await patient.request('GET', `/api/images/${mine.raw}`)).arrayBuffer())
  throwsCode(() => decryptContentSync(keptKey, ciphertext), 'BAD_CIPHERTEXT')
  await rejects(async () => await docB.patientImages(pid), 'NO_CONSENT')
})

test('a custodian that missed the request (stopped between append and re-key) re-keys when it starts again', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const pid = fromHex(patient.user?.patientId as string)
  const docA = await user(A, 'doc-a', 'clinician')
  await docA.upload(patient.user?.patientId as string, testImages().png, 'scan.png')
  const [before] = await A.peer.ledger.queries.imagesOf(pid)
  const grant = await patient.grant({ grantee: docA.user?.signPub as string, kind: 'user', purpose: 'research', expires: Date.now() + 60_000 })
  await A.peer.rekeys.stop()
  await patient.revoke(grant.id, docA.user?.signPub as string, undefined, { rekey: true })
  assert.ok((await A.peer.ledger.queries.imagesOf(pid))[0].raw.equals(before.raw), 'nothing re-keyed while stopped')
  A.peer.rekeys.start()
  await A.peer.rekeys.idle()
  await waitFor(async () => (await A.peer.ledger.queries.imagesOf(pid))[0].replaces?.equals(before.raw) === true, { timeout: 10_000, what: 'the re-key' })
  await A.peer.rekeys.idle()
  assert.not.ok(await A.peer.storage.has(before.raw), 'the old ciphertext is gone')
  assert.equal(await patient.openImage((await patient.myImages())[0]), testImages().png)
})

test('the ledger refuses a re-key by anyone but the custodian, and one that names no new CIDs', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const pid = fromHex(patient.user?.patientId as string)
  const docA = await user(A, 'doc-a', 'clinician')
  await docA.upload(patient.user?.patientId as string, testImages().png, 'scan.png')
  await waitFor(async () => (await B.peer.ledger.queries.imagesOf(pid)).length === 1, { timeout: 10_000, what: 'the image to reach B' })
  const [image] = await B.peer.ledger.queries.imagesOf(pid)
  const body = { patient: pid, old: { raw: image.raw, result: image.result }, raw: CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'), result: image.result, keys: image.keys }
  await rejects(async () => await B.peer.ledger.submitOwn('image.rekey', body), 'REKEY_NOT_CUSTODIAN')
  await rejects(async () => await A.peer.ledger.submitOwn('image.rekey', { ...body, raw: image.raw }), 'BAD_REKEY')
  await rejects(async () => await A.peer.ledger.submitOwn('image.rekey', { ...body, patient: new Uint8Array(32) }), 'REKEY_NOT_CUSTODIAN')
  // An image with a card has it re-sealed: a re-key that drops it, or keeps the old card CID, is refused.
  const fresh = { ...body, raw: CID.parse('bafkreiaxnnnb7qz2focittuqq3ya25q7rcv3bqynnczfzao6sheyq5ac7m'), result: CID.parse('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku') }
  assert.ok(image.meta !== undefined)
  await rejects(async () => await A.peer.ledger.submitOwn('image.rekey', fresh), 'BAD_REKEY')
  await rejects(async () => await A.peer.ledger.submitOwn('image.rekey', { ...fresh, old: { ...fresh.old, meta: image.meta }, meta: image.meta }), 'BAD_REKEY')
  await rejects(async () => await A.peer.ledger.submitOwn('image.rekey', { ...fresh, old: { ...fresh.old, meta: fresh.raw }, meta: fresh.result }), 'BAD_REKEY')
  // A revoke's re-key flag is `true` or absent: false would be a second encoding of "no re-key".
  const keys = patient.keys as NonNullable<typeof patient.keys>
  const plain = buildConsentRevoke({ ledgerId: A.peer.ledger.id, patient: keys, grantee: B.peer.ledger.self, seq: 0, time: Date.now() })
  assert.equal(Object.keys(plain.body), ['grantee'])
  assert.equal(buildConsentRevoke({ ledgerId: A.peer.ledger.id, patient: keys, grantee: B.peer.ledger.self, rekey: true, seq: 0, time: Date.now() }).body.rekey, true)
})

test.run()
