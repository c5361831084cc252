// The participant follows the round's learning-rate segment (issue 4, node/fl/task/schedule.ts): the update it
// sends is exactly what local training from the global model gives with the round-start's
// `learningRate` → `learningRateEnd` cosine, and differs from a constant-rate run. On a real
// ledger, with training consents signed by the patients.
import { CID } from 'multiformats/cid'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { patientIdOf } from '../../../../protocol/chain/tx.ts'
import { createModel, loadWeights, serializeWeights } from '../../../../node/ai/model/model.ts'
import { trainLocal } from '../../../../node/ai/train/train.ts'
import type { TrainOptions } from '../../../../node/ai/train/train.ts'
import { flattenWeights, signRoundStart } from '../../../../node/fl/transport/messages.ts'
import type { RoundConfig, RoundStart, Update } from '../../../../node/fl/transport/messages.ts'
import { memoryModelStore } from '../../../../node/fl/transport/model-store.ts'
import { createParticipant } from '../../../../node/fl/round/participant.ts'
import type { DeliveryRoute, Participant, ParticipationRecord } from '../../../../node/fl/round/participant.ts'
import type { Delivery } from '../../../../node/fl/transport/direct.ts'
import type { Identity } from '../../../../protocol/crypto/ed25519.ts'
import { cleanup, makeTx, openLedger, registerBody, testConsortium, testIdentity } from '../../../helpers/ledger/fixture.ts'
import { logger, phantoms, TINY } from '../fixture.ts'

test.after.each(async () => {
  await cleanup()
})

/** The weights `trainLocal` gives from the global model `bytes` with `options`, flattened. */
async function trainedBytes (bytes: Uint8Array, samples: ReturnType<typeof phantoms>, options: TrainOptions): Promise<Uint8Array> {
  const model = loadWeights(bytes)
  try {
    await trainLocal(model, samples, options)
    return flattenWeights(model.getWeights())
  } finally {
    model.dispose()
  }
}

/** One hospital with four consented phantoms, its participant delivering through `send`, and a round-start for it. */
async function hospitalWith (send: (u: Update, route: DeliveryRoute) => Promise<Delivery>): Promise<{ participant: Participant, samples: ReturnType<typeof phantoms>, start: RoundStart, global: Uint8Array, coordinator: Identity }> {
  const { genesis, hospitals: [hospital] } = testConsortium(1)
  const ledger = await openLedger(genesis, hospital)
  const patients = [0, 1, 2, 3].map(i => testIdentity(700 + i))
  await Promise.all(patients.map(async p => await ledger.submitOwn('account.register', registerBody(ledger.id, p, hospital))))
  await Promise.all(patients.map(async p => await ledger.submit(makeTx(ledger.id, p, 'consent.grant', {
    grantee: hospital.publicKey, kind: 'hospital', purpose: 'training', scope: { kind: 'all' }, expires: Date.now() + 3600_000, keys: []
  }, 0, Date.now()))))
  const samples = phantoms(40, patients.length)
  const participant = createParticipant()({
    ledger,
    identity: hospital,
    models: memoryModelStore(),
    trainingSet: async () => samples.map((s, i) => ({ ...s, patient: patientIdOf(patients[i].publicKey) })),
    logger,
    clock: Date.now,
    send
  })
  const initial = createModel(3, TINY)
  const global = serializeWeights(initial)
  initial.dispose()
  const config: RoundConfig = { epochs: 1, batchSize: 2, learningRate: 0.02, learningRateEnd: 0.001, mu: 0 }
  const coordinator = testIdentity(2)
  const start = signRoundStart(ledger.id, {
    kind: 'round-start', task: 'detect-strange-0011223344556677', round: 3, deadline: Date.now() + 60_000, global,
    model: CID.parse('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'), config, coordinator: coordinator.publicKey
  }, coordinator)
  return { participant, samples, start, global, coordinator }
}

test('the update is local training along the round-start\'s learningRate → learningRateEnd cosine', async () => {
  const sent: Update[] = []
  const routes: DeliveryRoute[] = []
  const { participant, samples, start, global, coordinator } = await hospitalWith(async (u, route) => {
    sent.push(u)
    routes.push(route)
    return { outcome: 'accepted' }
  })
  const record = await participant.onRoundStart(start)
  assert.is(record?.status, 'sent')
  assert.is(sent.length, 1)
  assert.equal(routes[0].coordinator, coordinator.publicKey, 'delivered to the coordinator that signed the round-start')
  assert.is(routes[0].deadline, start.deadline)
  const weights = sent[0].weights
  assert.ok(weights instanceof Uint8Array, 'a tiny model travels inline')
  const expected = await trainedBytes(global, samples, { epochs: 1, batchSize: 2, learningRate: 0.02, learningRateEnd: 0.001, seed: 3 })
  assert.equal(weights, expected, 'the same steps as trainLocal with the round\'s two ends')
  const constant = await trainedBytes(global, samples, { epochs: 1, batchSize: 2, learningRate: 0.02, seed: 3 })
  assert.not.equal(weights, constant, 'not a constant-rate run')
})

test('the record says what the coordinator answered: refused with its code, LATE as late, or undelivered', async () => {
  const cases: Array<[Delivery, Pick<ParticipationRecord, 'status' | 'code'>]> = [
    [{ outcome: 'refused', code: 'ABSURD_NORM' }, { status: 'refused', code: 'ABSURD_NORM' }],
    [{ outcome: 'refused', code: 'LATE' }, { status: 'late', code: 'LATE' }],
    [{ outcome: 'undelivered', code: 'DIAL_FAILED' }, { status: 'undelivered', code: 'DIAL_FAILED' }]
  ]
  for (const [delivery, expected] of cases) {
    const { participant, start } = await hospitalWith(async () => delivery)
    const record = await participant.onRoundStart(start)
    assert.equal({ status: record?.status, code: record?.code }, expected, delivery.outcome)
  }
})

test.run()
