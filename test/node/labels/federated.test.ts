// The whole product path of federated learning on real peers: clinicians upload and label images,
// patients grant (or do not grant) training consent, an admin starts a task over HTTP, each
// hospital trains on exactly its consented labelled images, a model is published and every peer
// hot-loads it; the image without consent is never read, and the patients see each training use
// in "who viewed" and in their credit score.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import type { LabelUse } from '../../../protocol/client/client.ts'
import { encodePng, toUint8 } from '../../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { withTimeout } from '../../helpers/timeout.ts'

const SIZE = 32
const TASK = { task: 'detect-strange', model: { inputSize: 32, base: 4, depth: 2 }, seed: 1, epochs: 2, batchSize: 4, learningRate: 0.01, rounds: 2, minParticipants: 3, patience: 2, roundTimeoutMs: 30_000 }

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** Uploads `uses.length` phantoms for `patient` and labels each with its ground truth; returns their CIDs. */
async function labelled (doc: MedichainClient, patient: MedichainClient, seed: number, uses: LabelUse[]): Promise<string[]> {
  const cids: string[] = []
  for (const [i, use] of uses.entries()) {
    const p = generatePhantom(seed + i, { size: SIZE, lesionCount: i % 3 })
    const up = await doc.upload(patient.user?.patientId as string, encodePng(toUint8(p.pixels), SIZE, SIZE), `p${i}.png`)
    await doc.putLabel(up.raw as string, encodePng(Uint8Array.from(p.mask, v => v * 255), SIZE, SIZE), use)
    cids.push(up.raw as string)
  }
  return cids
}

/** A `training` consent from `patient` to the hospital it is registered at. */
async function trainingConsent (h: Hospital, patient: MedichainClient): Promise<string> {
  const { id } = await patient.grant({ grantee: toHex(h.peer.ledger.self), kind: 'hospital', purpose: 'training', expires: Date.now() + 3_600_000 })
  return id
}

test('labelled, consented images train a published model across three hospitals; unconsented ones are never read', async () => {
  hospitals = await startHospitals(3)
  const [A, B, C] = hospitals
  const consents = new Map<MedichainClient, string>()
  const counts: number[] = []
  for (const [n, h] of hospitals.entries()) {
    const patient = await user(h, `pat${n}`, 'patient')
    const doc = await user(h, `doc${n}`, 'clinician')
    const uses: LabelUse[] = n === 0 ? ['validation', 'validation', 'train', 'train'] : ['train', 'train', 'train', 'train']
    await labelled(doc, patient, 100 * n, uses)
    counts.push(uses.filter(u => u === 'train').length)
    consents.set(patient, await trainingConsent(h, patient))
    if (n === 1) {
      const refuser = await user(h, 'refuser', 'patient')
      await labelled(doc, refuser, 999, ['train'])
      consents.set(refuser, '')
    }
  }
  assert.equal((await B.admin.labelSummary()).eligible.train, { total: 5, kept: 4, excluded: 1, reasons: { 'no-consent': 1, revoked: 0, expired: 0, 'other-purpose': 0, 'out-of-scope': 0 } })

  const loads = hospitals.map(async h => await new Promise(resolve => h.peer.federation.addEventListener('model:loaded', resolve, { once: true })))
  const started = await (await A.admin.request('POST', '/api/fl/tasks', TASK)).json() as { id: string }
  await withTimeout(A.peer.federation.settled(started.id), 120_000, 'the federated task')
  const view = await (await A.admin.request('GET', `/api/fl/tasks/${started.id}`)).json() as {
    status: string, rounds: Array<{ participants: Array<{ hospital: string, samples: number }>, validation: { loss: number } | null }>, published: { model: string } | null
  }
  assert.is(view.status, 'done')
  assert.is(view.rounds.length, 2)
  const expected = new Map(hospitals.map((h, i) => [toHex(h.peer.ledger.self), counts[i]]))
  for (const r of view.rounds) {
    assert.is(r.participants.length, 3)
    for (const p of r.participants) assert.is(p.samples, expected.get(p.hospital), `samples of ${p.hospital.slice(0, 8)}`)
    assert.ok(r.validation !== null && Number.isFinite(r.validation.loss))
  }
  assert.ok(view.published !== null)
  await withTimeout(Promise.all(loads), 30_000, 'every peer hot-loading the model')
  for (const h of hospitals) assert.is(h.peer.analysers.current?.model.toString(), view.published?.model)

  // Who looked: each consented image's first training use is on the patient's audit, under the
  // consent; the refuser's image was never read.
  for (const [patient, consent] of consents) {
    const audit = await patient.myAudit()
    const credit = await patient.myCredit() as { breakdown: { imagesContributed: number } }
    if (consent === '') {
      assert.equal(audit, [], 'an image without a training consent is never read')
      assert.is(credit.breakdown.imagesContributed, 0)
      continue
    }
    const uses = audit.filter(e => e.consent === consent)
    assert.is(uses.length, 4, 'one logged training use per labelled image')
    assert.ok(uses.every(e => e.basis === 'consent' && e.purpose === 'training'))
    assert.is(credit.breakdown.imagesContributed, 4, 'the credit score counts the images contributed to training')
  }
  for (const h of [B, C]) assert.is((await fetch(h.url + '/api/health')).status, 200)
})

test('a coordinator without held-out labelled images refuses to start, with a code', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const doc = await user(A, 'doc', 'clinician')
  await labelled(doc, patient, 5, ['train', 'train'])
  await trainingConsent(A, patient)
  const started = await (await A.admin.request('POST', '/api/fl/tasks', { ...TASK, minParticipants: 1 })).json() as { id: string }
  const ended = await withTimeout(A.peer.federation.settled(started.id), 30_000, 'the task')
  assert.ok(ended !== undefined)
  const view = await (await A.admin.request('GET', `/api/fl/tasks/${started.id}`)).json() as { status: string, error: { code: string } | null }
  assert.is(view.status, 'failed')
  assert.is(view.error?.code, 'NO_VALIDATION_SET')
})

test.run()
