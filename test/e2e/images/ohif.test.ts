// The OHIF viewer at /viewer (issue 13 item 2), in Chromium: a CT study arrives over C-STORE at
// hospital A for a linked patient; the clinician of A opens the patient in the web UI, follows
// "Open the study in OHIF", and OHIF (the pinned @ohif/app bundle, scripts/viewer-install.ts)
// draws its slices from A's /dicomweb under the clinician's session cookie, with no CSP violation.
// Refusals: nobody signed in is sent to sign-in, a patient is refused, and a study of hospital B's
// patient, who consented to nobody at A, is neither listed in OHIF nor opened by its link.
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PNG } from 'pngjs'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { SECURITY_HEADERS } from '../../../node/http/middleware/security.ts'
import { VIEWER_CSP } from '../../../node/viewer/constants.ts'
import { installViewer, ViewerFetchError } from '../../../node/viewer/install.ts'
import { dcmtk, writeStudy } from '../../helpers/imaging/dicom.ts'
import { adminOf as sdkAdminOf, user } from '../../helpers/peers/peers.ts'
import type { Hospital as SdkHospital } from '../../helpers/peers/peers.ts'
import { atPath, findPatient } from '../flows.ts'
import { browserAvailable, browserSuite, offHostRequests, screenshot, signInInPage } from '../harness.ts'
import type { Hospital } from '../harness.ts'

/** Slices of the CT study: enough for OHIF's "n of N", few enough to store at once. */
const SLICES = 5

/**
 * The viewer bundle, installed if absent (the registry is reachable wherever `npm ci` ran). Under
 * CI=true a failed install fails the test; elsewhere, without a registry, it skips with a notice.
 */
async function viewerReady (): Promise<boolean> {
  try {
    await installViewer()
    return true
  } catch (err) {
    if (process.env.CI === 'true' || !(err instanceof ViewerFetchError)) throw err
    process.stdout.write(`SKIP: the OHIF viewer is not installed and cannot be fetched (${err.message})\n`)
    return false
  }
}
const ready = browserAvailable() && await viewerReady()

const { it, setup } = browserSuite(test, { hospitals: 2, network: { dicom: {} }, available: () => ready })

/** A hospital of the browser harness with an admin signed in through the SDK (setup token). */
async function withAdmin (h: Hospital, n: number): Promise<SdkHospital> {
  return await sdkAdminOf({ n, peer: h.peer, data: '', url: h.url, name: h.name })
}

/** Stores a CT study of `mrn` at `h` over C-STORE (dcmtk storescu) and waits until it is filed. */
async function storeStudy (h: Hospital, dir: string, mrn: string, uid: string): Promise<void> {
  const files = await writeStudy(dir, { mrn, name: `SYNTH^${mrn}`, birthDate: '19700101', uid, size: 256, series: [{ uid: `${uid}.1`, modality: 'CT', slices: SLICES }] })
  const stored = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(h.peer.dicom?.address()?.port), ...files], 120_000)
  assert.is(stored.code, 0, stored.stderr)
  await h.peer.dicom?.settled()
}

/** A patient of `h` whose MRN the hospital's desk linked to them (so their DICOM lands in their records). */
async function linkedPatient (h: SdkHospital, desk: MedichainClient, name: string, mrn: string): Promise<{ patient: MedichainClient, pid: string }> {
  const patient = await user(h, name, 'patient')
  const pid = patient.user?.patientId as string
  await desk.request('POST', '/api/dicom/links', { mrn, patientId: pid })
  return { patient, pid }
}

/** Share of a PNG's pixels brighter than near-black: a drawn CT slice, not an empty viewport. */
function litShare (png: Buffer): number {
  const { data, width, height } = PNG.sync.read(png)
  let lit = 0
  for (let i = 0; i < data.length; i += 4) if (Math.max(data[i], data[i + 1], data[i + 2]) > 40) lit++
  return lit / (width * height)
}

