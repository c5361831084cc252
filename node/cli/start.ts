// `medichain start`: runs one hospital peer until SIGINT/SIGTERM. On the very first run (no key
// and no genesis) it creates both, a one-member consortium, so `npm start` works with no setup.
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { toHex } from '../../protocol/bytes.ts'
import { createGenesis, ledgerIdOf } from '../../protocol/chain/genesis.ts'
import type { Genesis } from '../../protocol/chain/genesis.ts'
import type { Ledger } from '../../ledger/types.ts'
import { loadConfig } from '../config/index.ts'
import type { Config } from '../config/index.ts'
import { createKeyFile, keyPath, KeyNotFoundError, loadKeyFile } from '../keys.ts'
import type { HospitalKey } from '../keys.ts'
import { createLogger } from '../logger.ts'
import type { Logger } from '../logger.ts'
import { CONFIG_OPTIONS, HELP_OPTION, parseArgs, parseCommandLine } from './args.ts'
import { fileExists, readGenesisFile, writeGenesisFile } from './genesis-file.ts'
import { assertWritable, explainError } from './explain.ts'
import { START_HELP } from './help.ts'
import { EXIT, println } from './io.ts'
import type { CliIo } from './io.ts'

/** The hospital key and genesis a peer starts from, and whether this run created them. */
export interface PeerIdentity { key: HospitalKey, genesis: Genesis, createdKey: boolean, createdGenesis: boolean }

/**
 * Loads the key and genesis of a data folder. With neither present, creates the key and a genesis
 * whose only member is this hospital (first run). A key without a genesis, or a genesis without
 * a key, is an error: joining an existing consortium needs both from the admin.
 */
export async function prepareIdentity (config: Config, clock: () => number): Promise<PeerIdentity> {
  const hasGenesis = await fileExists(config.genesis)
  const hasKey = await fileExists(keyPath(config.data))
  if (!hasKey && !hasGenesis) {
    const key = await createKeyFile(config.data)
    const genesis = createGenesis({
      name: `${config.name} (single hospital)`.slice(0, 128),
      created: clock(),
      // A port-0 address names no reachable port, so it is left out of the document.
      members: [{ name: config.name, key: key.publicKey, addrs: config.p2p.announce.filter(a => !/\/tcp\/0(\/|$)/.test(a)).slice(0, 8) }]
    })
    await writeGenesisFile(config.genesis, genesis)
    return { key, genesis, createdKey: true, createdGenesis: true }
  }
  if (!hasKey) throw new KeyNotFoundError(keyPath(config.data))
  const key = await loadKeyFile(config.data)
  return { key, genesis: await readGenesisFile(config.genesis), createdKey: false, createdGenesis: false }
}

/** The name the consortium knows this hospital by (its directory entry, else the genesis), else the config's. */
function hospitalName (ledger: Ledger, fallback: string): string {
  return ledger.members().find(m => toHex(m.key) === toHex(ledger.self))?.name ?? fallback
}

/** The TCP port of a multiaddr string, or undefined. */
function tcpPort (addr: string): string | undefined {
  return /\/tcp\/(\d+)/.exec(addr)?.[1]
}

/**
 * A warning when the genesis announces this hospital on p2p ports the peer does not listen on:
 * the other members dial the genesis addresses, so they would never reach it.
 */
export function addressWarning (genesis: Genesis, self: Uint8Array, listening: string[]): string | undefined {
  const announced = genesis.members.find(m => toHex(m.key) === toHex(self))?.addrs ?? []
  if (announced.length === 0) return undefined
  const ports = new Set(listening.map(tcpPort))
  if (announced.some(a => ports.has(tcpPort(a)))) return undefined
  return `the genesis announces this hospital at ${announced.join(', ')}, but it listens on ${listening.join(', ')}: other members dial the genesis address and will not reach it (use --p2p-port ${tcpPort(announced[0]) ?? ''})`
}

