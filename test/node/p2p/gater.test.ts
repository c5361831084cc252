// The consortium allow-list on real libp2p nodes over loopback (docs/design.md §3): strangers can neither
// connect nor be connected to, members connect, and a member removed by a quorum of ledger
// transactions is cut off live and refused when it redials.
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Genesis } from '../../../protocol/chain/genesis.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import { peerIdFromMemberKey, peerIdFromSeed, memberKeyOfPeer } from '../../../node/p2p/identity.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'
import { openLedger, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'
import { connectedTo, expectRefused, p2pConsortium, startP2PPeer, stopP2PPeers } from '../../helpers/peers/p2p.ts'
import type { P2PPeer } from '../../helpers/peers/p2p.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })
const keyOf = (n: number): Uint8Array => testIdentity(n).publicKey
const genesisOf = (members: number[]): Genesis => p2pConsortium(members, 'p2p gater test')

async function startPeer (n: number, genesis: Genesis, bootstrap: P2PPeer[] = []): Promise<P2PPeer> {
  return await startP2PPeer(n, genesis, { bootstrap: bootstrap.map(p => p.addr), redialMaxMs: 1000 })
}

test.after.each(stopP2PPeers)

const connected = async (peer: P2PPeer, other: P2PPeer): Promise<void> => await connectedTo(peer, other.hex)

/**
 * Records every connection `node` opens with `remote` (only inbound ones if `inbound`), so a
 * test can prove none ever opened.
 */
function watchConnections (node: Libp2p, remote: PeerId, inbound = false): Connection[] {
  const seen: Connection[] = []
  node.addEventListener('connection:open', (e) => {
    if (e.detail.remotePeer.equals(remote) && (!inbound || e.detail.direction === 'inbound')) seen.push(e.detail)
  })
  return seen
}

/** Asserts that `fn` rejects with an error of class name `name` (libp2p errors carry no code). */
async function rejectsNamed (fn: () => Promise<unknown>, name: string): Promise<void> {
  try {
    await fn()
  } catch (err) {
    assert.is((err as Error).name, name)
    return
  }
  assert.unreachable(`expected ${name}`)
}

test('the seed gives the same key to the ledger and to libp2p; a mismatched seed is refused', async () => {
  const peerId = await peerIdFromSeed(testSeed(1))
  assert.equal(memberKeyOfPeer(peerId), keyOf(1))
  assert.ok(peerIdFromMemberKey(keyOf(1)).equals(peerId))
  assert.throws(() => peerIdFromMemberKey(new Uint8Array(31)), TypeError)

  const ledger = await openLedger(genesisOf([1, 2]), testIdentity(1))
  const p2p = createP2P({ seed: testSeed(2), listen: ['/ip4/127.0.0.1/tcp/0'] })({ ledger, logger })
  throwsCode(() => p2p.libp2p, 'NOT_STARTED')
  await rejects(async () => await p2p.start(), 'IDENTITY_MISMATCH')
})

test('members connect; a stranger can neither dial a member nor be dialled', async () => {
  const consortium = genesisOf([1, 2])
  const a = await startPeer(1, consortium)
  const b = await startPeer(2, consortium, [a])
  await connected(a, b)
  await connected(b, a)
  assert.equal(a.p2p.connectedMembers(), [b.hex])

  // The stranger runs its own consortium in which hospital 1 is a member, so only A's gater refuses.
  const stranger = await startPeer(9, genesisOf([1, 9]))
  const openedAtA = watchConnections(a.libp2p, stranger.peerId)
  // The stranger believes A is a member and may keep dialling it; A must never dial the stranger.
  const dialledStranger = watchConnections(stranger.libp2p, a.peerId, true)

  await expectRefused(stranger.libp2p, a.addr)
  assert.is(a.libp2p.getConnections(stranger.peerId).length, 0, 'A holds no connection from the stranger')
  assert.is(openedAtA.length, 0, 'A never opened a connection with the stranger')

  await rejectsNamed(async () => await a.libp2p.dial(multiaddr(stranger.addr)), 'DialDeniedError')
  await rejectsNamed(async () => await a.libp2p.dial(stranger.peerId), 'DialDeniedError')
  await rejects(async () => await a.p2p.syncWith(stranger.key), 'NOT_MEMBER_PEER')
  assert.is(dialledStranger.length, 0, 'the stranger was never dialled')
  assert.equal(a.p2p.connectedMembers(), [b.hex])
})

test('a member removed by quorum is hung up on at once and refused when it redials', async () => {
  const consortium = genesisOf([1, 2, 3])
  const a = await startPeer(1, consortium)
  const b = await startPeer(2, consortium, [a])
  const c = await startPeer(3, consortium, [a, b])
  await connected(a, c)
  await connected(b, c)

  const cutOff = withTimeout(new Promise<void>(resolve => {
    a.p2p.addEventListener('peer:disconnected', (e) => {
      if ((e as CustomEvent<string>).detail === c.hex) resolve()
    })
  }), 5000, 'A to hang up on the removed member')
  cutOff.catch(() => {}) // awaited below; this only keeps an early timeout from going unhandled

  // A proposes removing C; B approves; with 2 of 3 votes the majority quorum is met.
  const proposal = await a.ledger.submitOwn('member.propose', { action: 'remove', member: c.key, name: 'Hospital 3', addrs: [] })
  await b.p2p.syncWith(a.key)
  assert.ok(b.ledger.isMember(c.key), 'one vote is not a quorum')
  await b.ledger.submitOwn('member.approve', { proposal: proposal.txId })
  await a.p2p.syncWith(b.key)
  assert.not.ok(a.ledger.isMember(c.key), 'the quorum removed C in A\'s view')
  await cutOff
  await waitFor(() => b.libp2p.getConnections(c.peerId).length === 0, { timeout: 5000, what: 'B to hang up on C' })

  const openedAtA = watchConnections(a.libp2p, c.peerId)
  await expectRefused(c.libp2p, a.addr)
  assert.is(a.libp2p.getConnections(c.peerId).length, 0)
  assert.is(openedAtA.length, 0, 'A never admitted the removed member again')
  await rejectsNamed(async () => await a.libp2p.dial(c.peerId), 'DialDeniedError')
  assert.equal(a.p2p.connectedMembers(), [b.hex])
})

test.run()
