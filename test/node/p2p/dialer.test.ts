// The member dialer on real peers over loopback: members are dialled from the addresses in the
// genesis (which carry no `/p2p/` part), and a member that goes away and comes back on the same
// address is redialled with backoff, with no action from either operator.
import { createServer } from 'node:net'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import type { Genesis } from '../../../protocol/chain/genesis.ts'
import { testIdentity } from '../../helpers/ledger/fixture.ts'
import { connectedTo, startP2PPeer, stopP2PPeers } from '../../helpers/peers/p2p.ts'
import type { P2PPeer } from '../../helpers/peers/p2p.ts'
import { withTimeout } from '../../helpers/timeout.ts'

const keyOf = (n: number): Uint8Array => testIdentity(n).publicKey

/** A loopback TCP port that was free a moment ago, for an address that must be known in advance. */
async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

async function startPeer (n: number, genesis: Genesis, listen: string): Promise<P2PPeer> {
  return await startP2PPeer(n, genesis, { listen: [listen], redialMinMs: 50, redialMaxMs: 400 })
}

test.after.each(stopP2PPeers)

/** The next `type` event at `peer` about hospital `other`, within 5 s. */
function nextPeerEvent (peer: P2PPeer, type: 'peer:connected' | 'peer:disconnected', other: { n: number, hex: string }): Promise<void> {
  let listener: (e: Event) => void = () => {}
  const p = withTimeout(new Promise<void>(resolve => {
    listener = (e) => { if ((e as CustomEvent<string>).detail === other.hex) resolve() }
    peer.p2p.addEventListener(type, listener)
  }), 5000, `${type} of hospital ${other.n} at hospital ${peer.n}`).finally(() => peer.p2p.removeEventListener(type, listener))
  p.catch(() => {})
  return p
}

test('members are dialled from genesis addresses, and redialled when one comes back', async () => {
  const port = await freePort()
  const genesis = createGenesis({
    name: 'p2p dialer test',
    created: 1_700_000_000_000,
    members: [
      { name: 'Hospital 1', key: keyOf(1), addrs: [] },
      { name: 'Hospital 2', key: keyOf(2), addrs: [`/ip4/127.0.0.1/tcp/${port}`] }
    ],
    quorum: 'majority'
  })
  const b = await startPeer(2, genesis, `/ip4/127.0.0.1/tcp/${port}`)
  const found = nextPeerEvent(b, 'peer:connected', { n: 1, hex: toHex(keyOf(1)) })
  // Hospital 1 has no address, so only its own dialer, reading the genesis, can make this link.
  const a = await startPeer(1, genesis, '/ip4/127.0.0.1/tcp/0')
  await found
  await connectedTo(a, b.hex)
  assert.equal(a.p2p.connectedMembers(), [b.hex])

  const lost = nextPeerEvent(a, 'peer:disconnected', b)
  await b.p2p.stop()
  await lost
  assert.equal(a.p2p.connectedMembers(), [])

  // B comes back on the same address; B's genesis gives A no address, so A must be the one to redial.
  const back = nextPeerEvent(a, 'peer:connected', b)
  await b.p2p.start()
  await back
  await connectedTo(b, a.hex)
  assert.equal(a.p2p.connectedMembers(), [b.hex])
  assert.equal(b.p2p.connectedMembers(), [a.hex])
})

test.run()
