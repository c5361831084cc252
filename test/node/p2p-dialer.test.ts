// The member dialer on real peers over loopback: members are dialled from the addresses in the
// genesis (which carry no `/p2p/` part), and a member that goes away and comes back on the same
// address is redialled with backoff, with no action from either operator.
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../protocol/bytes.ts'
import { createGenesis } from '../../protocol/genesis.ts'
import type { Genesis } from '../../protocol/genesis.ts'
import { createLedger } from '../../ledger/ledger.ts'
import { nodeIdentity, nodeVerify } from '../../ledger/node-crypto.ts'
import type { Ledger } from '../../ledger/types.ts'
import { createP2P } from '../../node/p2p/index.ts'
import type { P2P } from '../../node/p2p/index.ts'
import { withTimeout } from '../helpers/timeout.ts'

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })

/** A deterministic 32-byte seed for hospital `n` (test keys only). */
function seedOf (n: number): Uint8Array {
  const seed = new Uint8Array(32)
  seed[0] = n
  seed[31] = 0x5a
  return seed
}

const keyOf = (n: number): Uint8Array => nodeIdentity(seedOf(n)).publicKey

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

interface Peer { n: number, hex: string, ledger: Ledger, p2p: P2P }

const dirs: string[] = []
const running: Peer[] = []

async function startPeer (n: number, genesis: Genesis, listen: string): Promise<Peer> {
  const dir = await mkdtemp(join(tmpdir(), 'medichain-p2p-'))
  dirs.push(dir)
  const ledger = createLedger({ path: dir, genesis })({ identity: nodeIdentity(seedOf(n)), verify: nodeVerify, logger, clock: Date.now })
  await ledger.start()
  const p2p = createP2P({ seed: seedOf(n), listen: [listen], syncIntervalMs: 0, redialMinMs: 50, redialMaxMs: 400 })({ ledger, logger })
  await p2p.start()
  const peer = { n, hex: toHex(keyOf(n)), ledger, p2p }
  running.push(peer)
  return peer
}

test.after.each(async () => {
  for (const p of running.splice(0).reverse()) {
    await p.p2p.stop()
    await p.ledger.stop()
  }
  await Promise.all(dirs.splice(0).map(async d => await rm(d, { recursive: true, force: true })))
})

/** Resolves on the next `type` event of `peer` about `other`; a timeout never goes unhandled. */
function nextPeerEvent (peer: Peer, type: 'peer:connected' | 'peer:disconnected', other: Peer): Promise<void> {
  let listener: (e: Event) => void = () => {}
  const p = withTimeout(new Promise<void>(resolve => {
    listener = (e) => { if ((e as CustomEvent<string>).detail === other.hex) resolve() }
    peer.p2p.addEventListener(type, listener)
  }), 5000, `${type} of hospital ${other.n} at hospital ${peer.n}`).finally(() => peer.p2p.removeEventListener(type, listener))
  p.catch(() => {})
  return p
}

/** Resolves once `peer` lists `other` as connected (at once if it already does). */
async function connected (peer: Peer, other: Peer): Promise<void> {
  if (peer.p2p.connectedMembers().includes(other.hex)) return
  await nextPeerEvent(peer, 'peer:connected', other)
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
  const found = nextPeerEvent(b, 'peer:connected', { n: 1, hex: toHex(keyOf(1)) } as Peer)
  // Hospital 1 has no address, so only its own dialer, reading the genesis, can make this link.
  const a = await startPeer(1, genesis, '/ip4/127.0.0.1/tcp/0')
  await found
  await connected(a, b)
  assert.equal(a.p2p.connectedMembers(), [b.hex])

  const lost = nextPeerEvent(a, 'peer:disconnected', b)
  await b.p2p.stop()
  await lost
  assert.equal(a.p2p.connectedMembers(), [])

  // B comes back on the same address; B's genesis gives A no address, so A must be the one to redial.
  const back = nextPeerEvent(a, 'peer:connected', b)
  await b.p2p.start()
  await back
  await connected(b, a)
  assert.equal(a.p2p.connectedMembers(), [b.hex])
  assert.equal(b.p2p.connectedMembers(), [a.hex])
})

test.run()
