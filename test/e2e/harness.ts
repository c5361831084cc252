// Shared setup of the browser tests: a real consortium of hospital peers (createPeer: ledger,
// libp2p, helia storage, accounts, records, HTTP) on 127.0.0.1 serving a test build of the UI,
// a detect-strange analyser on a freshly made model, synthetic DICOM and PNG files, and headless
// Debian Chromium (or Firefox ESR, through firefox.ts) driven by playwright-core with a log of
// every request the page makes.
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { chromium } from 'playwright-core'
import type { Test } from 'uvu'
import playwrightForFirefox from 'playwright-core-firefox'
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core'
import { toHex } from '../../protocol/bytes.ts'
import { createGenesis } from '../../protocol/chain/genesis.ts'
import type { RecoveryRule } from '../../protocol/chain/genesis.ts'
import type { Genesis } from '../../protocol/chain/genesis.ts'
import { initBackend } from '../../node/ai/runtime/backend.ts'
import { createDetectStrange } from '../../node/ai/detect/detect.ts'
import { createModel, serializeWeights } from '../../node/ai/model/model.ts'
import { encodeDicom } from '../../node/imaging/dicom/write.ts'
import { encodePng, toUint8, toUint16 } from '../../node/imaging/raster/encode.ts'
import { RECORDS_DEFAULTS } from '../../node/config/records.ts'
import type { RecordsConfig } from '../../node/config/records.ts'
import { DICOM_DEFAULTS } from '../../node/config/dicom.ts'
import type { DicomConfig } from '../../node/config/dicom.ts'
import { createLogger } from '../../node/logger.ts'
import { createPeer } from '../../node/peer.ts'
import type { Peer } from '../../node/peer.ts'
import { generatePhantom } from '../../scripts/synth/phantom.ts'
import { buildWeb } from '../../scripts/build-web.ts'
import { testIdentity, testSeed } from '../helpers/ledger/fixture.ts'
import { waitFor } from '../helpers/timeout.ts'

/** Where screenshots go (git-ignored). */
export const ARTIFACTS = fileURLToPath(new URL('./artifacts', import.meta.url))

/** Debian's Chromium (STACK.md "Browser tests"); never a downloaded one. */
export const CHROMIUM = '/usr/bin/chromium'

/** Launch flags from STACK.md: headless without sandbox, and no background calls to the internet. */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]

/** PBKDF2 iterations of the test bundle's vaults (the vault module's floor; real builds use 600 000). */
export const TEST_VAULT_ITERATIONS = 1000

/** A password that passes the peer's rules. */
export const PASSWORD = 'correct horse battery staple'

/** One running hospital. */
export interface Hospital { name: string, peer: Peer, url: string, key: string }

/** What a test network holds, to stop it. */
export interface Network { hospitals: Hospital[], genesis: Genesis, dir: string, webRoot: string }

/**
 * Whether the browser exists. Missing under CI=true is a failure (issue 5: "in CI a missing
 * browser fails the tests instead of skipping them"); elsewhere the caller skips with a notice.
 */
export function browserAvailable (): boolean {
  if (existsSync(CHROMIUM)) return true
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: install Debian's chromium (.ci/run does)`)
  process.stdout.write(`SKIP: ${CHROMIUM} is missing (install chromium to run the browser tests)\n`)
  return false
}

/** Debian's Firefox ESR (issue 5: "works in current Chromium and Firefox"); never a downloaded one. */
export const FIREFOX = '/usr/bin/firefox-esr'

/**
 * Firefox preferences of the browser tests. `network.dns.forceResolve` makes every name resolve to
 * 127.0.0.1, so Firefox's own background services (remote settings looks up
 * firefox.settings.services.mozilla.com even with playwright's profile) never leave the machine;
 * the page's requests are still logged, by URL, before any lookup. `webgl.force-enabled` lets
 * WebGL run on Mesa's software renderer (llvmpipe), which Firefox otherwise refuses; with
 * FIREFOX_ENV it gives headless Firefox the WebGL that OHIF draws with, as Chromium's headless
 * mode has SwiftShader.
 */
export const FIREFOX_PREFS: Record<string, string | number | boolean> = {
  'network.dns.forceResolve': '127.0.0.1',
  'webgl.force-enabled': true
}

/** Environment of the Firefox tests: headless Firefox on Linux creates WebGL contexts only over EGL when told to. */
export const FIREFOX_ENV = { MOZ_WEBGL_FORCE_EGL: '1' }

