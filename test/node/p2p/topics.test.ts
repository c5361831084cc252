// The gossip topic allow-list of the P2P host on real libp2p nodes over loopback: topics under an
// admitted prefix (federated learning's task topics, named at run time) are admitted from the
// node's creation, so a member's subscription that arrives before this node ever uses the topic is
// kept (gossipsub drops a refused subscription for good); topics outside the ledger's exact topics
// and prefixes are still refused, subscriptions and messages alike.
import { multiaddr } from '@multiformats/multiaddr'
import type { Message, SubscriptionChangeData } from '@libp2p/gossipsub'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { createP2P, TopicAllowList } from '../../../node/p2p/index.ts'
import { throwsCode } from '../../helpers/assert.ts'
import { openLedger, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'
import { p2pConsortium, startP2PPeer, stopP2PPeers } from '../../helpers/peers/p2p.ts'
import type { P2PPeer } from '../../helpers/peers/p2p.ts'
import { withTimeout } from '../../helpers/timeout.ts'

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })
const genesis = p2pConsortium([1, 2], 'p2p topics test')
const ledgerHex = toHex(ledgerIdOf(genesis))
const PREFIX = `/medichain/${ledgerHex}/fl/`
const TASK = `${PREFIX}detect-strange-0123456789abcdef`
/** Near misses of the prefix: another ledger's, a sibling path, a longer word, the bare prefix, elsewhere. */
const FOREIGN = [
  `/medichain/${'ab'.repeat(32)}/fl/detect-strange-0123456789abcdef`,
  `/medichain/${ledgerHex}/flood`,
  `/medichain/${ledgerHex}/other/x`,
  PREFIX,
  '/elsewhere/fl/x'
]

test.after.each(stopP2PPeers)

/** Resolves with the first subscription change `peer` hears from `from` that includes `topic`. */
async function subscriptionHeard (peer: P2PPeer, from: P2PPeer, topic: string): Promise<SubscriptionChangeData> {
  const pubsub = peer.libp2p.services.pubsub
  let on: ((e: CustomEvent<SubscriptionChangeData>) => void) | undefined
  try {
    return await withTimeout(new Promise<SubscriptionChangeData>(resolve => {
      on = (e) => { if (e.detail.peerId.equals(from.peerId) && e.detail.subscriptions.some(s => s.topic === topic)) resolve(e.detail) }
      pubsub.addEventListener('subscription-change', on)
    }), 10_000, `hospital ${peer.n} to hear hospital ${from.n} subscribe to ${topic.slice(-24)}`)
  } finally {
    if (on !== undefined) pubsub.removeEventListener('subscription-change', on)
  }
}

/** Resolves with the first message `peer` delivers on `topic`, and lists every topic it delivered before. */
function deliveries (peer: P2PPeer): { topics: string[], next: (topic: string) => Promise<Message> } {
  const topics: string[] = []
  const waiting = new Map<string, (m: Message) => void>()
  peer.libp2p.services.pubsub.addEventListener('message', (e) => {
    topics.push(e.detail.topic)
    waiting.get(e.detail.topic)?.(e.detail)
  })
  return {
    topics,
    next: async (topic) => await withTimeout(new Promise<Message>(resolve => waiting.set(topic, resolve)), 10_000, `a message on ${topic.slice(-24)}`)
  }
}

const subscribersOf = (peer: P2PPeer, topic: string): string[] => peer.libp2p.services.pubsub.getSubscribers(topic).map(String)

