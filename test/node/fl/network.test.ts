// Federated learning between three real peers on loopback (issue 4): three rounds lower the
// validation loss, the chosen model is published on the ledger with its provenance, and every
// peer hot-loads it into its analyser slot; images without a live training consent are never
// loaded (counted); a peer stopped mid-task does not stall the remaining rounds.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import type { ParticipationRecord, RoundRecord, TrainingItem } from '../../../node/fl/index.ts'
import { decodeFlMessage } from '../../../node/fl/transport/messages.ts'
import type { FlMessage } from '../../../node/fl/transport/messages.ts'
import { samplesMetricKey } from '../../../node/fl/task/record.ts'
import { publicationsIn } from '../../../node/fl/deploy/hotload.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { cleanup, testConsortium } from '../../helpers/ledger/fixture.ts'
import { connectAll, consent, itemsFor, nextEvent, phantoms, startFlPeer, stopAllFlPeers, stopFlPeer, TINY } from './fixture.ts'
import type { FlPeer } from './fixture.ts'

const { genesis } = testConsortium(3)
const TASK = { task: 'detect-strange', model: TINY, seed: 1, epochs: 3, batchSize: 4, learningRate: 0.01, roundTimeoutMs: 20_000 }

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

test.after.each(async () => {
  await stopAllFlPeers()
  await cleanup()
})

/** Three hospitals with 16 consented images each (patients 100·n + i); A also validates. */
async function threeHospitals (): Promise<FlPeer[]> {
  const peers = await Promise.all([1, 2, 3].map(async n => await startFlPeer(n, genesis, {
    items: itemsFor(phantoms(100 * n, 16), 100 * n),
    validation: n === 1 ? phantoms(9000, 16) : []
  })))
  await Promise.all(peers.map(async p => await consent(p, Array.from({ length: 16 }, (_, i) => ({ patient: 100 * p.n + i })))))
  await connectAll(peers)
  return peers
}

test('three peers, three rounds: validation loss goes down, the model is published and every peer hot-loads it', async () => {
  const peers = await threeHospitals()
  const [a, b, c] = peers
  // Hospital A also holds four images it may not train on, each loaded only on demand.
  const loads = new Map<number, number>()
  const lazy = (patientNo: number, seed: number): TrainingItem => {
    const [sample] = phantoms(seed, 1)
    return { patient: itemsFor([sample], patientNo)[0].patient, load: async () => { loads.set(patientNo, (loads.get(patientNo) ?? 0) + 1); return sample } }
  }
  a.data.items = [...a.data.items, lazy(900, 1), lazy(901, 2), lazy(902, 3), lazy(903, 4), lazy(904, 5)]
  await consent(a, [{ patient: 900, none: true }, { patient: 901, expires: Date.now() - 1 }, { patient: 902, revoke: true }, { patient: 903, purpose: 'research' }, { patient: 904 }])
  // Waited for from before the task starts, so as long as the task itself may take (settled's 60 s) and more.
  const loaded = peers.map(p => nextEvent<string | null>(p.analysers, 'analyser:changed', d => d !== null, 90_000))

  const id = a.federation.startTask({ ...TASK, rounds: 3, minParticipants: 3, patience: 3 })
  const view = await withTimeout(a.federation.settled(id), 60_000, 'the task to end')

  assert.is(view.status, 'done', JSON.stringify(view.error))
  assert.is(view.rounds.length, 3)
  for (const r of view.rounds) {
    assert.is(r.status, 'aggregated')
    assert.is(r.participants.length, 3)
    assert.is(r.closedBy, 'all-answered', 'every round closes as soon as all three answered')
  }
  const baseline = view.baseline?.loss ?? Number.NaN
  const best = view.best?.validation.loss ?? Number.NaN
  assert.ok(best < baseline, `validation loss ${baseline} → best ${best}`)
  assert.ok((view.rounds[2].validation?.loss ?? Infinity) < baseline, 'the last round is still below the initial model')

  // Provenance on the ledger: model CID, round, metrics with per-participant sample counts.
  const published = view.published
  assert.ok(published !== null)
  const models = await Promise.all(loaded)
  for (const cid of models) assert.is(cid, published.model, 'every peer hot-loaded the published model')
  for (const p of peers) assert.is(p.federation.currentModel()?.cid.toString(), published.model)
  assert.is(published.participants.length, 3)
  for (const p of peers) {
    const samples = p.n === 1 ? 17 : 16
    assert.is(published.metrics[samplesMetricKey(p.key)], samples, `sample count of hospital ${p.n}`)
  }
  assert.is(published.metrics.samples, 49)
  assert.ok(Math.abs(published.metrics.loss - (view.best?.validation.loss ?? 0)) < 1e-12)
  assert.is(published.metrics.rounds, 3)
  const block = await withTimeout((async () => {
    for (;;) {
      const blocks = await c.ledger.blocks(a.key, 0, 1000)
      const found = blocks.find(bl => publicationsIn(bl).length > 0)
      if (found !== undefined) return found
      await nextEvent(c.ledger, 'block:appended')
    }
  })(), 20_000, 'model.publish on C')
  const [tx] = publicationsIn(block)
  assert.is(tx.cid.toString(), published.model)
  assert.is(tx.publisher, toHex(a.key))

  // Consent: four of A's images were excluded every round, counted by reason, and never loaded.
  const mine: ParticipationRecord[] = a.federation.participation()
  assert.is(mine.length, 3)
  for (const r of mine) {
    assert.is(r.status, 'sent')
    assert.is(r.total, 21)
    assert.is(r.kept, 17)
    assert.is(r.excluded, 4)
    // Patient 903 gave only a research consent: consents are per purpose, so there is no training one.
    assert.equal(r.reasons, { 'no-consent': 2, expired: 1, revoked: 1, 'other-purpose': 0, 'out-of-scope': 0 })
  }
  assert.equal([...loads.keys()], [904], 'only the consented lazy image was ever loaded')
  assert.is(loads.get(904), 3)
  assert.is(b.federation.participation().length, 3)
})

