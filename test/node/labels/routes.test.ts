// Ground-truth labels over HTTP on real peers: a clinician of the custodian hospital attaches a
// lesion mask to an uploaded image; every rule has its refusal; the training set reads only
// images under a live training consent, logs the first use on the ledger, and forgets revoked ones.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { encodePng, toUint8 } from '../../../node/imaging/raster/encode.ts'
import { filterByTrainingConsent, sampleOf } from '../../../node/fl/round/consent.ts'
import { MAX_MASK_BYTES } from '../../../node/labels/routes.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

const SIZE = 64
const phantom = generatePhantom(11, { size: SIZE, lesionCount: 2 })
const imagePng = encodePng(toUint8(phantom.pixels), SIZE, SIZE)
const maskPng = encodePng(Uint8Array.from(phantom.mask, v => v * 255), SIZE, SIZE)

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** A patient at A with one uploaded image, and A's clinician. */
async function setup (count: number): Promise<{ A: Hospital, patient: MedichainClient, doc: MedichainClient, cid: string }> {
  hospitals = await startHospitals(count)
  const A = hospitals[0]
  const patient = await user(A, 'pat', 'patient')
  const doc = await user(A, 'doc', 'clinician')
  const up = await doc.upload(patient.user?.patientId as string, imagePng, 'scan.png')
  return { A, patient, doc, cid: up.raw as string }
}

test('a clinician labels an image, relabels it for validation and removes the label', async () => {
  const { A, patient, doc, cid } = await setup(1)
  const label = await doc.putLabel(cid, maskPng, 'train')
  assert.is(label.cid, cid)
  assert.is(label.use, 'train')
  assert.is(label.patientId, patient.user?.patientId)
  assert.equal([label.width, label.height], [SIZE, SIZE])
  assert.is(label.lesionPixels, phantom.mask.reduce((a, b) => a + b, 0))
  assert.is(label.author, doc.user?.signPub)
  assert.is(label.authorName, doc.user?.username, 'the author is named by the local account of the key')
  assert.equal(await doc.label(cid), label)
  // Relabelling replaces; the held-out choice is the clinician's.
  assert.is((await doc.putLabel(cid, maskPng, 'validation')).use, 'validation')
  const summary = await A.admin.labelSummary()
  assert.equal(summary.labelled, { train: 0, validation: 1 })
  assert.is(summary.eligible.validation.reasons['no-consent'], 1)
  await doc.deleteLabel(cid)
  await rejects(async () => await doc.label(cid), 'NOT_FOUND')
  await rejects(async () => await doc.deleteLabel(cid), 'NOT_FOUND')
})

test('labels are refused with a code for every broken rule, and nothing is stored', async () => {
  const { A, patient, doc, cid } = await setup(2)
  const B = hospitals[1]
  const other = generatePhantom(12, { size: 32, lesionCount: 1 })
  await rejects(async () => await doc.putLabel(cid, encodePng(Uint8Array.from(other.mask, v => v * 255), 32, 32)), 'LABEL_MISMATCH')
  await rejects(async () => await doc.putLabel(cid, new TextEncoder().encode('not an image at all')), 'UNSUPPORTED_FORMAT')
  const truncated = maskPng.subarray(0, 60)
  await rejects(async () => await doc.putLabel(cid, truncated), 'CORRUPT_IMAGE')
  await rejects(async () => await doc.request('PUT', `/api/images/${cid}/label`, { mask: 'json' }), 'UNSUPPORTED_MEDIA_TYPE')
  await rejects(async () => await doc.request('PUT', `/api/images/${cid}/label?use=everything`, new Blob([maskPng as BlobPart], { type: 'image/png' })), 'INVALID')
  await rejects(async () => await doc.request('PUT', `/api/images/${cid}/label?colour=red`, new Blob([maskPng as BlobPart], { type: 'image/png' })), 'INVALID')
  await rejects(async () => await doc.putLabel('not-a-cid', maskPng), 'INVALID')
  await rejects(async () => await doc.putLabel('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', maskPng), 'NOT_FOUND')
  await rejects(async () => await doc.request('PUT', `/api/images/${cid}/label`, new Blob([new Uint8Array(MAX_MASK_BYTES + 1)], { type: 'image/png' })), 'TOO_LARGE')
  await rejects(async () => await patient.putLabel(cid, maskPng), 'FORBIDDEN')
  await rejects(async () => await A.admin.putLabel(cid, maskPng), 'FORBIDDEN')
  // B holds a copy of nothing it may label: only the custodian labels its images.
  const docB = await user(B, 'docb', 'clinician')
  await rejects(async () => await docB.putLabel(cid, maskPng), 'FORBIDDEN')
  const summary = await A.admin.labelSummary()
  assert.equal(summary.labelled, { train: 0, validation: 0 })
  assert.is((await fetch(A.url + '/api/health')).status, 200)
})

test('training reads only consented labelled images, logs the first use once, and stops at revoke', async () => {
  const { A, patient, doc, cid } = await setup(1)
  await doc.putLabel(cid, maskPng, 'train')
  const ctx = () => ({ consentsOf: async (p: Uint8Array) => await A.peer.ledger.queries.consentsOf(p), hospital: A.peer.ledger.self, now: Date.now() })
  const none = await filterByTrainingConsent(await A.peer.labels.trainingSet(), ctx())
  assert.is(none.kept.length, 0)
  assert.is(none.reasons['no-consent'], 1)

  // A treatment consent is not a training consent: the hospital still has none for training.
  await patient.grant({ grantee: toHex(A.peer.ledger.self), kind: 'hospital', purpose: 'treatment', expires: Date.now() + 3_600_000 })
  assert.is((await filterByTrainingConsent(await A.peer.labels.trainingSet(), ctx())).reasons['no-consent'], 1)

  const { id: grant } = await patient.grant({ grantee: toHex(A.peer.ledger.self), kind: 'hospital', purpose: 'training', expires: Date.now() + 3_600_000 })
  const live = await filterByTrainingConsent(await A.peer.labels.trainingSet(), ctx())
  assert.is(live.kept.length, 1)
  const sample = await sampleOf(live.kept[0])
  assert.equal([sample.image.width, sample.image.height], [SIZE, SIZE])
  assert.equal(Array.from(sample.mask), Array.from(phantom.mask))
  await sampleOf(live.kept[0])
  const uses = (await patient.myAudit()).filter(e => e.consent === grant)
  assert.is(uses.length, 1, 'the first training use under the consent is logged, once')
  assert.is(uses[0].image, cid)
  assert.is(uses[0].accessor, toHex(A.peer.ledger.self))

  // Revoking training alone stops training and leaves the treatment consent live.
  await patient.revoke(grant, toHex(A.peer.ledger.self), 'training')
  const after = await filterByTrainingConsent(await A.peer.labels.trainingSet(), ctx())
  assert.is(after.kept.length, 0)
  assert.is(after.reasons.revoked, 1)
  const mine = (await patient.myConsents()).consents.map(c => `${String(c.purpose)}:${String(c.action)}`).sort()
  assert.equal(mine, ['training:revoke', 'treatment:grant'])
  assert.equal((await A.admin.labelSummary()).eligible.train.kept, 0)
})

test.run()
