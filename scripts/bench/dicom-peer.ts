// The peer under test for `npm run bench:dicom`: one hospital, alone in its consortium, in a fresh
// data folder, with the DICOM listener on a free port and, with `--model`, the shipped default
// model in the analyser slot. Runs in its own process so its CPU is its own. Prints one JSON line
// `{ url, dicomPort, setup }` when ready, then `{ images: n }` each time a block adds images (so
// the bench sees when every instance is on the ledger without polling), and stops on SIGTERM.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createGenesis } from '../../protocol/genesis.ts'
import type { Block } from '../../protocol/block.ts'
import { AUTH_DEFAULTS } from '../../node/auth/constants.ts'
import { DICOM_DEFAULTS } from '../../node/config-dicom.ts'
import { createKeyFile } from '../../node/keys.ts'
import { createLogger } from '../../node/logger.ts'
import { createPeer } from '../../node/peer.ts'

const data = await mkdtemp(join(tmpdir(), 'medichain-bench-dicom-'))
const key = await createKeyFile(data)
const genesis = createGenesis({ name: 'bench:dicom', created: Date.now(), members: [{ name: 'Bench Hospital', key: key.publicKey, addrs: [] }] })
const peer = createPeer({
  data,
  http: { host: '127.0.0.1', port: 0 },
  p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  peers: [],
  syncIntervalMs: 10_000,
  auth: { ...AUTH_DEFAULTS, scryptN: 2 ** 14 },
  seed: key.seed,
  genesis,
  freshChain: true,
  defaultModel: process.argv.includes('--model'),
  // C-STORE answers once an instance is durable in custody, so one association's instances overlap.
  dicom: { ...DICOM_DEFAULTS, port: 0, acknowledge: 'custody' }
})({ logger: createLogger({ level: process.env.BENCH_PEER_LOG === 'info' ? 'info' : 'warn', destination: 2 }), clock: Date.now })
await peer.start()

let images = 0
peer.ledger.addEventListener('block:appended', (e) => {
  const block = (e as CustomEvent<Block>).detail
  const added = block.txs.filter(d => d.tx.type === 'image.add').length
  if (added === 0) return
  images += added
  process.stdout.write(`${JSON.stringify({ images })}\n`)
})

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
process.stdout.write(`${JSON.stringify({ url: peer.http.url, dicomPort: peer.dicom?.address()?.port, setup: peer.auth.setupLink(peer.http.url) })}\n`)