/**
 * Whether Firefox exists, as browserAvailable() does for Chromium: missing under CI=true is a
 * failure, elsewhere the caller skips with a notice.
 */
export function firefoxAvailable (): boolean {
  if (existsSync(FIREFOX)) return true
  if (process.env.CI === 'true') throw new Error(`${FIREFOX} is missing: install Debian's firefox-esr (.ci/run does)`)
  process.stdout.write(`SKIP: ${FIREFOX} is missing (install firefox-esr to run the Firefox browser tests)\n`)
  return false
}

/** Builds the UI once into a temp folder with the test-only vault iterations. */
export async function buildTestWeb (dir: string): Promise<string> {
  const out = join(dir, 'web')
  await buildWeb({ outDir: out, testVaultIterations: TEST_VAULT_ITERATIONS })
  return out
}

/** How startNetwork builds the consortium: a shared UI build or folder, and peer settings. */
export interface NetworkOptions { webRoot?: string, dir?: string, records?: Partial<RecordsConfig>, dicom?: Partial<DicomConfig>, recovery?: RecoveryRule }

/**
 * Starts `count` hospitals (A, B, …) of one consortium on 127.0.0.1 port 0, each serving the UI
 * from `webRoot`, every later one dialling A; resolves once all are connected to A.
 */
export async function startNetwork (count: number, opts: NetworkOptions = {}): Promise<Network> {
  const dir = opts.dir ?? await mkdtemp(join(tmpdir(), 'medichain-e2e-'))
  const webRoot = opts.webRoot ?? await buildTestWeb(dir)
  const names = Array.from({ length: count }, (_, i) => `Hospital ${String.fromCharCode(65 + i)}`)
  const genesis = createGenesis({
    name: 'e2e consortium',
    created: 1_700_000_000_000,
    members: names.map((name, i) => ({ name, key: testIdentity(i + 1).publicKey, addrs: [] })),
    recovery: opts.recovery
  })
  const logger = createLogger({ silent: process.env.LOG_LEVEL === undefined, level: 'debug' })
  const hospitals: Hospital[] = []
  for (let i = 0; i < count; i++) {
    const data = join(dir, `h${i}`)
    await mkdir(data, { recursive: true })
    const peer = createPeer({
      data,
      http: { host: '127.0.0.1', port: 0 },
      p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      peers: i === 0 ? [] : hospitals[0].peer.p2p.addresses(),
      syncIntervalMs: 1_000,
      seed: testSeed(i + 1),
      genesis,
      verifyWorkers: 0,
      records: { ...RECORDS_DEFAULTS, ...opts.records },
      // Test speed: scrypt N = 2^14 (the floor the config accepts); everything else as configured.
      auth: { scryptN: 2 ** 14, sessionIdleMs: 30 * 60_000, sessionMaxMs: 12 * 60 * 60_000, secureCookies: false },
      webRoot,
      // The DICOM listener, on a free port, when the test asks for it.
      ...(opts.dicom === undefined ? {} : { dicom: { ...DICOM_DEFAULTS, port: 0, ...opts.dicom } }),
      // A one-member consortium made here is a new chain; larger ones learn theirs from A.
      freshChain: count === 1
    })({ logger: logger.child({ hospital: names[i] }), clock: Date.now })
    await peer.start()
    hospitals.push({ name: names[i], peer, url: peer.http.url, key: toHex(testIdentity(i + 1).publicKey) })
  }
  if (count > 1) {
    await waitFor(() => hospitals.slice(1).every(h => h.peer.p2p.connectedMembers().includes(hospitals[0].key)), { timeout: 20_000, what: 'members to connect' })
  }
  // A new ledger folder writes once the members it reaches have said how much of its chain they hold.
  await waitFor(() => hospitals.every(h => h.peer.writes.open), { timeout: 20_000, what: 'writes to open' })
  return { hospitals, genesis, dir, webRoot }
}

/** Stops every hospital and removes the folder. */
export async function stopNetwork (net: Network | undefined): Promise<void> {
  if (net === undefined) return
  for (const h of [...net.hospitals].reverse()) await h.peer.stop().catch(() => {})
  await rm(net.dir, { recursive: true, force: true })
}

/**
 * Registers detect-strange on `hospital` with a freshly made (untrained) small U-Net: its output
 * quality does not matter to the UI, only that a result image, a score and a model CID exist.
 */
