// Ledger replication between real peers on loopback (docs/design.md §4 Replication): gossip carries new
// blocks, sync catches up a late peer and completes a block whose `prev` is missing, and garbage
// on the topic is refused without hurting the receiver.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createBlock } from '../../../protocol/chain/block.ts'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { encodeGossip } from '../../../node/p2p/gossip.ts'
import type { GossipEvents } from '../../../node/p2p/gossip.ts'
import { testIdentity } from '../../helpers/ledger/fixture.ts'
import { p2pConsortium, startP2PPeer, stopP2PPeers, untilSize as untilLedgerSize } from '../../helpers/peers/p2p.ts'
import type { P2PPeer } from '../../helpers/peers/p2p.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'

const genesis = p2pConsortium([1, 2, 3, 4], 'p2p replication test')

type Peer = P2PPeer

async function startPeer (n: number, bootstrap: Peer[] = []): Promise<Peer> {
  return await startP2PPeer(n, genesis, { bootstrap: bootstrap.map(p => p.addr) })
}

test.after.each(stopP2PPeers)

/** Resolves once `peer` holds `size` blocks (event-driven, 5 s). */
async function untilSize (peer: Peer, size: number, timeout = 5000): Promise<void> {
  await untilLedgerSize(peer.ledger, size, timeout, `hospital ${peer.n}`)
}

/**
 * Resolves with the first event of `type` on `target` whose detail passes `match`. Made before the
 * action that causes the event; a timeout surfaces where it is awaited, never as an unhandled one.
 */
function nextEvent<T> (target: EventTarget, type: string, match: (detail: T) => boolean, what: string): Promise<T> {
  let listener: (e: Event) => void = () => {}
  const p = withTimeout(new Promise<T>(resolve => {
    listener = (e: Event): void => {
      const detail = (e as CustomEvent<T>).detail
      if (match(detail)) resolve(detail)
    }
    target.addEventListener(type, listener)
  }), 5000, what).finally(() => target.removeEventListener(type, listener))
  p.catch(() => {})
  return p
}

/** Waits until each peer sees every other one subscribed to the blocks topic. gossipsub has no event for "all". */
async function meshReady (peers: Peer[]): Promise<void> {
  for (const p of peers) {
    const others = peers.filter(o => o !== p).map(o => o.libp2p.peerId.toString())
    await waitFor(() => {
      const subs = new Set(p.libp2p.services.pubsub.getSubscribers(p.p2p.topic).map(String))
      return others.every(o => subs.has(o))
    }, { timeout: 5000, what: `hospital ${p.n} to see every peer on the topic` })
  }
}

async function startNetwork (n: number): Promise<Peer[]> {
  const peers: Peer[] = []
  for (let i = 1; i <= n; i++) peers.push(await startPeer(i, [...peers]))
  await meshReady(peers)
  return peers
}

const record = (i: number): { patient: Uint8Array, record: Uint8Array } =>
  ({ patient: new Uint8Array(32).fill(i & 0xff), record: new Uint8Array(16).fill(i >> 8) })

async function sameState (peers: Peer[]): Promise<void> {
  const roots = await Promise.all(peers.map(async p => toHex(await p.ledger.stateRoot())))
  for (const r of roots) assert.is(r, roots[0], 'every peer reports the same state root')
}

test('blocks appended at one peer reach the others by gossip', async () => {
  const [a, b, c] = await startNetwork(3)
  const gossiped = nextEvent<GossipEvents['gossip:received']>(c.p2p, 'gossip:received', d => d.status === 'appended', 'C to take a block from gossip')
  for (let i = 0; i < 3; i++) await a.ledger.submitOwn('record.create', record(i))
  await b.ledger.submitOwn('record.create', record(100))
  await untilSize(b, 4)
  await untilSize(c, 4)
  await gossiped
  await untilSize(a, 4)
  await sameState([a, b, c])
})

test('a peer started later catches up by sync', async () => {
  const a = await startPeer(1)
  for (let i = 0; i < 50; i++) await a.ledger.submitOwn('record.create', record(i))
  assert.is(a.ledger.size(), 50)
  const late = await startPeer(2, [a])
  const done = nextEvent<{ appended: number }>(late.p2p, 'sync:complete', r => r.appended > 0, 'the late peer to finish a sync')
  await untilSize(late, 50)
  assert.is((await done).appended, 50)
  await sameState([a, late])
})

test('a gossiped block whose prev is missing is buffered, then completed by sync', async () => {
  const [a, b] = await startNetwork(2)
  // Hospital 4 runs no peer: A holds two of its blocks, and gossips only the second one.
  const absent = testIdentity(4)
  const id = ledgerIdOf(genesis)
  const first = createBlock({ ledger: id, height: 0, prev: null, links: [], time: Date.now(), txs: [] }, absent)
  const second = createBlock({ ledger: id, height: 1, prev: first.hash, links: [], time: Date.now(), txs: [] }, absent)
  assert.is(await a.ledger.receive(first.bytes), 'appended')
  assert.is(await a.ledger.receive(second.bytes), 'appended')
  assert.is(b.ledger.size(), 0)

  const buffered = nextEvent<GossipEvents['gossip:received']>(b.p2p, 'gossip:received', d => d.status === 'buffered', 'B to buffer the orphan block')
  const synced = nextEvent<{ appended: number }>(b.p2p, 'sync:complete', r => r.appended > 0, 'B to sync the missing block')
  await a.libp2p.services.pubsub.publish(a.p2p.topic, encodeGossip({ kind: 'block', block: second.bytes }))
  await buffered
  await synced
  await untilSize(b, 2)
  assert.ok(await b.ledger.block(absent.publicKey, 0))
  assert.ok(await b.ledger.block(absent.publicKey, 1))
  await sameState([a, b])
})

test('garbage on the topic is refused with a code and the receiver keeps working', async () => {
  const [a, b] = await startNetwork(2)
  const pubsub = a.libp2p.services.pubsub
  const refused: string[] = []
  b.p2p.addEventListener('gossip:invalid', (e) => { refused.push((e as CustomEvent<GossipEvents['gossip:invalid']>).detail.code) })

  const block = createBlock({ ledger: ledgerIdOf(genesis), height: 0, prev: null, links: [], time: Date.now(), txs: [] }, testIdentity(1))
  const forged = block.bytes.slice()
  forged[forged.length - 1] ^= 1 // the last byte belongs to the signature or the tx list: either way invalid
  const garbage = [
    new Uint8Array([0xff, 0x00, 0x13, 0x37]),
    encodeGossip({ kind: 'block', block: new Uint8Array([1, 2, 3]) }),
    encodeGossip({ kind: 'block', block: forged })
  ]
  for (const g of garbage) await pubsub.publish(a.p2p.topic, g)
  await waitFor(() => refused.length >= garbage.length, { timeout: 5000, what: 'B to refuse every garbage message' })
  assert.equal(refused.slice(0, 2), ['BAD_ENCODING', 'BAD_ENCODING'])
  assert.ok(['BAD_SIGNATURE', 'BAD_ENCODING', 'NON_CANONICAL', 'BAD_SCHEMA', 'BAD_TX_ROOT'].includes(refused[2]), `refused with ${refused[2]}`)
  assert.is(b.ledger.size(), 0)

  await a.ledger.submitOwn('record.create', record(1))
  await untilSize(b, 1)
  await sameState([a, b])
})

test.run()
