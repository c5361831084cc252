// The peer the single-hospital benchmarks start (bench:load, bench:dicom, bench:storage): one
// hospital, alone in its consortium, in a fresh data folder, with production settings except
// scrypt's cost (2^14: the benchmarks' sign-ups and sign-ins are setup, not what they measure).
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGenesis } from '../../protocol/chain/genesis.ts'
import { AUTH_DEFAULTS } from '../../node/auth/constants.ts'
import { createKeyFile } from '../../node/keys.ts'
import { createLogger } from '../../node/logger.ts'
import { applyGcPolicy } from '../../node/gc-policy.ts'
import { createPeer } from '../../node/peer.ts'
import type { Peer, PeerInit } from '../../node/peer.ts'

/** A started one-member peer, its data folder, and how to stop it and remove the folder. */
export interface OneMemberPeer { peer: Peer, data: string, stop: () => Promise<void> }

/**
 * Starts the peer of benchmark `bench` (it names the temp folder and the genesis); `extra` adds
 * or overrides settings (the DICOM listener, the default model). Logs go to stderr at `level`.
 */
export async function startOneMemberPeer (bench: string, extra: Partial<PeerInit> = {}, level: 'warn' | 'info' = 'warn'): Promise<OneMemberPeer> {
  // The peer's process takes its garbage-collection policy, as `medichain start` does
  // (node/gc-policy.ts); it is process-wide, so it holds from here on.
  applyGcPolicy()
  const data = await mkdtemp(join(tmpdir(), `medichain-bench-${bench}-`))
  const key = await createKeyFile(data)
  const genesis = createGenesis({ name: `bench:${bench}`, created: Date.now(), members: [{ name: 'Bench Hospital', key: key.publicKey, addrs: [] }] })
  const peer = createPeer({
    data,
    http: { host: '127.0.0.1', port: 0 },
    p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    peers: [],
    syncIntervalMs: 10_000,
    auth: { ...AUTH_DEFAULTS, scryptN: 2 ** 14 },
    seed: key.seed,
    genesis,
    // A one-member consortium made here is a new chain: it may write at once.
    freshChain: true,
    ...extra
  })({ logger: createLogger({ level, destination: 2 }), clock: Date.now })
  await peer.start()
  return {
    peer,
    data,
    stop: async () => {
      await peer.stop()
      await rm(data, { recursive: true, force: true })
    }
  }
}