export async function registerAnalyser (hospital: Hospital): Promise<string> {
  await initBackend({ prefer: 'wasm' })
  const model = createModel(5, { inputSize: 32, base: 4, depth: 2 })
  const modelCid = CID.create(1, raw.code, await sha256.digest(serializeWeights(model)))
  hospital.peer.analysers.set(createDetectStrange({ model, modelCid }))
  return modelCid.toString()
}

/** A synthetic CT slice as DICOM Part 10 (12 bits stored in 16, CT rescale), no real PHI. */
export function phantomDicom (seed: number, size = 96): Uint8Array {
  const p = generatePhantom(seed, { size })
  return encodeDicom({
    rows: size,
    columns: size,
    bitsAllocated: 16,
    bitsStored: 12,
    pixels: toUint16(p.pixels, 12),
    modality: 'CT',
    rescale: { slope: 1, intercept: -1024 },
    window: { center: 800 - 1024, width: 2800 },
    sopInstanceUid: `2.25.${seed}1`,
    studyInstanceUid: `2.25.${seed}2`,
    seriesInstanceUid: `2.25.${seed}3`,
    patient: { name: 'SYNTH^E2E', id: `E2E${seed}`, birthDate: '19700101' }
  })
}

/** A synthetic 8-bit grayscale PNG. */
export function phantomPng (seed: number, size = 96): Uint8Array {
  const p = generatePhantom(seed, { size })
  return encodePng(toUint8(p.pixels), size, size)
}

/** The browser, with every page's requests logged for the "nothing leaves 127.0.0.1" check. */
export interface TestBrowser {
  browser: Browser
  /** Every URL any page requested. */
  requests: string[]
  /** Console errors and page errors (CSP violations show up here). */
  problems: string[]
  /**
   * A fresh context (own cookies) and page at `url`, `width` CSS pixels wide; `clock` installs
   * Playwright's fake clock first, so a test can move the page's time (the idle lock).
   */
  page(url: string, opts?: { width?: number, clock?: boolean }): Promise<Page>
  close(): Promise<void>
}

/** Launches Chromium with STACK.md's flags plus `extraArgs`. */
export async function launch (extraArgs: string[] = []): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] })
  return testBrowser(browser, {})
}

/**
 * Launches headless Firefox ESR over WebDriver BiDi with the same TestBrowser as launch(). The
 * Firefox side uses playwright-core 1.54 (the `playwright-core-firefox` alias): playwright-core
 * 1.65 sends BiDi commands that Debian's Firefox ESR 140 lacks (network.addDataCollector,
 * browser.setDownloadBehavior, emulation.setScreenOrientationOverride and more) and then trips
 * over the UI's CSP with eval, while 1.54 speaks the BiDi that ESR 140 implements. One gap stays:
 * Firefox 140 reports no same-document (history.pushState) navigation over BiDi, so `page.url()`
 * lags behind the app's router; flows.ts waits on `location.pathname` instead of waitForURL.
 */
export async function launchFirefox (): Promise<TestBrowser> {
  const browser = await playwrightForFirefox._bidiFirefox.launch({
    executablePath: FIREFOX,
    headless: true,
    firefoxUserPrefs: FIREFOX_PREFS,
    env: { ...process.env, ...FIREFOX_ENV }
  })
  // Both playwright-core versions expose the Browser API the tests use.
  return testBrowser(browser as unknown as Browser, { colorScheme: null })
}

/** A TestBrowser over `browser`, whose contexts get `contextOptions`. */
function testBrowser (browser: Browser, contextOptions: BrowserContextOptions): TestBrowser {
  const requests: string[] = []
  const problems: string[] = []
  const contexts: BrowserContext[] = []
  return {
    browser,
    requests,
    problems,
    async page (url, opts = {}) {
      const context = await browser.newContext({ ...contextOptions, viewport: { width: opts.width ?? 1100, height: 900 } })
      contexts.push(context)
      const page = await context.newPage()
      page.on('request', r => { requests.push(r.url()) })
      page.on('console', m => { if (m.type() === 'error') problems.push(m.text()) })
      page.on('pageerror', e => { problems.push(e.message) })
      if (opts.clock === true) await page.clock.install()
      await page.goto(url)
      return page
    },
    async close () {
      for (const c of contexts) await c.close().catch(() => {})
      await browser.close()
    }
  }
}

