// Federated learning with secure aggregation between three real peers on loopback (issue 17):
// the task runs to publication with every round aggregated from masked updates only — no update
// ever crosses gossip in the clear, the coordinator records no per-hospital norm, and the
// published model's provenance says it was aggregated securely. A hospital that stops after the
// first round is left out of the later rounds, which still complete.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../../protocol/bytes.ts'
import { initBackend } from '../../../../node/ai/runtime/backend.ts'
import type { RoundRecord } from '../../../../node/fl/index.ts'
import { decodeFlMessage } from '../../../../node/fl/transport/messages.ts'
import type { FlMessage } from '../../../../node/fl/transport/messages.ts'
import { withTimeout } from '../../../helpers/timeout.ts'
import { throwsCode } from '../../../helpers/assert.ts'
import { cleanup, testConsortium } from '../../../helpers/ledger/fixture.ts'
import { connectAll, consent, itemsFor, nextEvent, phantoms, startFlPeer, stopAllFlPeers, stopFlPeer, TINY } from '../fixture.ts'
import type { FlPeer } from '../fixture.ts'

const { genesis } = testConsortium(3)
const TASK = { task: 'detect-strange', model: TINY, seed: 1, epochs: 2, batchSize: 4, learningRate: 0.01, roundTimeoutMs: 40_000, aggregation: 'secure', clip: 10 }

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

test.after.each(async () => {
  await stopAllFlPeers()
  await cleanup()
})

async function threeHospitals (count = (_n: number) => 12): Promise<FlPeer[]> {
  const peers = await Promise.all([1, 2, 3].map(async n => await startFlPeer(n, genesis, {
    items: itemsFor(phantoms(100 * n, count(n)), 100 * n),
    validation: n === 1 ? phantoms(9000, 12) : []
  })))
  await Promise.all(peers.map(async p => await consent(p, Array.from({ length: count(p.n) }, (_, i) => ({ patient: 100 * p.n + i })))))
  await connectAll(peers)
  return peers
}

/** Detail of the federation's 'update:received' event. */
interface Received { kind: string, round: number, hospital: string, step: string | null, result: string }

/** What came to `peer`'s coordinator over the direct protocol. */
function received (peer: FlPeer): Received[] {
  const out: Received[] = []
  peer.federation.addEventListener('update:received', (e) => { out.push((e as CustomEvent<Received>).detail) })
  return out
}

function heard (peer: FlPeer): FlMessage[] {
  const out: FlMessage[] = []
  peer.p2p.libp2p.services.pubsub.addEventListener('message', (e) => {
    if (e.detail.topic.includes('/fl')) out.push(decodeFlMessage(e.detail.data))
  })
  return out
}

test('three peers with secure aggregation: every round aggregates masked updates and the model is published', async () => {
  const peers = await threeHospitals()
  const [a, b, c] = peers
  const atA = heard(a)
  const atC = heard(c)
  const direct = received(a)
  const id = a.federation.startTask({ ...TASK, rounds: 2, minParticipants: 3, patience: 2 })
  const view = await withTimeout(a.federation.settled(id), 90_000, 'the task to end')
  assert.is(view.status, 'done', JSON.stringify(view.error))
  assert.is(view.rounds.length, 2)
  for (const r of view.rounds) {
    assert.is(r.status, 'aggregated')
    assert.is(r.participants.length, 3)
    // The coordinator never saw an update, so it cannot know any norm.
    for (const p of r.participants) assert.ok(Number.isNaN(p.norm))
  }
  assert.ok(view.rounds.every(r => Number.isFinite(r.validation?.loss)))
  const published = view.published
  assert.ok(published !== null)
  assert.is(published.metrics.secureAggregation, 1)
  assert.is(published.metrics.samples, 36)
  assert.is(published.participants.length, 3)
  // No readable update crossed gossip or the direct protocol; the masked steps went straight to A
  // (node/fl/transport/direct.ts) from every hospital but A (A's go to its own coordinator in-process).
  for (const heardBy of [atA, atC]) assert.is(heardBy.filter(m => m.kind === 'update' || (m.kind === 'secagg' && m.step === 'masked')).length, 0)
  assert.is(direct.filter(m => m.kind === 'update').length, 0)
  const masked = direct.filter(m => m.kind === 'secagg' && m.step === 'masked' && m.result === 'accept')
  assert.equal(masked.map(m => m.hospital).sort(), [b, b, c, c].map(p => toHex(p.key)).sort(), 'B and C each sent one masked input per round')
  const lists = atC.filter(m => m.kind === 'secagg' && m.step === 'survivors')
  assert.is(lists.length, 2)
  for (const p of [b, c]) assert.ok(p.federation.participation().every(r => r.status === 'sent'))
})

test('secure aggregation: a hospital that stops is left out and the remaining rounds complete', async () => {
  const peers = await threeHospitals()
  const [a, , c] = peers
  const id = a.federation.startTask({ ...TASK, rounds: 2, minParticipants: 2, patience: 2 })
  await nextEvent<RoundRecord>(a.federation, 'round:ended', r => r.round === 1, 60_000)
  await stopFlPeer(c)
  const view = await withTimeout(a.federation.settled(id), 90_000, 'the task to end')
  assert.is(view.status, 'done', JSON.stringify(view.error))
  assert.equal(view.rounds.map(r => r.status), ['aggregated', 'aggregated'])
  assert.is(view.rounds[0].participants.length, 3)
  assert.is(view.rounds[1].participants.length, 2)
})

test('secure aggregation: a hospital that drops after sharing is unmasked by the others and the round completes', async () => {
  // C trains on more images, so it is still training when its shares are out and it stops.
  const peers = await threeHospitals(n => n === 3 ? 48 : 12)
  const [a, , c] = peers
  const cHex = Buffer.from(c.key).toString('hex')
  // C's shares came straight to A and A's coordinator accepted them: C is then in U2.
  const cShared = nextEvent<Received>(a.federation, 'update:received', m => m.step === 'shares' && m.hospital === cHex && m.result === 'accept', 30_000)
  const id = a.federation.startTask({ ...TASK, rounds: 1, minParticipants: 2, patience: 1, epochs: 3 })
  await cShared
  await stopFlPeer(c)
  const view = await withTimeout(a.federation.settled(id), 90_000, 'the task to end')
  assert.is(view.status, 'done', JSON.stringify(view.error))
  const [r] = view.rounds
  assert.is(r.status, 'aggregated')
  assert.equal(r.participants.map(p => p.hospital).sort(), peers.slice(0, 2).map(p => Buffer.from(p.key).toString('hex')).sort())
  assert.is(view.published?.metrics.samples, 24)
})

test('a task refuses secure aggregation with trimmed mean (AGGREGATION_CONFLICT) and without clip (INVALID)', async () => {
  const [a] = [await startFlPeer(1, genesis, { items: [], validation: phantoms(9000, 2) })]
  throwsCode(() => a.federation.startTask({ ...TASK, aggregation: 'trimmed-mean', secureAggregation: true }), 'AGGREGATION_CONFLICT')
  throwsCode(() => a.federation.startTask({ ...TASK, clip: undefined }), 'INVALID')
})

test.run()
