// Whole hospital peers for integration tests: createPeer (ledger, p2p, storage, accounts, HTTP)
// on 127.0.0.1 port 0 in temp folders, dialled into a full mesh, with a signed-in admin per
// hospital and helpers to sign users up through the real client SDK.
import type { ExportConfig } from '../../../node/research/service.ts'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import type { Genesis, RecoveryRule } from '../../../protocol/chain/genesis.ts'
import { MedichainClient } from '../../../protocol/client/client.ts'
import type { Role } from '../../../protocol/chain/tx.ts'
import { AUTH_DEFAULTS } from '../../../node/auth/constants.ts'
import type { SignInLimits } from '../../../node/auth/constants.ts'
import type { RelayInit } from '../../../node/relay/index.ts'
import { RECORDS_DEFAULTS } from '../../../node/config/records.ts'
import type { RecordsConfig } from '../../../node/config/records.ts'
import { DICOM_DEFAULTS } from '../../../node/config/dicom.ts'
import type { DicomConfig } from '../../../node/config/dicom.ts'
import { createLogger } from '../../../node/logger.ts'
import { createPeer } from '../../../node/peer.ts'
import type { Peer } from '../../../node/peer.ts'
import { tempDir, testIdentity, testSeed } from '../ledger/fixture.ts'
import { withTimeout } from '../timeout.ts'

/** How long a new peer may take to learn its own (empty) chain from the members it dialled (ms). */
export const WRITES_OPEN_MS = 20_000

/** One running hospital with its signed-in admin. */
export interface Hospital { n: number, peer: Peer, data: string, url: string, admin: MedichainClient, name: string }

/** Low-cost settings for tests only: scrypt N = 2^14 and 1,000 PBKDF2 iterations. */
export const TEST_SCRYPT_N = 2 ** 14
export const TEST_VAULT_ITERATIONS = 1000

/** Options shared by the hospitals of one test. */
export interface HospitalOptions {
  /** One logger for every hospital, or one per hospital number. */
  logger?: Logger | ((n: number) => Logger)
  /** Sign-in limits of every hospital, or per hospital number (defaults: production limits). */
  limits?: Partial<SignInLimits> | ((n: number) => Partial<SignInLimits> | undefined)
  /** Relayed sign-in timing (node/relay). */
  relay?: RelayInit
  records?: Partial<RecordsConfig>
  /** Folder of the installed OHIF viewer (default: the checkout's, node/viewer DEFAULT_VIEWER_ROOT). */
  viewerRoot?: string
  clock?: () => number
  /** A clock per hospital number, over `clock` (a test moves one hospital's time). */
  clocks?: (n: number) => (() => number) | undefined
  /** Turns the DICOM listener on (port 0 unless given); off when absent. */
  dicom?: Partial<DicomConfig>
  /** The consortium's assisted-recovery rule (genesis); the defaults when absent. */
  recovery?: RecoveryRule
  /** Research export tuning (a small batch budget, a short block wait). */
  researchExports?: ExportConfig
}

/** A genesis of hospitals 1..n (deterministic keys, no addresses: tests dial explicitly). */
export function hospitalGenesis (n: number, recovery?: RecoveryRule): Genesis {
  return createGenesis({
    name: 'integration consortium',
    created: 1_700_000_000_000,
    members: Array.from({ length: n }, (_, i) => ({ name: `Hospital ${String.fromCharCode(65 + i)}`, key: testIdentity(i + 1).publicKey, addrs: [] })),
    recovery
  })
}

/** A client of `url` with test-cost vault sealing. */
export function client (url: string): MedichainClient {
  return new MedichainClient({ baseUrl: url, vaultIterations: TEST_VAULT_ITERATIONS })
}

/** Starts hospital `n` of `genesis` in `data` (a fresh temp folder by default). */
export async function startHospital (n: number, genesis: Genesis, opts: HospitalOptions & { data?: string, peers?: string[], freshChain?: boolean } = {}): Promise<Omit<Hospital, 'admin'>> {
  const data = opts.data ?? await tempDir('medichain-peer-')
  const peer = createPeer({
    data,
    http: { host: '127.0.0.1', port: 0 },
    p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    peers: opts.peers ?? [],
    syncIntervalMs: 2000,
    // A new folder of a one-member consortium is a new chain; a given folder may be a rebuild.
    freshChain: opts.freshChain ?? (genesis.members.length === 1 && opts.data === undefined),
    seed: testSeed(n),
    genesis,
    verifyWorkers: 1,
    auth: { ...AUTH_DEFAULTS, scryptN: TEST_SCRYPT_N, limits: typeof opts.limits === 'function' ? opts.limits(n) : opts.limits },
    records: { ...RECORDS_DEFAULTS, ...opts.records },
    ...(opts.relay === undefined ? {} : { relay: opts.relay }),
    ...(opts.researchExports === undefined ? {} : { researchExports: opts.researchExports }),
    ...(opts.dicom === undefined ? {} : { dicom: { ...DICOM_DEFAULTS, port: 0, ...opts.dicom } }),
    ...(opts.viewerRoot === undefined ? {} : { viewerRoot: opts.viewerRoot })
  })({ logger: (typeof opts.logger === 'function' ? opts.logger(n) : opts.logger) ?? createLogger({ silent: true }), clock: opts.clocks?.(n) ?? opts.clock ?? Date.now })
  await peer.start()
  return { n, peer, data, url: peer.http.url, name: `Hospital ${String.fromCharCode(64 + n)}` }
}

/** Creates the hospital's admin through the one-time setup token and signs them in. */
export async function adminOf (h: Omit<Hospital, 'admin'>): Promise<Hospital> {
  const link = h.peer.auth.setupLink(h.url)
  if (link === undefined) throw new Error('no setup link: an admin exists already')
  const token = new URL(link).hash.replace(/^#token=/, '')
  const admin = client(h.url)
  await admin.signUp({ username: `admin-${h.n}`, password: 'correct horse battery staple', role: 'admin', setupToken: token })
  await admin.signIn(`admin-${h.n}`, 'correct horse battery staple')
  return { ...h, admin }
}

/** Starts `count` hospitals, dials them into a full mesh and signs in an admin at each. */
export async function startHospitals (count: number, opts: HospitalOptions = {}): Promise<Hospital[]> {
  const genesis = hospitalGenesis(count, opts.recovery)
  const started = []
  for (let n = 1; n <= count; n++) started.push(await startHospital(n, genesis, opts))
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) await started[i].peer.p2p.libp2p.dial(multiaddr(started[j].peer.p2p.addresses()[0]))
  }
  // A new ledger folder writes only once a member has said how much of its chain it holds.
  for (const h of started) await withTimeout(h.peer.writes.whenOpen(), WRITES_OPEN_MS, `writes open at ${h.name}`)
  const out: Hospital[] = []
  for (const h of started) out.push(await adminOf(h))
  return out
}

/** Signs up a user at `h` (approving clinicians and researchers with its admin) and signs them in. */
export async function user (h: Hospital, username: string, role: Role): Promise<MedichainClient> {
  const c = client(h.url)
  const password = `${username} has a long password`
  await c.signUp({ username, password, role })
  if (role === 'clinician' || role === 'researcher') await h.admin.approve(username)
  await c.signIn(username, password)
  return c
}

/** Stops peers (any order is fine; each undoes its own services). */
export async function stopHospitals (hs: Array<{ peer: Peer }>): Promise<void> {
  for (const h of hs) await h.peer.stop().catch(() => {})
}