test('a peer stopped mid-task: the remaining rounds complete with the others', async () => {
  const peers = await threeHospitals()
  const [a, b, c] = peers
  const id = a.federation.startTask({ ...TASK, rounds: 3, minParticipants: 2, patience: 3 })
  await nextEvent<RoundRecord>(a.federation, 'round:ended', r => r.round === 1)
  await stopFlPeer(c)
  const view = await withTimeout(a.federation.settled(id), 60_000, 'the task to end')
  assert.is(view.status, 'done', JSON.stringify(view.error))
  assert.is(view.rounds.length, 3)
  assert.is(view.rounds[0].participants.length, 3)
  for (const r of view.rounds.slice(1)) {
    assert.is(r.status, 'aggregated')
    assert.equal(r.participants.map(p => p.hospital).sort(), [toHex(a.key), toHex(b.key)].sort())
    assert.is(r.closedBy, 'all-answered', 'the dropout did not hold the round to its deadline')
  }
  assert.ok(view.published !== null)
  assert.is(view.published.participants.length, 3, 'C contributed to round 1, so it is in the provenance')
})

test('weights over the inline limit travel by helia CID, both ways', async () => {
  const init = { inlineMaxBytes: 0 }
  const a = await startFlPeer(1, genesis, { items: itemsFor(phantoms(100, 8), 100), validation: phantoms(9000, 8), init })
  const b = await startFlPeer(2, genesis, { items: itemsFor(phantoms(200, 8), 200), init })
  await consent(a, Array.from({ length: 8 }, (_, i) => ({ patient: 100 + i })))
  await consent(b, Array.from({ length: 8 }, (_, i) => ({ patient: 200 + i })))
  await connectAll([a, b])
  const heard = (peer: FlPeer): FlMessage[] => {
    const out: FlMessage[] = []
    peer.p2p.libp2p.services.pubsub.addEventListener('message', (e) => {
      if (e.detail.topic.includes('/fl')) out.push(decodeFlMessage(e.detail.data))
    })
    return out
  }
  const atB = heard(b)
  // B's updates come to A over the direct protocol (node/fl/transport/direct.ts), not gossip.
  const updates: Array<{ round: number, hospital: string, weights: string | null }> = []
  a.federation.addEventListener('update:received', (e) => { updates.push((e as CustomEvent<typeof updates[number]>).detail) })
  const id = a.federation.startTask({ ...TASK, rounds: 2, minParticipants: 2, patience: 2 })
  const view = await withTimeout(a.federation.settled(id), 30_000, 'the task to end')
  assert.is(view.status, 'done', JSON.stringify(view.error))
  assert.equal(view.rounds.map(r => r.participants.length), [2, 2])
  const starts = atB.filter(m => m.kind === 'round-start')
  assert.is(starts.length, 2)
  for (const m of starts) {
    assert.ok(m.kind === 'round-start' && !(m.global instanceof Uint8Array), `round-start of round ${m.round} went by CID`)
  }
  assert.equal(updates.map(u => [u.round, u.hospital, u.weights]), [[1, toHex(b.key), 'cid'], [2, toHex(b.key), 'cid']], "B's updates went by CID")
})

test.run()
