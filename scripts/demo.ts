// `npm run demo`: three hospitals on 127.0.0.1 in one consortium. Creates fresh data folders under
// ./demo-data, keys and one shared genesis, starts the three peers in this process, writes
// synthetic PHI-free ledger activity, waits until all three agree on the state root, prints the
// URLs, heads and root, and runs until Ctrl-C, which stops every peer cleanly.
import { randomBytes } from 'node:crypto'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { toHex } from '../protocol/bytes.ts'
import { createGenesis, ledgerIdOf } from '../protocol/chain/genesis.ts'
import { writeGenesisFile } from '../node/cli/genesis-file.ts'
import { createKeyFile } from '../node/keys.ts'
import type { HospitalKey } from '../node/keys.ts'
import { createLogger, LOG_LEVELS } from '../node/logger.ts'
import { createPeer } from '../node/peer.ts'
import { DICOM_DEFAULTS } from '../node/config/dicom.ts'
import { DEMO_PASSWORD, runStory } from './demo/story.ts'
import type { DemoAccount } from './demo/story.ts'
import type { Peer } from '../node/peer.ts'

const HELP = `Usage: npm run demo -- [options]

  --dir DIR              where the hospitals' data folders go, wiped first (default ./demo-data)
  --base-p2p-port PORT   p2p ports are PORT, PORT+1, PORT+2 (default 4101)
  --base-http-port PORT  HTTP ports are PORT, PORT+1, PORT+2 (default 8101)
  --base-dicom-port PORT DICOM ports are PORT, PORT+1, PORT+2 (default 11201)
  --txs N                synthetic record.create transactions to write (default 30)
  --log-level LEVEL      peer log level (default warn)
  --once                 stop after the three peers agree, instead of waiting for Ctrl-C
  -h, --help             show this help
`

const HOSPITALS = ['St Anne', 'General', 'Riverside']

/** How long the peers get to connect and agree before the demo gives up (ms). */
const CONVERGE_TIMEOUT_MS = 60_000

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: './demo-data' },
    'base-p2p-port': { type: 'string', default: '4101' },
    'base-http-port': { type: 'string', default: '8101' },
    'base-dicom-port': { type: 'string', default: '11201' },
    txs: { type: 'string', default: '30' },
    'log-level': { type: 'string', default: 'warn' },
    once: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  },
  strict: true
})
if (values.help) {
  process.stdout.write(HELP)
  process.exit(0)
}

function intOption (name: string, v: string, max: number): number {
  const n = Number(v)
  if (!/^\d+$/.test(v) || n > max) {
    process.stderr.write(`demo: --${name} expects an integer up to ${max}, got ${JSON.stringify(v)}\n`)
    process.exit(2)
  }
  return n
}

const dir = resolve(values.dir)
const p2pBase = intOption('base-p2p-port', values['base-p2p-port'], 65533)
const httpBase = intOption('base-http-port', values['base-http-port'], 65533)
const dicomBase = intOption('base-dicom-port', values['base-dicom-port'], 65533)
const txCount = intOption('txs', values.txs, 100_000)
const level = LOG_LEVELS.find(l => l === values['log-level'])
if (level === undefined) {
  process.stderr.write(`demo: --log-level expects one of ${LOG_LEVELS.join(', ')}\n`)
  process.exit(2)
}
const logger = createLogger({ level, destination: 2 })
const say = (line = ''): void => { process.stdout.write(`${line}\n`) }

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Polls `check` every 100 ms until it holds; throws after `timeoutMs`. */
async function until (what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(100)
  }
}

interface Hospital { name: string, data: string, key: HospitalKey, p2pPort: number, httpPort: number, dicomPort: number }

async function prepare (): Promise<{ hospitals: Hospital[], genesis: ReturnType<typeof createGenesis> }> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  const hospitals: Hospital[] = []
  for (const [i, name] of HOSPITALS.entries()) {
    const data = join(dir, `hospital-${String.fromCharCode(97 + i)}`)
    const key = await createKeyFile(data)
    const h = { name, data, key, p2pPort: p2pBase + i, httpPort: httpBase + i, dicomPort: dicomBase + i }
    // Each folder also works with the CLI afterwards: `medichain ledger verify --data <folder>`.
    const config = { name, http: { port: h.httpPort }, p2p: { listen: [`/ip4/127.0.0.1/tcp/${h.p2pPort}`] }, dicom: { port: h.dicomPort }, logLevel: values['log-level'] }
    await writeFile(join(data, 'config.json'), `${JSON.stringify(config, null, 2)}\n`)
    hospitals.push(h)
  }
  const genesis = createGenesis({
    name: 'Medichain demo consortium',
    created: Date.now(),
    members: hospitals.map(h => ({ name: h.name, key: h.key.publicKey, addrs: [`/ip4/127.0.0.1/tcp/${h.p2pPort}`] }))
  })
  for (const h of hospitals) await writeGenesisFile(join(h.data, 'genesis.json'), genesis)
  await writeGenesisFile(join(dir, 'genesis.json'), genesis)
  return { hospitals, genesis }
}

