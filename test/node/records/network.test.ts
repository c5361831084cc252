// Issue 3 end to end on three real hospitals: a clinician at A uploads DICOM, PNG and JPEG for a
// patient; the patient and A's clinician decrypt them byte for byte; B's clinician is refused
// until the patient grants, reads over bitswap, is refused again within 5 s of the revoke, and
// still reads from the other pin when A is down. The patient sees every access.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex } from '../../../protocol/bytes.ts'
import { CID } from 'multiformats/cid'
import type { ApiImage, MedichainClient } from '../../../protocol/client/client.ts'
import { rejects } from '../../helpers/assert.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { untilTx } from '../../helpers/ledger/until.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

test('upload, consent, cross-hospital read, revoke and the other pin', async () => {
  hospitals = await startHospitals(3)
  const [A, B] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const patientId = patient.user?.patientId as string
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  // B learns of the patient's registration before anything else happens there.
  await waitFor(async () => await B.peer.ledger.queries.patientAccount(fromHex(patientId)) !== undefined, { timeout: 10_000, what: 'patient registration at B' })

  const files = testImages()
  for (const [name, bytes] of Object.entries(files)) await docA.upload(patientId, bytes, `${name}.bin`)

  const byDoc = await docA.patientImages(patientId)
  const mine = await patient.myImages()
  assert.is(byDoc.length, 3)
  assert.is(mine.length, 3)
  const sizes = new Map(Object.values(files).map(b => [b.length, b]))
  for (const [who, list] of [[docA, byDoc], [patient, mine]] as Array<[MedichainClient, ApiImage[]]>) {
    for (const image of list) {
      const plain = await who.openImage(image)
      assert.equal(plain, sizes.get(image.size), `${image.modality} decrypts to the uploaded bytes`)
    }
  }

  await rejects(async () => await docB.patientImages(patientId), 'NO_CONSENT')
  const dicomImage = mine.find(i => i.size === files.dicom.length) as ApiImage
  await rejects(async () => await docB.openImage({ ...dicomImage, keys: dicomImage.keys }), 'NO_CONSENT')

  const grant = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 3_600_000 })
  await untilTx(B.peer.ledger, grant.id)
  const atB = await docB.patientImages(patientId)
  assert.is(atB.length, 3)
  for (const image of atB) assert.equal(await docB.openImage(image), sizes.get(image.size), 'B decrypts what A stored, fetched over bitswap')

  const revoke = await patient.revoke(grant.id, docB.user?.signPub as string)
  const revokedAt = Date.now()
  await untilTx(B.peer.ledger, revoke.id, 5000)
  await rejects(async () => await docB.patientImages(patientId), 'NO_CONSENT')
  assert.ok(Date.now() - revokedAt < 5000, 'B refuses within 5 s of the revoke')

  const audit = await patient.myAudit()
  assert.ok(audit.some(e => e.accessor === docA.user?.signPub && e.basis === 'custodian'), 'A\'s clinician is in the audit')
  assert.ok(audit.some(e => e.accessor === docB.user?.signPub && e.basis === 'consent'), 'B\'s clinician is in the audit')

  // Grant again, let every chosen member pin, then take A down: the image is still readable.
  const again = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 3_600_000 })
  await untilTx(B.peer.ledger, again.id)
  await waitFor(async () => {
    for (const h of hospitals.slice(1)) await h.peer.storage.repair()
    const held = await Promise.all(hospitals.slice(1).map(h => Promise.all(atB.map(i => h.peer.storage.isPinned(parseCid(i.raw))))))
    return atB.every((_, k) => held.some(perPeer => perPeer[k]))
  }, { timeout: 30_000, what: 'every image pinned by another member' })
  await A.peer.stop()
  for (const image of await docB.patientImages(patientId)) {
    assert.equal(await docB.openImage(image), sizes.get(image.size), 'read from the other pin with A stopped')
  }
})

function parseCid (s: string): CID {
  return CID.parse(s)
}

test.run()