test('a member subscribed under an admitted prefix before this node used the topic: kept, and a later message reaches it', async () => {
  const a = await startP2PPeer(1, genesis, { topicPrefixes: [PREFIX] })
  const b = await startP2PPeer(2, genesis, { topicPrefixes: [PREFIX] })
  // B subscribes before it connects, so its first RPC to A carries the task topic (and the near
  // misses) together with the blocks topic, at a time A has never heard of the task.
  for (const t of [...FOREIGN, TASK]) b.libp2p.services.pubsub.subscribe(t)
  const heard = subscriptionHeard(a, b, a.p2p.topic)
  // A's own stream to B is up once B has heard A's subscriptions: only then can A send to B.
  const reverse = subscriptionHeard(b, a, b.p2p.topic)
  await a.libp2p.dial(multiaddr(b.addr))
  const [change] = await Promise.all([heard, reverse])
  assert.ok(change.subscriptions.some(s => s.topic === TASK), 'the task topic came in the same RPC as the blocks topic')
  assert.equal(subscribersOf(a, TASK), [b.peerId.toString()], 'A kept B\'s subscription to a topic it does not use itself')
  for (const t of FOREIGN) assert.equal(subscribersOf(a, t), [], `A refused B's subscription to ${t}`)

  // Later A starts using the task topic (a coordinator starting a task) and publishes to it.
  const atB = deliveries(b)
  a.libp2p.services.pubsub.subscribe(TASK)
  const arrived = atB.next(TASK)
  const sent = await a.libp2p.services.pubsub.publish(TASK, new TextEncoder().encode('round 1'))
  assert.equal(sent.recipients.map(String), [b.peerId.toString()])
  assert.is(new TextDecoder().decode((await arrived).data), 'round 1')
})

test('messages on a topic outside the allow-list are dropped even when this node subscribed to it', async () => {
  const stray = FOREIGN[1]
  const a = await startP2PPeer(1, genesis, { topicPrefixes: [PREFIX] })
  // B admits the stray topic, so it keeps A's subscription and sends A messages on it.
  const b = await startP2PPeer(2, genesis, { topicPrefixes: [PREFIX], extraTopics: [stray] })
  a.libp2p.services.pubsub.subscribe(stray)
  a.libp2p.services.pubsub.subscribe(TASK)
  const strayHeard = subscriptionHeard(b, a, stray)
  const reverse = subscriptionHeard(a, b, a.p2p.topic)
  await a.libp2p.dial(multiaddr(b.addr))
  await Promise.all([strayHeard, reverse])
  assert.ok(subscribersOf(b, TASK).includes(a.peerId.toString()))
  const atA = deliveries(a)
  const last = atA.next(TASK)
  assert.is((await b.libp2p.services.pubsub.publish(stray, new TextEncoder().encode('stray'))).recipients.length, 1, 'B sent it to A')
  await b.libp2p.services.pubsub.publish(TASK, new TextEncoder().encode('task'))
  // One stream, handled in order: once the second message is delivered, the first was judged.
  await last
  assert.equal(atA.topics, [TASK], 'A dropped the message on the topic it does not admit')
})

test('the allow-list: exact topics, strictly under each prefix; a prefix without a trailing slash is refused', async () => {
  const allow = new TopicAllowList(['/exact'], [PREFIX])
  assert.ok(allow.has('/exact'))
  assert.ok(allow.has(TASK))
  for (const t of FOREIGN) assert.not.ok(allow.has(t), t)
  assert.equal([...allow], ['/exact'], 'iteration lists the exact topics only')
  for (const bad of ['/medichain/x/fl', '', '/']) throwsCode(() => new TopicAllowList([], [bad]), 'INVALID')

  const ledger = await openLedger(genesis, testIdentity(1))
  throwsCode(() => createP2P({ seed: testSeed(1), listen: ['/ip4/127.0.0.1/tcp/0'], topicPrefixes: [PREFIX.slice(0, -1)] })({ ledger, logger }), 'INVALID')
  const p2p = createP2P({ seed: testSeed(1), listen: ['/ip4/127.0.0.1/tcp/0'], topicPrefixes: [PREFIX] })({ ledger, logger })
  assert.ok(p2p.allowsTopic(p2p.topic))
  assert.ok(p2p.allowsTopic(TASK))
  assert.not.ok(p2p.allowsTopic(FOREIGN[1]))
  await ledger.stop()
})

test.run()
