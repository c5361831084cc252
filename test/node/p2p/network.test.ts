// The ledger replicated over real libp2p nodes on 127.0.0.1: four peers converge on one state
// root; a stopped peer catches up on 200 blocks; a member admitted by quorum syncs the whole
// history; a removed member is cut off and its blocks refused; a stranger gets nowhere.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { multiaddr } from '@multiformats/multiaddr'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import type { Genesis } from '../../../protocol/chain/genesis.ts'
import { rejects } from '../../helpers/assert.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { untilTx } from '../../helpers/ledger/until.ts'
import { makeBlock, recordBody, tempDir, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'
import { expectRefused as refusedDial, startP2PPeer, stopP2PPeer, stopP2PPeers, untilSize } from '../../helpers/peers/p2p.ts'
import type { P2PPeer } from '../../helpers/peers/p2p.ts'

type Peer = P2PPeer & { dir: string }

const { genesis } = testConsortium(4)

test.after.each(stopP2PPeers)

/** Hospital `n` in its own folder (`dir` to restart one), with background sync every 2 s. */
async function startPeer (n: number, g: Genesis = genesis, dir?: string): Promise<Peer> {
  const path = dir ?? await tempDir()
  const peer = await startP2PPeer(n, g, { path, verifyWorkers: 1, syncIntervalMs: 2000, redialMinMs: 50, redialMaxMs: 500 })
  // The same object the helper tracks (a copy would not be found when it is stopped).
  return Object.assign(peer, { dir: path })
}

async function connect (a: Peer, b: Peer): Promise<void> {
  await a.p2p.libp2p.dial(multiaddr(b.addr))
}

/** A refused dial, and no connection held on the other side. */
async function expectRefused (from: Peer, to: Peer): Promise<void> {
  await refusedDial(from.libp2p, to.addr)
  assert.is(to.libp2p.getConnections(from.peerId).length, 0, 'no connection is held')
}

/** Blocks written by `peers` themselves: what every peer must end up holding. */
function ownBlocks (peers: Peer[]): number {
  return peers.reduce((n, p) => n + p.ledger.heads().filter(h => toHex(h.author) === toHex(testIdentity(p.n).publicKey)).reduce((m, h) => m + h.height + 1, 0), 0)
}

async function roots (peers: Peer[]): Promise<Set<string>> {
  return new Set(await Promise.all(peers.map(async p => toHex(await p.ledger.stateRoot()))))
}

test('four peers writing concurrently converge on one state root', async () => {
  const peers = await Promise.all([1, 2, 3, 4].map(async n => await startPeer(n)))
  for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) await connect(peers[i], peers[j])
  await Promise.all(peers.map(async (p, i) => {
    for (let k = 0; k < 10; k++) await Promise.all([0, 1, 2].map(async r => await p.ledger.submitOwn('record.create', recordBody(i * 40 + k, r))))
  }))
  const total = ownBlocks(peers)
  await Promise.all(peers.map(async p => await untilSize(p.ledger, total)))
  assert.is((await roots(peers)).size, 1)
})

test('a stopped peer misses 200 blocks, restarts and catches up', async () => {
  const peers = await Promise.all([1, 2, 3, 4].map(async n => await startPeer(n)))
  for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) await connect(peers[i], peers[j])
  const d = peers[3]
  await stopP2PPeer(d)
  for (let k = 0; k < 200; k++) await peers[k % 3].ledger.submitOwn('record.create', recordBody(k % 250, k % 7))
  const expected = ownBlocks(peers.slice(0, 3)) + 0
  assert.ok(expected >= 200)
  await untilSize(peers[0].ledger, expected)
  const back = await startPeer(4, genesis, d.dir)
  await connect(back, peers[0])
  await untilSize(back.ledger, expected)
  assert.is((await roots([...peers.slice(0, 3), back])).size, 1)
})

