// FL's gossip topics and the P2P host's allow-list (issue 4): the host admits the control topic and
// every task topic from its creation, so a hospital whose host heard the coordinator join a task
// topic before its own federation started still reaches the coordinator on that topic; and a
// federation refuses to start on a host that does not admit FL's topics, rather than going deaf.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { SubscriptionChangeData } from '@libp2p/gossipsub'
import { toHex } from '../../../protocol/bytes.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { taskTopic } from '../../../node/fl/index.ts'
import { rejects } from '../../helpers/assert.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { cleanup, testConsortium } from '../../helpers/ledger/fixture.ts'
import { connectAll, consent, itemsFor, nextEvent, phantoms, startFlPeer, stopAllFlPeers, TINY } from './fixture.ts'

const { genesis } = testConsortium(2)

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

test.after.each(async () => {
  await stopAllFlPeers()
  await cleanup()
})

test('a hospital whose host heard the task topic before its federation started takes part in round 1', async () => {
  const a = await startFlPeer(1, genesis, { items: itemsFor(phantoms(100, 8), 100), validation: phantoms(9000, 8) })
  const b = await startFlPeer(2, genesis, { items: itemsFor(phantoms(200, 8), 200), noFederation: true })
  await consent(a, Array.from({ length: 8 }, (_, i) => ({ patient: 100 + i })))
  await consent(b, Array.from({ length: 8 }, (_, i) => ({ patient: 200 + i })))
  await connectAll([a, b])
  // A starts the task (joining its topic) while B's federation is not running yet: B's host
  // receives A's subscription to a topic B has never used.
  const heard = nextEvent<SubscriptionChangeData>(b.p2p.libp2p.services.pubsub, 'subscription-change', d => d.peerId.equals(a.p2p.libp2p.peerId) && d.subscriptions.some(s => s.topic.includes('/fl/detect-strange-')))
  const id = a.federation.startTask({ task: 'detect-strange', model: TINY, epochs: 1, batchSize: 4, learningRate: 0.01, rounds: 1, minParticipants: 2, patience: 1, roundTimeoutMs: 20_000 })
  await heard
  const topic = taskTopic(toHex(a.ledger.id), id)
  assert.ok(b.p2p.libp2p.services.pubsub.getSubscribers(topic).some(p => p.equals(a.p2p.libp2p.peerId)), 'B\'s host kept A\'s subscription')

  await b.federation.start()
  const view = await withTimeout(a.federation.settled(id), 30_000, 'the task')
  assert.is(view.status, 'done', JSON.stringify(view.error))
  assert.is(view.rounds[0].participants.length, 2, 'B\'s update reached A on the task topic')
  assert.is(view.rounds[0].closedBy, 'all-answered')
})

test('a federation refuses to start on a host that does not admit its topics', async () => {
  const peer = await startFlPeer(1, genesis, { noFlTopics: true, noFederation: true })
  await rejects(async () => await peer.federation.start(), 'FL_TOPICS_NOT_ALLOWED')
  assert.is(peer.p2p.allowsTopic(taskTopic(toHex(peer.ledger.id), 'detect-strange-0000000000000000')), false)
  // Refused before the history store was opened: a second try fails the same way, not on a locked store.
  await rejects(async () => await peer.federation.start(), 'FL_TOPICS_NOT_ALLOWED')
})

test.run()
