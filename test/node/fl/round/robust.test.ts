// Hostile and broken updates in a real federated round on loopback (issue 4): a member's poisoned
// update of huge norm is clipped and trimmed, so the global model stays finite and near the honest
// one; updates signed by a non-member, mis-signed, non-finite, of the wrong shape, absurd in norm,
// for the wrong round or sent twice are refused with their codes and never aggregated.
import { CID } from 'multiformats/cid'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../../protocol/bytes.ts'
import { initBackend } from '../../../../node/ai/runtime/backend.ts'
import { parameterLayout, sizeOf } from '../../../../node/ai/model/unet-config.ts'
import { decodeWeights } from '../../../../node/ai/model/weights-format.ts'
import { taskTopic } from '../../../../node/fl/constants.ts'
import { encodeFlMessage, flattenWeights, signUpdate } from '../../../../node/fl/transport/messages.ts'
import type { Update } from '../../../../node/fl/transport/messages.ts'
import { collectBytes } from '../../../../node/fl/transport/model-store.ts'
import { withTimeout } from '../../../helpers/timeout.ts'
import { cleanup, testConsortium, testIdentity } from '../../../helpers/ledger/fixture.ts'
import { connectAll, consent, itemsFor, nextEvent, phantoms, startFlPeer, stopAllFlPeers, TINY } from '../fixture.ts'

// Six members: A coordinates and trains, B trains, D is the attacker's peer; C, E and F exist only
// as member keys the attacker signs with.
const { genesis } = testConsortium(6)
const sizes = parameterLayout(TINY).map(p => sizeOf(p.shape))

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

test.after.each(async () => {
  await stopAllFlPeers()
  await cleanup()
})

/** Weights of the tiny model's layout, every value `v` (or made by `value(i)`). */
function filled (value: (i: number) => number, layout = sizes): Float32Array[] {
  let k = 0
  return layout.map(n => Float32Array.from({ length: n }, () => value(k++)))
}

test('poisoned, malformed and unauthorised updates are refused or neutralised; the global model stays finite', async () => {
  const a = await startFlPeer(1, genesis, { items: itemsFor(phantoms(100, 12), 100), validation: phantoms(9000, 12) })
  const b = await startFlPeer(2, genesis, { items: itemsFor(phantoms(200, 12), 200) })
  const d = await startFlPeer(4, genesis, { init: { participate: false } })
  await consent(a, Array.from({ length: 12 }, (_, i) => ({ patient: 100 + i })))
  await consent(b, Array.from({ length: 12 }, (_, i) => ({ patient: 200 + i })))
  await connectAll([a, b, d])
  const refused: Array<{ code: string, hospital: string | null }> = []
  a.federation.addEventListener('update:refused', (e) => { refused.push((e as CustomEvent<{ code: string, hospital: string | null }>).detail) })

  const started = nextEvent<{ task: string, round: number }>(a.federation, 'round:started', r => r.round === 1)
  const id = a.federation.startTask({
    task: 'detect-strange', model: TINY, epochs: 2, batchSize: 4, learningRate: 0.01, rounds: 1, minParticipants: 3, roundTimeoutMs: 20_000,
    aggregation: 'trimmed-mean', trim: 0.34, clip: 5, patience: 1
  })
  const { task } = await started
  const topic = taskTopic(toHex(a.ledger.id), task)
  const send = async (n: number, weights: Float32Array[] | Uint8Array, edit: (u: Update) => Update = u => u, round = 1): Promise<void> => {
    const signed = signUpdate(a.ledger.id, {
      kind: 'update', task, round, hospital: testIdentity(n).publicKey, samples: 12, loss: 0.5, trainMs: 1, weights: weights instanceof Uint8Array ? weights : flattenWeights(weights)
    }, testIdentity(n))
    await d.p2p.libp2p.services.pubsub.publish(topic, encodeFlMessage(edit(signed)))
  }
  const sig = (u: Update): Update => ({ ...u, sig: u.sig.map((x, i) => i === 0 ? x ^ 1 : x) })
  await send(9, filled(() => 0))
  await send(4, filled(() => 0), sig)
  await send(3, filled(i => i === 7 ? Number.NaN : 0))
  await send(3, filled(() => 0))
  await send(5, filled(() => 1e6))
  await send(6, new Uint8Array(12))
  await send(4, filled(() => 0), u => u, 2)
  // The poison: every weight 50, an update far outside the honest ones but below the absurd bound.
  await send(4, filled(() => 50))

  const view = await withTimeout(a.federation.settled(id), 60_000, 'the task to end')
  assert.is(view.status, 'done', JSON.stringify(view.error))
  const [round] = view.rounds
  const hex = (n: number): string => toHex(testIdentity(n).publicKey)
  assert.equal(round.participants.map(p => p.hospital).sort(), [hex(1), hex(2), hex(4)].sort())
  const byCode = new Map(refused.map(r => [r.code, r.hospital]))
  assert.is(byCode.get('NOT_MEMBER'), hex(9))
  assert.is(byCode.get('BAD_SIGNATURE'), hex(4))
  assert.is(byCode.get('NON_FINITE'), hex(3))
  assert.is(byCode.get('DUPLICATE'), hex(3))
  assert.is(byCode.get('ABSURD_NORM'), hex(5))
  assert.is(byCode.get('BAD_SHAPE'), hex(6))
  assert.is(byCode.get('WRONG_ROUND'), hex(4))
  assert.is(round.refused.length, 5, 'the five round-level refusals are in the history (the two gossip-level ones are not)')
  const poison = round.participants.find(p => p.hospital === hex(4))
  assert.ok(poison !== undefined && poison.norm > 1000, `the poisoned update's norm is huge (${poison?.norm})`)
  assert.ok(round.clipped >= 1)

  // The published model is finite and untouched by the poison: a weight of 50 would show.
  const published = view.published
  assert.ok(published !== null)
  const { weights } = decodeWeights(await collectBytes(a.storage.cat(CID.parse(published.model))))
  let max = 0
  for (const w of weights) for (const x of w) max = Math.max(max, Math.abs(x))
  assert.ok(Number.isFinite(max) && max < 5, `largest weight ${max}`)
  assert.ok(round.validation !== null && Number.isFinite(round.validation.loss))
})

test.run()
