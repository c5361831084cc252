// The two hospitals the cross-hospital benchmarks start (bench:emergency, bench:relay): North and
// South Hospital in one consortium, each in its own folder of one temp folder, connected and
// writable. `extra` adds settings to both (password hashing, rate limits, relay checks).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { createGenesis } from '../../protocol/chain/genesis.ts'
import { createKeyFile } from '../../node/keys.ts'
import { createLogger } from '../../node/logger.ts'
import { createPeer } from '../../node/peer.ts'
import type { Peer, PeerInit } from '../../node/peer.ts'

/** The two started peers (North first), and how to stop both and remove their folders. */
export interface TwoMemberPeers { peers: [Peer, Peer], stop: () => Promise<void> }

/** Starts both peers of benchmark `bench`, the second dialling the first, and waits until both may write. */
export async function startTwoMemberPeers (bench: string, extra: Partial<PeerInit> = {}): Promise<TwoMemberPeers> {
  const dir = await mkdtemp(join(tmpdir(), `medichain-bench-${bench}-`))
  const keys = [await createKeyFile(join(dir, 'north')), await createKeyFile(join(dir, 'south'))]
  const genesis = createGenesis({ name: `bench:${bench}`, created: Date.now(), members: [{ name: 'North Hospital', key: keys[0].publicKey, addrs: [] }, { name: 'South Hospital', key: keys[1].publicKey, addrs: [] }] })
  const started: Peer[] = []
  for (const [i, name] of ['north', 'south'].entries()) {
    const peer = createPeer({
      data: join(dir, name),
      http: { host: '127.0.0.1', port: 0 },
      p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      peers: [],
      syncIntervalMs: 2000,
      seed: keys[i].seed,
      genesis,
      ...extra
    })({ logger: createLogger({ level: 'warn', destination: 2 }), clock: Date.now })
    await peer.start()
    started.push(peer)
  }
  const peers: [Peer, Peer] = [started[0], started[1]]
  await peers[1].p2p.libp2p.dial(multiaddr(peers[0].p2p.addresses()[0]))
  await Promise.all(peers.map(async p => await p.writes.whenOpen()))
  return {
    peers,
    stop: async () => {
      for (const p of [...peers].reverse()) await p.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }
}
