// The sync protocol `/medichain/sync/1.0.0` on real peers over loopback: equivocation evidence is
// swapped both ways and gossiped, and a member that sends malformed or oversized frames loses
// only its own stream while the server keeps serving everyone.
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createBlock } from '../../../protocol/chain/block.ts'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { SYNC_PROTOCOL } from '../../../node/p2p/constants.ts'
import type { GossipEvents } from '../../../node/p2p/gossip.ts'
import { encodeFrame } from '../../../node/p2p/sync-messages.ts'
import { testIdentity } from '../../helpers/ledger/fixture.ts'
import { p2pConsortium, startP2PPeer, stopP2PPeers } from '../../helpers/peers/p2p.ts'
import type { P2PPeer } from '../../helpers/peers/p2p.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'

const genesis = p2pConsortium([1, 2, 3, 4], 'p2p sync test')
const ledgerId = ledgerIdOf(genesis)
const keyOf = (n: number): Uint8Array => testIdentity(n).publicKey

type Peer = P2PPeer

async function startPeer (n: number, bootstrap: Peer[] = [], syncMaxBlocks?: number): Promise<Peer> {
  return await startP2PPeer(n, genesis, { bootstrap: bootstrap.map(p => p.addr), syncMaxBlocks })
}

test.after.each(stopP2PPeers)

/** Gives `ledger` two conflicting height-0 blocks by hospital `author`, which runs no peer. */
async function equivocate (ledger: Ledger, author: number): Promise<void> {
  const identity = testIdentity(author)
  const make = (time: number): Uint8Array => createBlock({ ledger: ledgerId, height: 0, prev: null, links: [], time, txs: [] }, identity).bytes
  assert.is(await ledger.receive(make(Date.now())), 'appended')
  assert.is(await ledger.receive(make(Date.now() + 1)), 'evidence')
}

/** Resolves once the ledger holds `count` pieces of evidence, driven by 'evidence:found'. */
async function untilEvidence (peer: Peer, count: number): Promise<void> {
  let listener: () => void = () => {}
  await withTimeout(new Promise<void>(resolve => {
    listener = () => {
      void peer.ledger.evidence().then(list => { if (list.length >= count) resolve() })
    }
    peer.ledger.addEventListener('evidence:found', listener)
    listener()
  }), 5000, `hospital ${peer.n} to hold ${count} pieces of evidence`).finally(() => peer.ledger.removeEventListener('evidence:found', listener))
}

test('a long catch-up takes several rounds of bounded responses', async () => {
  const a = await startPeer(1, [], 8)
  for (let i = 0; i < 30; i++) await a.ledger.submitOwn('record.create', { patient: new Uint8Array(32).fill(i), record: new Uint8Array(16) })
  const b = await startPeer(2)
  await b.libp2p.dial(multiaddr(a.p2p.addresses()[0]))
  // The sync on connect may already be running; this call queues one after it and sees the result.
  const first = await withTimeout(new Promise<{ rounds: number, appended: number }>(resolve => {
    b.p2p.addEventListener('sync:complete', (e) => {
      const r = (e as CustomEvent<{ peer: string, rounds: number, appended: number }>).detail
      if (r.peer === a.libp2p.peerId.toString()) resolve(r)
    })
  }), 5000, 'B to complete its first sync with A')
  assert.is(first.appended, 30)
  assert.ok(first.rounds >= 4, `30 blocks at 8 per response need at least 4 rounds, took ${first.rounds}`)
  assert.is(b.ledger.size(), 30)
  assert.is(toHex(await b.ledger.stateRoot()), toHex(await a.ledger.stateRoot()))
})

test('evidence held on either side is swapped by sync when two peers meet', async () => {
  const a = await startPeer(1)
  const b = await startPeer(2)
  await equivocate(a.ledger, 3)
  await equivocate(b.ledger, 4)
  assert.is((await a.ledger.evidence()).length, 1)

  // No gossip can carry this evidence: it was found before the peers met.
  await b.libp2p.dial(multiaddr(a.p2p.addresses()[0]))
  await untilEvidence(a, 2)
  await untilEvidence(b, 2)
  assert.ok(a.ledger.members().find(m => toHex(m.key) === toHex(keyOf(4)))?.flagged, 'A flags the equivocator it learnt of from B')
})

test('evidence found while connected is gossiped', async () => {
  const a = await startPeer(1)
  const b = await startPeer(2, [a])
  await waitFor(() => a.libp2p.services.pubsub.getSubscribers(a.p2p.topic).length > 0, { timeout: 5000, what: 'B to subscribe at A' })
  const gossiped = withTimeout(new Promise<void>(resolve => {
    b.p2p.addEventListener('gossip:received', (e) => {
      const d = (e as CustomEvent<GossipEvents['gossip:received']>).detail
      if (d.kind === 'evidence' && d.status === 'stored') resolve()
    })
  }), 5000, 'B to store gossiped evidence')
  gossiped.catch(() => {})
  await equivocate(a.ledger, 3)
  await gossiped
  assert.is((await b.ledger.evidence()).length, 1)
})

test('a member sending malformed or oversized sync frames loses only its stream', async () => {
  const a = await startPeer(1)
  const b = await startPeer(2, [a])
  const aId = a.libp2p.peerId
  const whole = encodeFrame({ t: 'push', evidence: [] })
  const frames: Array<{ prefixed: boolean, bytes: Uint8Array }> = [
    { prefixed: true, bytes: new Uint8Array([0xff, 0xff]) }, // not CBOR
    { prefixed: true, bytes: whole.subarray(0, whole.length - 1) }, // CBOR cut short
    { prefixed: true, bytes: encodeFrame({ t: 'blocks', blocks: [], more: false }) }, // a response sent as a request
    { prefixed: false, bytes: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x7f]) } // a length prefix of 32 GiB
  ]
  for (const frame of frames) {
    const stream = await b.libp2p.dialProtocol(aId, SYNC_PROTOCOL)
    const lp = lpStream(stream)
    if (frame.prefixed) await lp.write(frame.bytes)
    else stream.send(frame.bytes)
    let answered = true
    try {
      await lp.read({ signal: AbortSignal.timeout(5000) })
    } catch (err) {
      answered = false
      assert.is.not((err as Error).name, 'TimeoutError', 'A drops the stream instead of waiting')
    }
    assert.not.ok(answered, 'A never answers a malformed frame')
  }

  // A still serves this member and everyone else.
  for (let i = 0; i < 3; i++) await a.ledger.submitOwn('record.create', { patient: new Uint8Array(32).fill(i), record: new Uint8Array(16) })
  const result = await b.p2p.syncWith(a.hex)
  assert.is(b.ledger.size(), 3)
  assert.is(result.rejected, 0)
  assert.equal(b.p2p.connectedMembers(), [a.hex])
})

test.run()
