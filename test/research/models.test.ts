// Published models for researchers (issue 15 §5): a model Hospital A published is listed at
// Hospital B, its card gives the task, the metrics and each hospital's data count, its
// provenance carries an inclusion proof that verifies against the consortium's keys, and the
// weights B serves (fetched from A) are byte for byte the published ones. Unknown CIDs and
// patients are refused.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../protocol/bytes.ts'
import { nobleVerify } from '../../protocol/crypto/ed25519.ts'
import { verifyInclusionProof } from '../../protocol/chain/proof.ts'
import { proofFromJson } from '../../protocol/chain/proof-json.ts'
import { ResearchClient } from '../../protocol/client/research.ts'
import { taskIdFor } from '../../ledger/rules/fl.ts'
import { samplesMetricKey } from '../../node/fl/task/record.ts'
import { rejects } from '../helpers/assert.ts'
import { cleanup } from '../helpers/ledger/fixture.ts'
import { untilLedger } from '../helpers/ledger/until.ts'
import { startHospitals, stopHospitals, user } from '../helpers/peers/peers.ts'
import type { Hospital } from '../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

test('a published model: listed, its card with per-hospital data counts and a verifying proof, its weights', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const weights = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251)
  const { cid } = await A.peer.storage.add([weights])
  const [a, b] = [A.peer.ledger.self, B.peer.ledger.self]
  await A.peer.ledger.submitOwn('model.publish', {
    model: cid, task: taskIdFor('lesions', a, new Uint8Array(4).fill(1)), round: 4,
    metrics: { dice: 0.71, loss: 0.3, samples: 30, [samplesMetricKey(a)]: 18, [samplesMetricKey(b)]: 12 },
    participants: [a, b]
  })
  await untilLedger(B.peer.ledger, async () => await B.peer.ledger.queries.publishedModel(cid.toString()) !== undefined, 'the publication reaches B')

  const research = new ResearchClient(await user(B, 'res-m', 'researcher'))
  const models = await research.models()
  assert.equal(models.map(m => [m.cid, m.round, m.hospital]), [[cid.toString(), 4, toHex(a)]])
  const card = await research.modelCard(cid.toString())
  assert.is(card.task.startsWith('lesions-'), true)
  assert.equal(card.metrics, { dice: 0.71, loss: 0.3, samples: 30 }, 'per-hospital counts are listed apart')
  assert.equal(card.data.map(d => [d.hospital, d.samples, d.name]), [[toHex(a), 18, 'Hospital A'], [toHex(b), 12, 'Hospital B']])
  const proven = verifyInclusionProof(proofFromJson(card.provenance.proof), { verify: nobleVerify, ledgerId: B.peer.ledger.id, authors: [a, b] })
  assert.is(toHex(proven.tx.id), card.provenance.id)
  assert.is(proven.tx.tx.type, 'model.publish')
  assert.equal(await research.modelWeights(cid.toString()), weights, 'the weights, fetched from A through B')

  // A proof whose transaction bytes were altered (one metric changed) does not verify.
  const proof = card.provenance.proof as { tx: string }
  const flipped = proof.tx.slice(0, -2) + (proof.tx.endsWith('00') ? '01' : '00')
  assert.throws(() => verifyInclusionProof(proofFromJson({ ...proof, tx: flipped }), { verify: nobleVerify, ledgerId: B.peer.ledger.id, authors: [a, b] }), 'an altered transaction')
  assert.throws(() => verifyInclusionProof(proofFromJson(card.provenance.proof), { verify: nobleVerify, ledgerId: fromHex('00'.repeat(32)), authors: [a, b] }), 'another ledger id')
  await rejects(async () => await research.modelCard('bafkreigkops5a7ldrkogqhi54kxh6nqvhatj4hqkgwfrhlojxj2p46pdx4'), 'NOT_FOUND')
  const patient = new ResearchClient(await user(B, 'pat-m', 'patient'))
  await rejects(async () => await patient.models(), 'FORBIDDEN')
})

test.run()
