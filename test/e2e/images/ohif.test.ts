// The OHIF viewer at /viewer (issue 13 item 2), in Chromium: a CT study arrives over C-STORE at
// hospital A for a linked patient; the clinician of A opens the patient in the web UI, follows
// "Open the study in OHIF", and OHIF (the pinned @ohif/app bundle, scripts/viewer-install.ts)
// draws its slices from A's /dicomweb under the clinician's session cookie, with no CSP violation.
// Refusals: nobody signed in is sent to sign-in, a patient is refused, and a study of hospital B's
// patient, who consented to nobody at A, is neither listed in OHIF nor opened by its link.
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { SECURITY_HEADERS } from '../../../node/http/middleware/security.ts'
import { VIEWER_CSP } from '../../../node/viewer/constants.ts'
import { user } from '../../helpers/peers/peers.ts'
import { browserAvailable, browserSuite, offHostRequests, screenshot, signInInPage } from '../harness.ts'
import { expectSliceDrawn, followOhifLink, linkedPatient, storeStudy, viewerReady, withAdmin } from './ohif-steps.ts'

const ready = browserAvailable() && await viewerReady()

const { it, setup } = browserSuite(test, { hospitals: 2, network: { dicom: {} }, available: () => ready })

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
  const ohif = await followOhifLink(browser, page, pid)
  await ohif.waitForURL(u => u.pathname === '/viewer/viewer', { waitUntil: 'commit', timeout: 30_000 }).catch(async (err: unknown) => {
    throw new Error(`OHIF did not open: at ${ohif.url()}: ${(await ohif.content()).slice(0, 500)}`, { cause: err })
  })
  assert.is(new URL(ohif.url()).searchParams.get('StudyInstanceUIDs'), '2.25.8100001')

  // OHIF draws a slice: the viewport's canvas has real pixels, and its overlay counts the slices.
  await expectSliceDrawn(ohif)
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