async function activity (peers: Peer[]): Promise<void> {
  // Synthetic and PHI-free: random pseudonymous patient ids and record ids, as the ledger expects.
  const pending: Array<Promise<unknown>> = []
  for (let i = 0; i < txCount; i++) {
    const peer = peers[i % peers.length]
    pending.push(peer.ledger.submitOwn('record.create', { patient: new Uint8Array(randomBytes(32)), record: new Uint8Array(randomBytes(16)) }))
  }
  await Promise.all(pending)
}

async function agreed (peers: Peer[]): Promise<boolean> {
  const sizes = peers.map(p => p.ledger.size())
  if (sizes.some(s => s !== sizes[0])) return false
  const roots = await Promise.all(peers.map(async p => toHex(await p.ledger.stateRoot())))
  return roots.every(r => r === roots[0])
}

async function main (): Promise<void> {
  const { hospitals, genesis } = await prepare()
  const peers = hospitals.map(h => createPeer({
    data: h.data,
    http: { host: '127.0.0.1', port: h.httpPort },
    p2p: { listen: [`/ip4/127.0.0.1/tcp/${h.p2pPort}`] },
    peers: [],
    dicom: { ...DICOM_DEFAULTS, port: h.dicomPort },
    syncIntervalMs: 2_000,
    seed: h.key.seed,
    genesis
  })({ logger: logger.child({ hospital: h.name }), clock: Date.now }))

  let stopping: Promise<void> | undefined
  const stopAll = async (): Promise<void> => {
    stopping ??= (async () => {
      for (const p of peers) await p.stop()
    })()
    await stopping
  }
  const onSignal = (signal: string): void => {
    if (stopping !== undefined) process.exit(130)
    say(`\n${signal}: stopping the three peers…`)
    stopAll().then(() => { say('stopped cleanly'); process.exit(0) }, (err: unknown) => {
      logger.error({ err }, 'stop failed')
      process.exit(1)
    })
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)

  let accounts: DemoAccount[] = []
  try {
    for (const p of peers) await p.start()
    say(`consortium ${genesis.name}, ledger ${toHex(ledgerIdOf(genesis))}`)
    say('waiting for the peers to connect…')
    await until('all peers connected', CONVERGE_TIMEOUT_MS, async () => peers.every(p => p.p2p.connectedMembers().length === peers.length - 1))
    // New ledger folders write once a member has said how much of their chain it holds.
    await until('writes open on all peers', CONVERGE_TIMEOUT_MS, async () => peers.every(p => p.writes.open))
    say(`writing ${txCount} synthetic record.create transactions…`)
    await activity(peers)
    await until('one state root on all peers', CONVERGE_TIMEOUT_MS, async () => await agreed(peers))
    say('the clinical story, through the client SDK over HTTP:')
    accounts = await runStory(peers, hospitals.map(h => h.name), say, DICOM_DEFAULTS.aeTitle)
    await until('one state root on all peers', CONVERGE_TIMEOUT_MS, async () => await agreed(peers))
  } catch (err) {
    logger.error({ err }, 'demo failed')
    process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`)
    await stopAll()
    process.exit(1)
  }

  say()
  for (const [i, p] of peers.entries()) {
    const h = hospitals[i]
    const body = { root: toHex(await p.ledger.stateRoot()), blocks: p.ledger.size() }
    say(`${h.name}`)
    say(`  data  ${h.data}`)
    say(`  http  ${p.http.url}/api/health`)
    for (const a of p.p2p.addresses()) say(`  p2p   ${a}`)
    say(`  root  ${body.root} (${body.blocks} blocks)`)
  }
  say()
  say('heads:')
  for (const head of peers[0].ledger.heads()) {
    const name = hospitals.find(h => toHex(h.key.publicKey) === toHex(head.author))?.name ?? '?'
    say(`  ${name.padEnd(10)} height ${String(head.height).padStart(4)}  ${toHex(head.hash)}`)
  }
  say(`state root on all three: ${toHex(await peers[0].ledger.stateRoot())}`)
  say()
  say(`accounts (password "${DEMO_PASSWORD}"):`)
  for (const a of accounts) say(`  ${a.username.padEnd(10)} ${a.role.padEnd(9)} ${a.hospital} ${a.url}`)
  if (values.once) {
    await stopAll()
    say('stopped cleanly')
    process.exit(0)
  }
  say()
  say('running; try the URLs above. Ctrl-C stops all three peers.')
}

await main()
