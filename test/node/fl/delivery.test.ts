// Direct delivery of hospitals' updates to the coordinator over `/medichain/fl/update/1.0.0`
// (node/fl/transport/direct.ts, docs/design.md §6), between real peers on loopback: updates reach a
// coordinator that the hospitals do not see subscribed to the task topic (its gossip subscription
// withdrawn, so gossip alone would reach nobody) and every round aggregates with all three; a
// round-start reaches a hospital the coordinator does not see on the control topic; a
// forged, non-member, misaddressed or relayed update is refused with its code; an oversized frame
// is refused and the stream reset before its body is read; and a delivery to a peer that does not
// serve the protocol ends 'undelivered' at its deadline, after one gossip fallback.
import { lpStream } from '@libp2p/utils'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { memberHexOfPeer, peerIdFromMemberKey } from '../../../node/p2p/identity.ts'
import { controlTopic, FL_DIRECT_PROTOCOL, FL_MESSAGE_MAX_BYTES, taskTopic } from '../../../node/fl/constants.ts'
import { createFlDirect } from '../../../node/fl/transport/direct.ts'
import type { FlDirect } from '../../../node/fl/transport/direct.ts'
import { decodeFlMessage, flattenWeights, signUpdate } from '../../../node/fl/transport/messages.ts'
import type { Update } from '../../../node/fl/transport/messages.ts'
import { createModel } from '../../../node/ai/model/model.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'
import { cleanup, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'
import { connectAll, consent, itemsFor, logger, nextEvent, phantoms, startFlPeer, stopAllFlPeers, TINY } from './fixture.ts'
import type { FlPeer } from './fixture.ts'

const { genesis } = testConsortium(4)
const TASK = { task: 'detect-strange', model: TINY, seed: 1, epochs: 1, batchSize: 4, learningRate: 0.01, roundTimeoutMs: 30_000 }

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

test.after.each(async () => {
  await stopAllFlPeers()
  await cleanup()
})

async function hospitals (ns: number[]): Promise<FlPeer[]> {
  const peers = await Promise.all(ns.map(async n => await startFlPeer(n, genesis, {
    items: itemsFor(phantoms(100 * n, 8), 100 * n),
    validation: n === 1 ? phantoms(9000, 8) : []
  })))
  await Promise.all(peers.map(async p => await consent(p, Array.from({ length: 8 }, (_, i) => ({ patient: 100 * p.n + i })))))
  await connectAll(peers)
  return peers
}

/** A direct transport of our own on a peer without FL: the sending side of the refusal tests. */
async function client (peer: FlPeer): Promise<FlDirect> {
  const d = createFlDirect({ libp2p: peer.p2p.libp2p, ledger: peer.ledger, verify: nodeVerify, logger, handle: () => undefined })
  await d.start()
  return d
}

/** A well-formed update for `task` signed by `signer` (a member or not) in the name of `hospital`. */
function updateFor (ledgerId: Uint8Array, task: string, signer: number, hospital = testIdentity(signer).publicKey): Update {
  const model = createModel(1, TINY)
  const weights = flattenWeights(model.getWeights())
  model.dispose()
  return signUpdate(ledgerId, { kind: 'update', task, round: 1, hospital, samples: 4, loss: 0.5, trainMs: 10, weights }, testIdentity(signer))
}

test('updates reach a coordinator the hospitals do not see on the task topic; every round aggregates with all three', async () => {
  const peers = await hospitals([1, 2, 3])
  const [a, b, c] = peers
  const gossiped: string[] = []
  a.p2p.libp2p.services.pubsub.addEventListener('message', (e) => {
    if (e.detail.topic.includes('/fl')) gossiped.push(decodeFlMessage(e.detail.data).kind)
  })
  const id = a.federation.startTask({ ...TASK, rounds: 2, minParticipants: 3, patience: 2 })
  // A withdraws its gossip subscription to the task topic at once: B and C hear the SUBSCRIBE and
  // then the UNSUBSCRIBE, so no gossip of theirs on the task topic reaches A.
  const topic = taskTopic(toHex(a.ledger.id), id)
  a.p2p.libp2p.services.pubsub.unsubscribe(topic)
  const view = await withTimeout(a.federation.settled(id), 90_000, 'the task to end')
  assert.is(view.status, 'done', JSON.stringify(view.error))
  assert.equal(view.rounds.map(r => [r.status, r.participants.length, r.closedBy]), [['aggregated', 3, 'all-answered'], ['aggregated', 3, 'all-answered']])
  const aHex = toHex(a.key)
  for (const p of [b, c]) {
    const subscribers = p.p2p.libp2p.services.pubsub.getSubscribers(topic).map(memberHexOfPeer)
    assert.not.ok(subscribers.includes(aHex), `hospital ${p.n} does not see A on the task topic`)
    assert.equal(p.federation.participation().map(r => [r.round, r.status]), [[1, 'sent'], [2, 'sent']])
  }
  assert.not.ok(gossiped.includes('update'), 'no update reached A by gossip')
})

test('a round-start reaches, directly, a hospital the coordinator does not see on the control topic', async () => {
  const [a, b] = await hospitals([1, 2])
  // B withdraws its gossip subscription to the control topic: A no longer sees it there, and no
  // round-start published on that topic reaches B.
  const control = controlTopic(toHex(a.ledger.id))
  b.p2p.libp2p.services.pubsub.unsubscribe(control)
  const bPeer = b.p2p.libp2p.peerId.toString()
  await waitFor(() => !a.p2p.libp2p.services.pubsub.getSubscribers(control).some(p => p.toString() === bPeer), { timeout: 20_000, what: 'A to hear that B left the control topic' })
  const id = a.federation.startTask({ ...TASK, rounds: 2, minParticipants: 2, patience: 2 })
  const view = await withTimeout(a.federation.settled(id), 90_000, 'the task to end')
  assert.is(view.status, 'done', JSON.stringify(view.error))
  assert.equal(view.rounds.map(r => [r.status, r.participants.length]), [['aggregated', 2], ['aggregated', 2]])
  assert.equal(b.federation.participation().map(r => [r.round, r.status]), [[1, 'sent'], [2, 'sent']])
})

test('a forged, non-member, relayed or misaddressed update over the direct protocol is refused with its code', async () => {
  const [a] = await hospitals([1])
  const d = await startFlPeer(4, genesis, { noFederation: true })
  await connectAll([d, a])
  const direct = await client(d)
  // Three needed: the round stays open for the duplicate below (A's own and D's update are two).
  const id = a.federation.startTask({ ...TASK, rounds: 1, minParticipants: 3, patience: 1 })
  await nextEvent(a.federation, 'round:started')
  const refusals: string[] = []
  a.federation.addEventListener('update:refused', (e) => { refusals.push((e as CustomEvent<{ code: string }>).detail.code) })
  const cases: Array<[string, Update, string]> = [
    // Signed by D in B's name.
    ['forged', updateFor(a.ledger.id, id, 4, testIdentity(2).publicKey), 'BAD_SIGNATURE'],
    // Signed by a key the ledger does not know.
    ['non-member signer', updateFor(a.ledger.id, id, 9), 'NOT_MEMBER'],
    // B's genuine update, sent by D.
    ['relayed', updateFor(a.ledger.id, id, 2), 'NOT_SIGNER'],
    // D's own update for a task A does not coordinate.
    ['misaddressed', updateFor(a.ledger.id, 'detect-strange-00112233445566778899aabb', 4), 'NOT_COORDINATOR']
  ]
  for (const [what, update, code] of cases) {
    const ack = await direct.send(a.key, update)
    assert.equal(ack, { result: 'reject', code }, what)
  }
  assert.equal(refusals, cases.map(([, , code]) => code))
  // D's own, well-formed update is taken.
  assert.equal(await direct.send(a.key, updateFor(a.ledger.id, id, 4)), { result: 'accept', code: null })
  // And a second copy counts as held: DUPLICATE, which the sender records as delivered.
  assert.equal(await direct.send(a.key, updateFor(a.ledger.id, id, 4)), { result: 'ignore', code: 'DUPLICATE' })
  await direct.stop()
})

test('an oversized frame is refused and the stream reset before its body is read', async () => {
  const [a] = await hospitals([1])
  const d = await startFlPeer(4, genesis, { noFederation: true })
  // D dials, so the connection is open on D's side once the dial resolves.
  await connectAll([d, a])
  const stream = await d.p2p.libp2p.dialProtocol(peerIdFromMemberKey(a.key), FL_DIRECT_PROTOCOL)
  const refused = nextEvent<{ code: string }>(a.federation, 'update:refused', r => r.code === 'TOO_LARGE', 20_000)
  const lp = lpStream(stream)
  const outcome = withTimeout((async () => {
    try {
      await lp.write(new Uint8Array(FL_MESSAGE_MAX_BYTES + 1))
      await lp.read()
      return 'answered'
    } catch (err) {
      return (err as Error).name
    }
  })(), 20_000, 'the stream to end')
  assert.is((await refused).code, 'TOO_LARGE')
  const ended = await outcome
  assert.is.not(ended, 'answered', 'no verdict came back on an oversized frame')
  assert.is(stream.status === 'reset' || stream.status === 'aborted' || stream.status === 'closed', true, `stream ${stream.status}`)
})

test('delivery to a peer that does not serve the protocol ends undelivered at the deadline, after one gossip fallback', async () => {
  const c = await startFlPeer(3, genesis, { noFederation: true })
  const d = await startFlPeer(4, genesis, { noFederation: true })
  await connectAll([c, d])
  const direct = await client(c)
  let fallbacks = 0
  const began = Date.now()
  const delivery = await withTimeout(direct.deliver(d.key, updateFor(c.ledger.id, 'detect-strange-00112233445566778899aabb', 3), {
    deadline: began + 1500,
    fallback: async () => { fallbacks++ }
  }), 20_000, 'the delivery to give up')
  assert.is(delivery.outcome, 'undelivered')
  assert.is(delivery.outcome === 'undelivered' ? delivery.code : '', 'DIAL_FAILED')
  assert.is(fallbacks, 1)
  assert.ok(Date.now() - began < 10_000, 'gave up near the deadline')
  await direct.stop()
})

test.run()