it('a clinician opens a CT study in OHIF at /viewer; others are refused, and B\'s patient stays hidden', async () => {
  const { net, browser } = setup()
  const [A, B] = [await withAdmin(net.hospitals[0], 1), await withAdmin(net.hospitals[1], 2)]
  const docA = await user(A, 'dr.ohif', 'clinician')
  const { patient, pid } = await linkedPatient(A, docA, 'ohif.patient', 'MRN-OHIF-A')
  const hidden = (await linkedPatient(B, await user(B, 'dr.other', 'clinician'), 'other.patient', 'MRN-OHIF-B')).pid
  await storeStudy(net.hospitals[0], join(net.dir, 'a'), 'MRN-OHIF-A', '2.25.8100001')
  await storeStudy(net.hospitals[1], join(net.dir, 'b'), 'MRN-OHIF-B', '2.25.8200001')

  // Signed out: a page load goes to sign-in, anything else is 401; the rest of the site keeps its CSP.
  const anon = await fetch(`${A.url}/viewer/`, { redirect: 'manual', headers: { accept: 'text/html' } })
  assert.is(anon.status, 303)
  assert.is(anon.headers.get('location'), '/app/sign-in')
  assert.is((await fetch(`${A.url}/viewer/app-config.js`)).status, 401)
  for (const path of ['/app/sign-in', '/api/health', '/dicomweb/studies']) {
    assert.is((await fetch(`${A.url}${path}`)).headers.get('content-security-policy'), SECURITY_HEADERS['Content-Security-Policy'], `${path} keeps the strict CSP`)
  }
  // A patient (the study's own) is refused the viewer and its files.
  for (const path of ['/viewer/', '/viewer/app-config.js']) {
    assert.is(await patient.request('GET', path).then(() => 200, (err: { status?: number }) => err.status), 403, `${path} for a patient`)
  }
  // The clinician's viewer has its own CSP: WebAssembly, no eval, nothing from another origin.
  const asDoc = await docA.request('GET', '/viewer/')
  assert.is(asDoc.headers.get('content-security-policy'), VIEWER_CSP)
  assert.not.match(VIEWER_CSP, /'unsafe-eval'|https?:|\*/)

  // The clinician signs in, opens the patient and follows the OHIF link of the CT study.
  const page = await browser.page(`${A.url}/app/sign-in`)
  await page.context().addInitScript(() => {
    document.addEventListener('securitypolicyviolation', e => { console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`) })
  })
  await signInInPage(page, 'dr.ohif', 'dr.ohif has a long password')
  await atPath(page, '/app/clinician')
  await findPatient(page, pid)
  const link = page.locator(`li[data-slices="${SLICES}"]`).getByTestId('open-in-ohif')
  const [ohif] = await Promise.all([page.context().waitForEvent('page'), link.click()])
  ohif.on('console', m => { if (m.type() === 'error') browser.problems.push(m.text()) })
  ohif.on('pageerror', e => { browser.problems.push(e.message) })
  ohif.on('request', r => { browser.requests.push(r.url()) })
  await ohif.waitForURL(u => u.pathname === '/viewer/viewer', { waitUntil: 'commit', timeout: 30_000 }).catch(async (err: unknown) => {
    throw new Error(`OHIF did not open: at ${ohif.url()}: ${(await ohif.content()).slice(0, 500)}`, { cause: err })
  })
  assert.is(new URL(ohif.url()).searchParams.get('StudyInstanceUIDs'), '2.25.8100001')

  // OHIF draws a slice: the viewport's canvas has real pixels, and its overlay counts the slices.
  const canvas = ohif.locator('canvas.cornerstone-canvas').first()
  await canvas.waitFor({ timeout: 180_000 })
  await ohif.getByText(`(1/${SLICES})`).first().waitFor({ timeout: 60_000 })
  let share = 0
  for (let i = 0; i < 50 && share < 0.05; i++) {
    share = litShare(await canvas.screenshot())
    if (share < 0.05) await ohif.waitForResponse(r => r.url().includes('/frames/'), { timeout: 2_000 }).catch(() => null)
  }
  assert.ok(share >= 0.05, `the viewport shows the slice (${(share * 100).toFixed(1)} % lit)`)
  await screenshot(ohif, 'ohif-viewer-ct')

  // OHIF's study list shows this hospital's study, and not B's patient's, who consented to nobody here.
  await ohif.goto(`${A.url}/viewer/`)
  await ohif.getByText('MRN-OHIF-A').first().waitFor({ timeout: 60_000 })
  assert.is(await ohif.getByText('MRN-OHIF-B').count(), 0, 'B\'s study is not listed')
  await screenshot(ohif, 'ohif-study-list')
  const [image] = await net.hospitals[1].peer.ledger.queries.imagesOf(fromHex(hidden))
  const record = image?.record
  assert.ok(record !== null && record !== undefined, 'B holds the hidden study on the ledger')
  const refused = await ohif.request.get(`${A.url}/api/viewer/studies/${toHex(record)}`, { maxRedirects: 0 })
  assert.is(refused.status(), 404, 'its link opens nothing at A')
  const qido = await ohif.request.get(`${A.url}/dicomweb/studies?StudyInstanceUID=2.25.8200001`)
  assert.is(qido.status(), 204, 'and A\'s DICOMweb finds nothing of it')

  assert.equal(browser.problems.filter(p => /Content Security Policy|CSP violation/i.test(p)), [], 'no CSP violation')
  assert.equal(offHostRequests(browser.requests), [])
})

test.run()
