// Real P2P peers for tests: a ledger in a temp folder (ledger/fixture.ts) under a libp2p node on
// 127.0.0.1, plus the waits the p2p tests share: block counts, connections, refused dials.
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { pino } from 'pino'
import { toHex } from '../../../protocol/bytes.ts'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import type { Genesis } from '../../../protocol/chain/genesis.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import type { Host, P2P, P2PInit } from '../../../node/p2p/index.ts'
import { cleanup, openLedger, testIdentity, testSeed } from '../ledger/fixture.ts'
import { waitFor, withTimeout } from '../timeout.ts'

/** One running peer. */
export interface P2PPeer {
  n: number
  key: Uint8Array
  hex: string
  ledger: Ledger
  p2p: P2P
  libp2p: Host
  peerId: PeerId
  /** First listen address, with /p2p/. */
  addr: string
  dir?: string
}

/** A consortium of hospitals `members` (deterministic test keys, no addresses). */
export function p2pConsortium (members: number[], name = 'p2p test'): Genesis {
  return createGenesis({
    name,
    created: 1_700_000_000_000,
    members: members.map(n => ({ name: `Hospital ${n}`, key: testIdentity(n).publicKey, addrs: [] })),
    quorum: 'majority'
  })
}

const running: P2PPeer[] = []
const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' })

/** Starts hospital `n`'s ledger and P2P layer; background sync is off unless asked for. */
export async function startP2PPeer (
  n: number,
  genesis: Genesis,
  opts: Partial<Omit<P2PInit, 'seed'>> & { path?: string, verifyWorkers?: number } = {}
): Promise<P2PPeer> {
  const { path, verifyWorkers, ...init } = opts
  const ledger = await openLedger(genesis, testIdentity(n), { path, verifyWorkers })
  const p2p = createP2P({ listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0, ...init, seed: testSeed(n) })({ ledger, logger })
  await p2p.start()
  const key = testIdentity(n).publicKey
  const peer = { n, key, hex: toHex(key), ledger, p2p, libp2p: p2p.libp2p, peerId: p2p.libp2p.peerId, addr: p2p.addresses()[0], dir: path }
  running.push(peer)
  return peer
}

/** Stops one peer (P2P first, then its ledger) and forgets it. */
export async function stopP2PPeer (peer: P2PPeer): Promise<void> {
  const at = running.indexOf(peer)
  if (at < 0) throw new Error(`hospital ${peer.n} is not a peer this helper started`)
  running.splice(at, 1)
  await peer.p2p.stop()
  await peer.ledger.stop()
}

/** Stops every peer started here, newest first, then the ledgers and temp folders. */
export async function stopP2PPeers (): Promise<void> {
  for (const p of running.splice(0).reverse()) await p.p2p.stop().catch(() => {})
  await cleanup()
}

/** Resolves once `ledger` holds `size` blocks, driven by its block:appended events. */
export async function untilSize (ledger: Ledger, size: number, ms = 30_000, what = 'ledger'): Promise<void> {
  let check: () => void = () => {}
  await withTimeout(new Promise<void>(resolve => {
    check = () => { if (ledger.size() >= size) resolve() }
    ledger.addEventListener('block:appended', check)
    check()
  }), ms, `${what} to reach ${size} blocks (has ${ledger.size()})`).finally(() => ledger.removeEventListener('block:appended', check))
}

/** Resolves when `peer` reports a connection to member `otherHex` (at once if it has one). */
export async function connectedTo (peer: P2PPeer, otherHex: string, ms = 5000): Promise<void> {
  let check: () => void = () => {}
  await withTimeout(new Promise<void>(resolve => {
    check = () => { if (peer.p2p.connectedMembers().includes(otherHex)) resolve() }
    peer.p2p.addEventListener('peer:connected', check)
    check()
  }), ms, `hospital ${peer.n} to connect to ${otherHex.slice(0, 12)}`).finally(() => peer.p2p.removeEventListener('peer:connected', check))
}

/**
 * Dials and expects a refusal: the dial fails, or the connection the dialler saw is closed by the
 * other side within a few seconds (the gater drops strangers right after the TLS or noise handshake).
 */
export async function expectRefused (from: Libp2p, addr: string): Promise<void> {
  let conn: Connection
  try {
    conn = await from.dial(multiaddr(addr), { signal: AbortSignal.timeout(5000) })
  } catch {
    return
  }
  await waitFor(() => conn.status !== 'open', { timeout: 5000, what: 'the refused connection to close' })
}