test('a hospital admitted by quorum late syncs the whole history and can write', async () => {
  const peers = await Promise.all([1, 2, 3, 4].map(async n => await startPeer(n)))
  for (let i = 1; i < 4; i++) await connect(peers[0], peers[i])
  for (let k = 0; k < 30; k++) await peers[k % 4].ledger.submitOwn('record.create', recordBody(k))
  const e = await startPeer(5)
  await expectRefused(e, peers[0])
  const admitted = Promise.all(peers.map(async p => await withTimeout(new Promise(resolve => p.ledger.addEventListener('members:changed', resolve, { once: true })), 20_000, 'admission')))
  const proposal = await peers[0].ledger.submitOwn('member.propose', { action: 'add', member: testIdentity(5).publicKey, name: 'Hospital E', addrs: e.p2p.addresses() })
  await untilSize(peers[1].ledger, peers[0].ledger.size())
  await untilSize(peers[2].ledger, peers[0].ledger.size())
  await peers[1].ledger.submitOwn('member.approve', { proposal: proposal.txId })
  await peers[2].ledger.submitOwn('member.approve', { proposal: proposal.txId })
  await admitted
  await connect(e, peers[0])
  await untilSize(e.ledger, peers[0].ledger.size())
  assert.ok(e.ledger.isMember(testIdentity(5).publicKey), 'E learns of its own admission')
  assert.is((await roots([...peers, e])).size, 1)
  const loc = await e.ledger.submitOwn('record.create', recordBody(99))
  await untilTx(peers[3].ledger, loc.txId, 20_000, 'E block reaching D')
})

test('a removed member is disconnected, refused on redial, and its new blocks are refused', async () => {
  const peers = await Promise.all([1, 2, 3, 4].map(async n => await startPeer(n)))
  for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) await connect(peers[i], peers[j])
  const [a, b, c, d] = peers
  await d.ledger.submitOwn('record.create', recordBody(1))
  await Promise.all([a, b, c].map(async p => await untilSize(p.ledger, 1)))
  const dKey = toHex(testIdentity(4).publicKey)
  const cut = withTimeout(new Promise<void>(resolve => {
    const on = (ev: Event): void => { if ((ev as CustomEvent<string>).detail === dKey) resolve() }
    a.p2p.addEventListener('peer:disconnected', on)
  }), 20_000, 'D disconnected from A')
  const proposal = await a.ledger.submitOwn('member.propose', { action: 'remove', member: testIdentity(4).publicKey, name: '', addrs: [] })
  await Promise.all([b, c].map(async p => await untilSize(p.ledger, a.ledger.size())))
  await b.ledger.submitOwn('member.approve', { proposal: proposal.txId })
  await c.ledger.submitOwn('member.approve', { proposal: proposal.txId })
  await cut
  assert.not.ok(a.ledger.isMember(testIdentity(4).publicKey))
  assert.not.ok(a.p2p.connectedMembers().includes(dKey))
  await expectRefused(d, a)
  const head = await d.ledger.block(testIdentity(4).publicKey, 0)
  const late = makeBlock(ledgerIdOf(genesis), testIdentity(4), { height: 1, prev: head?.hash ?? null, time: Date.now() })
  await rejects(async () => await a.ledger.receive(late.bytes), 'NOT_MEMBER')
})

test('a key that is not a member can neither connect nor get a block accepted', async () => {
  const a = await startPeer(1)
  const stranger = await startPeer(9)
  await expectRefused(stranger, a)
  await a.p2p.libp2p.dial(multiaddr(stranger.p2p.addresses()[0])).then(
    () => assert.unreachable('a member dialled a stranger'),
    () => {}
  )
  assert.is(a.p2p.connectedMembers().length, 0)
  const block = makeBlock(ledgerIdOf(genesis), testIdentity(9), { height: 0, prev: null, time: Date.now() })
  await rejects(async () => await a.ledger.receive(block.bytes), 'NOT_MEMBER')
})

test.run()
