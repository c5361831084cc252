// Connection encryption between members on real libp2p nodes over loopback (node/p2p/host.ts): two
// current members negotiate TLS 1.3; a member of an older release that offers noise only still
// connects and syncs, whichever side dials; a stranger is refused over TLS as over noise; and a
// dial that names a member but reaches another key fails in the TLS handshake.
import type { Connection, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Genesis } from '../../../protocol/chain/genesis.ts'
import { encryptersOf } from '../../../node/p2p/host.ts'
import type { P2PInit } from '../../../node/p2p/index.ts'
import { recordBody } from '../../helpers/ledger/fixture.ts'
import { throwsCode } from '../../helpers/assert.ts'
import { connectedTo, expectRefused, p2pConsortium, startP2PPeer, stopP2PPeers, untilSize } from '../../helpers/peers/p2p.ts'
import type { P2PPeer } from '../../helpers/peers/p2p.ts'

const TLS = '/tls/1.0.0'
const NOISE = '/noise'

const genesisOf = (members: number[]): Genesis => p2pConsortium(members, 'p2p encryption test')

test.after.each(stopP2PPeers)

async function startPeer (n: number, genesis: Genesis, encrypters?: P2PInit['encrypters']): Promise<P2PPeer> {
  return await startP2PPeer(n, genesis, encrypters === undefined ? {} : { encrypters })
}

/** The one open connection `peer` holds with `remote`; fails when there is none or several. */
function connectionWith (peer: P2PPeer, remote: PeerId): Connection {
  const open = peer.libp2p.getConnections(remote).filter(c => c.status === 'open')
  assert.is(open.length, 1, `expected one open connection, found ${open.length}`)
  return open[0]
}

/** Dials `to` from `from`, waits until both see the other as a connected member, and returns the encryption each side negotiated. */
async function link (from: P2PPeer, to: P2PPeer): Promise<[string | undefined, string | undefined]> {
  await from.libp2p.dial(multiaddr(to.addr))
  await connectedTo(from, to.hex)
  await connectedTo(to, from.hex)
  return [connectionWith(from, to.peerId).encryption, connectionWith(to, from.peerId).encryption]
}

/** Writes one block at `writer` and waits until `reader` holds it through a sync with `writer`. */
async function syncsFrom (writer: P2PPeer, reader: P2PPeer, record: number): Promise<void> {
  await writer.ledger.submitOwn('record.create', recordBody(record))
  const size = writer.ledger.size()
  await reader.p2p.syncWith(writer.key)
  await untilSize(reader.ledger, size, 5000, `hospital ${reader.n}`)
}

test('the encrypters are offered TLS first; an empty, unknown or repeated list is refused', () => {
  assert.is(encryptersOf(['tls', 'noise']).length, 2)
  throwsCode(() => encryptersOf([]), 'INVALID')
  throwsCode(() => encryptersOf(['noise', 'noise']), 'INVALID')
  // An operator's typo arrives as any string at run time.
  throwsCode(() => encryptersOf(['plaintext' as 'tls']), 'INVALID')
})

test('two current members negotiate TLS 1.3 and sync over it', async () => {
  const g = genesisOf([1, 2])
  const a = await startPeer(1, g)
  const b = await startPeer(2, g)
  assert.equal(await link(b, a), [TLS, TLS])
  await syncsFrom(a, b, 1)
  await syncsFrom(b, a, 2)
})

test('a noise-only member of an older release connects and syncs, whichever side dials', async () => {
  const g = genesisOf([1, 2, 3])
  const current = await startPeer(1, g)
  const older = await startPeer(2, g, ['noise'])
  assert.equal(await link(older, current), [NOISE, NOISE], 'the older member dials a current one')
  await syncsFrom(current, older, 1)
  await syncsFrom(older, current, 2)

  const other = await startPeer(3, g)
  assert.equal(await link(other, older), [NOISE, NOISE], 'a current member dials the older one')
  await syncsFrom(older, other, 3)
  // Between the two current members TLS is still chosen.
  assert.equal(await link(other, current), [TLS, TLS])
})

test('a stranger is refused over TLS, where a member with the same TLS-only setup connects', async () => {
  const g = genesisOf([1, 2])
  const a = await startPeer(1, g)
  // A TLS-only member connects: TLS alone is enough to get in, so the refusal below is membership.
  const member = await startPeer(2, g, ['tls'])
  assert.equal(await link(member, a), [TLS, TLS])

  // The stranger runs its own consortium in which hospital 1 is a member, so only A's gater refuses.
  const stranger = await startPeer(9, genesisOf([1, 9]), ['tls'])
  const admitted: Connection[] = []
  a.libp2p.addEventListener('connection:open', (e) => { if (e.detail.remotePeer.equals(stranger.peerId)) admitted.push(e.detail) })
  await expectRefused(stranger.libp2p, a.addr)
  assert.is(a.libp2p.getConnections(stranger.peerId).length, 0, 'A holds no connection from the stranger')
  assert.is(admitted.length, 0, 'A never admitted the stranger')
  assert.equal(a.p2p.connectedMembers(), [member.hex])
})

test('a dial that names a member but reaches another key fails in the TLS handshake', async () => {
  const g = genesisOf([1, 2, 9])
  const a = await startPeer(1, g, ['tls'])
  const b = await startPeer(2, g)
  // Hospital 9 listens where A believes B is: the certificate names 9's key, not B's.
  const impostor = await startPeer(9, g)
  const wrong = impostor.addr.replace(impostor.peerId.toString(), b.peerId.toString())
  let failed: unknown
  try {
    await a.libp2p.dial(multiaddr(wrong), { signal: AbortSignal.timeout(5000) })
  } catch (err) {
    failed = err
  }
  // libp2p errors carry no code: the class name says the handshake, not the gater, refused it.
  assert.is(failed instanceof Error ? failed.name : failed, 'EncryptionFailedError')
  assert.is(a.libp2p.getConnections(impostor.peerId).length, 0, 'A holds no connection with the key it did not ask for')
  assert.is(a.libp2p.getConnections(b.peerId).length, 0, 'nor one it believes is B')
})

test.run()