/** Requests that went anywhere but 127.0.0.1 (blob: and data: never leave the page, and are allowed). */
export function offHostRequests (requests: string[]): string[] {
  return requests.filter(u => {
    const url = new URL(u)
    if (url.protocol === 'blob:' || url.protocol === 'data:') return false
    return url.hostname !== '127.0.0.1'
  })
}

/** Saves a full-page screenshot as test/e2e/artifacts/<name>.png. */
export async function screenshot (page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true })
}

/** Fills and submits the sign-up form; `role` is the radio to pick (setup pages have none). */
export async function signUpInPage (page: Page, username: string, role?: 'patient' | 'clinician' | 'researcher', password = PASSWORD): Promise<string | null> {
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password', { exact: true }).fill(password)
  await page.getByLabel('Repeat the password').fill(password)
  if (role !== undefined) await page.getByLabel(role, { exact: false }).first().check()
  await page.getByRole('button', { name: 'Create account' }).click()
  if (role !== 'patient') return null
  // A patient is shown the recovery code once: it is read, confirmed as saved, and returned.
  const code = page.getByTestId('recovery-code')
  await code.or(page.locator('[role=alert][data-code]')).first().waitFor({ timeout: 120_000 })
  if (await code.count() === 0) return null
  const text = (await code.textContent())?.trim() ?? ''
  await page.getByLabel('I have written down or printed this code').check()
  await page.getByRole('button', { name: 'Continue' }).click()
  return text
}

/** Fills and submits the sign-in form. */
export async function signInInPage (page: Page, username: string, password = PASSWORD): Promise<void> {
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

/** A test of a browser suite; `it` is uvu's test, or test.skip when the browser is missing. */
export type SuiteTest = (name: string, fn: () => Promise<void>) => void

/** What a suite starts before its tests: `hospitals` peers, then (in browserSuite) one browser. */
export interface SuiteOptions {
  hospitals: number
  network?: NetworkOptions
  /** Whether the browser exists (default browserAvailable: under CI=true a missing one throws). */
  available?: () => boolean
  /** Runs once the network is up, before the browser launches (register an analyser, make a folder). */
  prepare?: (net: Network) => Promise<void>
  /** Runs first in the after hook, whether or not setup ran (print a summary, remove a folder). */
  after?: () => void | Promise<void>
}

/**
 * The shared frame of the browser tests that launch their browsers inside a test: before them a
 * network of `opts.hospitals` peers, after them every browser this `launch` made is closed and
 * the network stopped. Without a browser outside CI, `it` skips (browserAvailable says so).
 */
export function networkSuite (test: Test, opts: SuiteOptions): { it: SuiteTest, setup: () => { net: Network }, launch: typeof launch } {
  const available = (opts.available ?? browserAvailable)()
  let net: Network | undefined
  const browsers: TestBrowser[] = []
  test.before(async () => {
    if (!available) return
    net = await startNetwork(opts.hospitals, opts.network)
    await opts.prepare?.(net)
  })
  test.after(async () => {
    await opts.after?.()
    for (const b of browsers) await b.close()
    await stopNetwork(net)
  })
  return {
    it: available ? test : test.skip,
    setup () {
      if (net === undefined) throw new Error('setup did not run')
      return { net }
    },
    async launch (extraArgs?: string[]) {
      const b = await launch(extraArgs)
      browsers.push(b)
      return b
    }
  }
}

/**
 * The shared frame of most browser tests: a network of `opts.hospitals` peers and one browser
 * (`opts.launch`, default Chromium) for all tests of the file, closed and stopped after them.
 * setup() gives both, or throws 'setup did not run' when the before hook did not run.
 */
export function browserSuite (test: Test, opts: SuiteOptions & { launch?: () => Promise<TestBrowser> }): { it: SuiteTest, setup: () => { net: Network, browser: TestBrowser } } {
  let browser: TestBrowser | undefined
  const suite = networkSuite(test, {
    ...opts,
    async prepare (net) {
      await opts.prepare?.(net)
      browser = await (opts.launch ?? launch)()
    },
    async after () {
      await opts.after?.()
      await browser?.close()
    }
  })
  return {
    it: suite.it,
    setup () {
      const { net } = suite.setup()
      if (browser === undefined) throw new Error('setup did not run')
      return { net, browser }
    }
  }
}
