// Propagation figures for `npm run bench:ledger`: block latency from an author to four other
// peers on loopback, beside raw gossipsub publish latency of the same size on the same machine.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { pino } from 'pino'
import { toHex } from '../../../protocol/bytes.ts'
import type { Block } from '../../../protocol/chain/block.ts'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import { createLedger } from '../../../ledger/ledger.ts'
import { nodeIdentity, nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { createHost } from '../../../node/p2p/host.ts'
import type { Host } from '../../../node/p2p/host.ts'
import { createP2P } from '../../../node/p2p/index.ts'
import type { P2P } from '../../../node/p2p/index.ts'

const logger = pino({ level: 'silent' })

/** p-th percentile (0..100) of numbers, nearest rank. */
export function percentile (xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

async function fullMesh (addrs: string[][], dial: (i: number, addr: string) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < addrs.length; i++) for (let j = i + 1; j < addrs.length; j++) await dial(i, addrs[j][0])
}

/** Waits until every host sees `expected` subscribers on `topic`: the mesh is ready. */
async function meshReady (hosts: Host[], topic: string, expected: number): Promise<void> {
  const deadline = Date.now() + 10_000
  while (hosts.some(h => h.services.pubsub.getSubscribers(topic).length < expected)) {
    if (Date.now() > deadline) throw new Error('gossipsub mesh did not form')
    await new Promise(resolve => setImmediate(resolve))
  }
}

/** Raw gossipsub: `count` messages of `size` bytes from one of 5 nodes; latency to each of the 4 others (ms). */
export async function rawGossipLatencies (size: number, count: number): Promise<number[]> {
  const topic = '/bench/raw'
  const hosts = await Promise.all(Array.from({ length: 5 }, async () => await createHost({
    privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0'], gater: {}, topics: [topic]
  })))
  await Promise.all(hosts.map(async h => await h.start()))
  await fullMesh(hosts.map(h => h.getMultiaddrs().map(String)), async (i, a) => await hosts[i].dial(multiaddr(a)))
  for (const h of hosts) h.services.pubsub.subscribe(topic)
  await meshReady(hosts, topic, 4)
  const latencies: number[] = []
  for (let k = 0; k < count; k++) {
    const data = new Uint8Array(size)
    new DataView(data.buffer).setUint32(0, k)
    const t0 = performance.now()
    const arrived = hosts.slice(1).map(async h => await new Promise<void>(resolve => {
      const on = (e: CustomEvent<{ topic: string, data: Uint8Array }>): void => {
        if (e.detail.topic !== topic || new DataView(e.detail.data.buffer, e.detail.data.byteOffset).getUint32(0) !== k) return
        latencies.push(performance.now() - t0)
        h.services.pubsub.removeEventListener('message', on as never)
        resolve()
      }
      h.services.pubsub.addEventListener('message', on as never)
    }))
    await hosts[0].services.pubsub.publish(topic, data)
    await Promise.all(arrived)
  }
  await Promise.all(hosts.map(async h => await h.stop()))
  return latencies
}

interface BenchPeer { ledger: Ledger, p2p: P2P, dir: string }

/** Starts `n` hospitals of one consortium, fully meshed. */
export async function startNetwork (n: number, verifyWorkers = 1): Promise<BenchPeer[]> {
  const seeds = Array.from({ length: n }, (_, i) => { const s = new Uint8Array(32); s[0] = 100 + i; return s })
  const ids = seeds.map(nodeIdentity)
  const genesis = createGenesis({ name: 'bench', created: 0, members: ids.map((id, i) => ({ name: `H${i}`, key: id.publicKey, addrs: [] })) })
  const peers = await Promise.all(seeds.map(async (seed, i) => {
    const dir = await mkdtemp(join(tmpdir(), 'medichain-bench-'))
    const ledger = createLedger({ path: dir, genesis, verifyWorkers })({ identity: ids[i], verify: nodeVerify, logger, clock: Date.now })
    await ledger.start()
    const p2p = createP2P({ seed, listen: ['/ip4/127.0.0.1/tcp/0'], syncIntervalMs: 0 })({ ledger, logger })
    await p2p.start()
    return { ledger, p2p, dir }
  }))
  await fullMesh(peers.map(p => p.p2p.addresses()), async (i, a) => await peers[i].p2p.libp2p.dial(multiaddr(a)))
  await meshReady(peers.map(p => p.p2p.libp2p), peers[0].p2p.topic, n - 1)
  return peers
}

export async function stopNetwork (peers: BenchPeer[]): Promise<void> {
  for (const p of peers) {
    await p.p2p.stop()
    await p.ledger.stop()
    await rm(p.dir, { recursive: true, force: true })
  }
}

/**
 * Ledger propagation: `count` one-transaction blocks from peer 0; latency from its local append
 * to the append on each of the 4 others (ms). Returns latencies and the block size.
 */
export async function blockLatencies (count: number): Promise<{ latencies: number[], blockBytes: number }> {
  const peers = await startNetwork(5)
  const latencies: number[] = []
  let blockBytes = 0
  const started = new Map<string, number>()
  for (const p of peers.slice(1)) {
    p.ledger.addEventListener('block:appended', (e) => {
      const t0 = started.get(toHex((e as CustomEvent<Block>).detail.hash))
      if (t0 !== undefined) latencies.push(performance.now() - t0)
    })
  }
  peers[0].ledger.addEventListener('block:appended', (e) => {
    const b = (e as CustomEvent<Block>).detail
    started.set(toHex(b.hash), performance.now())
    blockBytes = b.bytes.length
  })
  for (let k = 0; k < count; k++) {
    const target = latencies.length + 4
    // One block per iteration: the submission waits for its own block.
    await peers[0].ledger.submitOwn('record.create', { patient: new Uint8Array(32).fill(k % 250), record: new Uint8Array(16).fill(k >> 8) })
    const deadline = Date.now() + 10_000
    while (latencies.length < target) {
      if (Date.now() > deadline) throw new Error(`block ${k} did not reach every peer`)
      await new Promise(resolve => setImmediate(resolve))
    }
  }
  await stopNetwork(peers)
  return { latencies, blockBytes }
}

/** Catch-up: peer 1 was offline while peer 0 wrote `count` blocks; blocks/s of its sync on reconnect. */
export async function catchUpRate (count: number): Promise<{ blocksPerSec: number, seconds: number }> {
  const peers = await startNetwork(2)
  const [a, b] = peers
  await b.p2p.stop()
  for (let k = 0; k < count; k++) {
    await a.ledger.submitOwn('record.create', { patient: new Uint8Array(32).fill(k % 250), record: new Uint8Array(16).fill(k >> 8) })
  }
  const total = a.ledger.size()
  await b.p2p.start()
  const t0 = performance.now()
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`catch-up stalled at ${b.ledger.size()} of ${total}`)), 300_000)
    b.ledger.addEventListener('block:appended', () => {
      if (b.ledger.size() >= total) { clearTimeout(timer); resolve() }
    })
  })
  await b.p2p.libp2p.dial(multiaddr(a.p2p.addresses()[0]))
  await done
  const seconds = (performance.now() - t0) / 1000
  await stopNetwork(peers)
  return { blocksPerSec: total / seconds, seconds }
}
