// The peer under load for `npm run bench:load`: one hospital, alone in its consortium, in a fresh
// data folder, with production settings except scrypt's cost (2^14): the mix has no sign-ins, so
// it only shortens the setup of the users. Runs in its own process so its RSS and CPU profile are
// its own; prints one JSON line `{ url, pid, setup }` on stdout when ready and stops on SIGTERM.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGenesis } from '../../protocol/genesis.ts'
import { AUTH_DEFAULTS } from '../../node/auth/constants.ts'
import { createKeyFile } from '../../node/keys.ts'
import { createLogger } from '../../node/logger.ts'
import { createPeer } from '../../node/peer.ts'

const data = await mkdtemp(join(tmpdir(), 'medichain-bench-load-'))
const key = await createKeyFile(data)
const genesis = createGenesis({ name: 'bench:load', created: Date.now(), members: [{ name: 'Bench Hospital', key: key.publicKey, addrs: [] }] })
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
  freshChain: true
})({ logger: createLogger({ level: 'warn', destination: 2 }), clock: Date.now })
await peer.start()

let stopping = false
process.on('SIGTERM', () => {
  if (stopping) return
  stopping = true
  void (async () => {
    await peer.stop()
    await rm(data, { recursive: true, force: true })
    process.exit(0)
  })()
})
process.stdout.write(`${JSON.stringify({ url: peer.http.url, pid: process.pid, setup: peer.auth.setupLink(peer.http.url) })}\n`)