/** Names in `dir`, or null when it does not exist yet. */
async function entriesOf (dir: string): Promise<Set<string> | null> {
  try {
    return new Set(await readdir(dir))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
}

/** Removes what this run created in `dir` (all of it when the folder itself is new), and the genesis. */
async function removeCreated (dir: string, before: Set<string> | null, genesisPath: string): Promise<void> {
  await rm(genesisPath, { force: true })
  if (before === null) {
    await rm(dir, { recursive: true, force: true })
    return
  }
  for (const name of await readdir(dir)) {
    if (!before.has(name)) await rm(join(dir, name), { recursive: true, force: true })
  }
}

function waitForAbort (signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve()
  return new Promise(resolve => signal.addEventListener('abort', () => resolve(), { once: true }))
}

/** Runs `medichain start`; resolves with the exit code once the peer has stopped. */
export async function runStart (argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine('start', () => parseArgs({
    args: argv,
    options: {
      ...HELP_OPTION,
      ...CONFIG_OPTIONS,
      'http-host': { type: 'string' },
      'http-port': { type: 'string' },
      'p2p-port': { type: 'string' },
      'dicom-port': { type: 'string' },
      genesis: { type: 'string' },
      peer: { type: 'string', multiple: true },
      'fresh-chain': { type: 'boolean' }
    },
    strict: true,
    allowPositionals: false
  }))
  if (values.help === true) {
    io.stdout.write(START_HELP)
    return EXIT.ok
  }
  const { 'fresh-chain': freshChain, ...flags } = values
  const config = await loadConfig({ flags, env: io.env, cwd: io.cwd })
  const logger: Logger = createLogger({ level: config.logLevel })
  await assertWritable(config.data)
  const before = await entriesOf(config.data)
  const id = await prepareIdentity(config, io.clock)
  if (id.createdKey) println(io.stdout, `first run: created hospital key ${id.key.path}`)
  if (id.createdGenesis) println(io.stdout, `first run: created one-member genesis ${config.genesis}`)
  if (!id.genesis.members.some(m => toHex(m.key) === toHex(id.key.publicKey))) {
    logger.warn({ self: toHex(id.key.publicKey) }, 'this hospital is not a founding member: it needs admission by the consortium')
  }
  // A genesis made by this very run starts a new chain: nobody else can hold a block of it.
  // Loaded only now: a usage error or a bad config answers without loading libp2p, helia and tfjs.
  const { createPeer } = await import('../peer.ts')
  const peer = createPeer({ ...config, seed: id.key.seed, genesis: id.genesis, defaultModel: true, freshChain: freshChain === true || id.createdGenesis })({ logger, clock: io.clock })
  try {
    await peer.start()
  } catch (err) {
    // A first start that fails (a port in use, say) leaves nothing behind: a key and genesis made
    // for a peer that never ran would otherwise pin the next attempt to a half-made consortium.
    if (id.createdKey && id.createdGenesis) await removeCreated(config.data, before, config.genesis)
    throw explainError(err, config.data) ?? err
  }
  // One write, so that no log line lands inside the banner.
  const banner = [
    'medichain peer running (Ctrl-C to stop)',
    `  hospital:   ${hospitalName(peer.ledger, config.name)} ${toHex(id.key.publicKey)}`,
    `  ledger:     ${toHex(ledgerIdOf(id.genesis))} (${id.genesis.name})`,
    `  data:       ${config.data}`,
    `  http:       ${peer.http.url}`,
    ...peer.p2p.addresses().map(addr => `  p2p:        ${addr}`)
  ]
  const dicom = peer.dicom?.address()
  if (dicom !== undefined) banner.push(`  dicom:      ${dicom.aeTitle}@${dicom.host}:${dicom.port}`)
  const setup = peer.auth.setupLink(peer.http.url)
  if (setup !== undefined) banner.push(`  admin setup (one-time link, keep it private): ${setup}`)
  const moved = addressWarning(id.genesis, id.key.publicKey, peer.p2p.addresses())
  if (moved !== undefined) banner.push(`  warning:    ${moved}`)
  io.stdout.write(`${banner.join('\n')}\n`)
  await waitForAbort(io.signal)
  logger.info({ reason: String(io.signal.reason) }, 'shutting down')
  await peer.stop()
  println(io.stdout, 'medichain peer stopped')
  return EXIT.ok
}
