// `npm run bench:web`: the web UI's budgets (issue 5), each beside its goal: gzip size of the
// production bundle (and that no TensorFlow is in it), first contentful paint and time to
// interactive of the sign-in page on localhost (median of cold loads in Debian's Chromium), and
// the time to open a 50 MB DICOM in the viewer: download, decrypt in the page, parse, draw.
// Output lines are `name: value`. `--quick` makes fewer runs.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { ApiError, MedichainClient } from '../../../protocol/client/client.ts'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import { nodeIdentity, randomSeed } from '../../../ledger/verify/node-crypto.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { createLogger } from '../../../node/logger.ts'
import { createPeer } from '../../../node/peer.ts'
import { buildWeb } from '../../build-web.ts'

const quick = process.argv.includes('--quick')
const RUNS = quick ? 3 : 7
/** Issue 5's bundle goal. */
const BUNDLE_GOAL_KIB = 150
/** "Good" thresholds of web.dev's Core Web Vitals (FCP) and Lighthouse (TTI) on a slow phone; localhost must beat them easily. */
const FCP_GOAL_MS = 1800
const TTI_GOAL_MS = 3800
/** 5000 × 5000 16-bit samples: 50 000 000 bytes of pixels, a large radiograph. */
const SIDE = 5000
const PASSWORD = 'correct horse battery staple'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

const line = (name: string, value: number | string, digits = 0): void => {
  process.stdout.write(`${name}: ${typeof value === 'number' ? value.toFixed(digits) : value}\n`)
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/** FCP and the app's ready mark (sign-in form rendered, session checked) of one cold load. */
async function loadSignIn (browser: Browser, url: string): Promise<{ fcp: number, tti: number }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${url}/app/sign-in`)
  await page.locator('mc-sign-in input#username').waitFor()
  const t = await page.evaluate(() => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1,
    ready: performance.getEntriesByName('mc:ready')[0]?.startTime ?? -1,
    dcl: performance.getEntriesByType('navigation')[0] instanceof PerformanceNavigationTiming ? (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).domContentLoadedEventEnd : -1
  }))
  await context.close()
  return { fcp: t.fcp, tti: Math.max(t.ready, t.dcl) }
}

/** Signs in at the viewer's own URL and returns the app's open-to-first-draw measure. */
async function openViewer (browser: Browser, viewerUrl: string, username: string): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } })
  const page: Page = await context.newPage()
  await page.goto(viewerUrl)
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('.panes[data-state=shown]').waitFor({ timeout: 120_000 })
  const ms = await page.evaluate(() => performance.getEntriesByName('mc:viewer-open').at(-1)?.duration ?? -1)
  await context.close()
  return ms
}

/** A 50 MB synthetic DICOM: a smooth gradient with a disc, so it is not all one value. */
function bigDicom (): Uint8Array {
  const pixels = new Uint16Array(SIDE * SIDE)
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const d = Math.hypot(x - SIDE / 2, y - SIDE / 2)
      pixels[y * SIDE + x] = d < SIDE / 4 ? 3000 : (x + y) % 4096
    }
  }
  return encodeDicom({ rows: SIDE, columns: SIDE, bitsAllocated: 16, bitsStored: 12, pixels, modality: 'DX', sopInstanceUid: '2.25.501', studyInstanceUid: '2.25.502', seriesInstanceUid: '2.25.503' })
}

const dir = await mkdtemp(join(tmpdir(), 'medichain-bench-web-'))
const seed = randomSeed()
const genesis = createGenesis({ name: 'bench web', created: Date.now(), members: [{ name: 'Bench Hospital', key: nodeIdentity(seed).publicKey, addrs: [] }] })
// The peer serves this run's own build (not whatever web/dist holds from an earlier `npm start`).
const built = await buildWeb({ outDir: join(dir, 'web') })
const peer = createPeer({
  data: join(dir, 'peer'), http: { host: '127.0.0.1', port: 0 }, p2p: { listen: ['/ip4/127.0.0.1/tcp/0'] }, peers: [], syncIntervalMs: 60_000, seed, genesis, webRoot: built.outDir, freshChain: true
})({ logger: createLogger({ silent: true }), clock: Date.now })
let browser: Browser | undefined
try {
  const tfjs = built.inputs.filter(p => /tensorflow|tfjs/.test(p))
  line('web_bundle_gzip_kib', built.gzipBytes / 1024, 1)
  line('web_bundle_gzip_goal_kib', BUNDLE_GOAL_KIB)
  line('web_bundle_first_load_gzip_kib', built.initialGzipBytes / 1024, 1)
  line('web_bundle_tfjs_files', tfjs.length)
  await peer.start()
  const url = peer.http.url
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })

  const loads = []
  for (let i = 0; i < RUNS; i++) loads.push(await loadSignIn(browser, url))
  line('signin_fcp_ms', median(loads.map(l => l.fcp)))
  line('signin_fcp_goal_ms', FCP_GOAL_MS)
  line('signin_tti_ms', median(loads.map(l => l.tti)))
  line('signin_tti_goal_ms', TTI_GOAL_MS)

  // Accounts through the SDK (default vault iterations, as people get), then a 50 MB upload.
  const link = peer.auth.setupLink(url)
  if (link === undefined) throw new Error('the peer offers no setup link')
  const admin = new MedichainClient({ baseUrl: url })
  await admin.signUp({ username: 'bench.admin', password: PASSWORD, role: 'admin', setupToken: new URL(link).hash.replace('#token=', '') })
  await admin.signIn('bench.admin', PASSWORD)
  const patient = await new MedichainClient({ baseUrl: url }).signUp({ username: 'bench.patient', password: PASSWORD, role: 'patient' })
  const clinician = new MedichainClient({ baseUrl: url })
  await clinician.signUp({ username: 'bench.dr', password: PASSWORD, role: 'clinician' })
  await admin.approve('bench.dr')
  await clinician.signIn('bench.dr', PASSWORD)
  const file = bigDicom()
  line('viewer_image_mib', file.length / 2 ** 20, 1)
  const uploaded = await clinician.upload(patient.patientId ?? '', file, 'big.dcm') as { raw: string }
  const viewerUrl = `${url}/app/clinician/patients/${patient.patientId ?? ''}/images/${uploaded.raw}`
  const opens = []
  for (let i = 0; i < Math.min(RUNS, 3); i++) opens.push(await openViewer(browser, viewerUrl, 'bench.dr'))
  line('viewer_open_decrypt_50mb_ms', median(opens))
  line('viewer_open_decrypt_50mb_runs', opens.map(ms => ms.toFixed(0)).join(' '))
} catch (err) {
  process.stderr.write(`bench:web failed: ${err instanceof ApiError ? `${err.code} ${err.message}` : String(err)}\n`)
  process.exitCode = 1
} finally {
  await browser?.close()
  await peer.stop()
  await rm(dir, { recursive: true, force: true })
}
