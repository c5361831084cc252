// The OHIF viewer at /viewer in headless Firefox ESR (ohif.test.ts covers it in Chromium, with
// the refusals): a clinician follows "Open the study in OHIF" from the web UI, and OHIF draws a CT
// slice that came over C-STORE, decoding its frames from /dicomweb in Firefox under the viewer's
// own CSP, which refuses nothing, and no request leaves 127.0.0.1.
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { user } from '../../helpers/peers/peers.ts'
import { browserSuite, firefoxAvailable, launchFirefox, offHostRequests, screenshot, signInInPage } from '../harness.ts'
import { expectSliceDrawn, followOhifLink, linkedPatient, storeStudy, viewerReady, withAdmin } from './ohif-steps.ts'

const ready = firefoxAvailable() && await viewerReady()

const { it, setup } = browserSuite(test, { hospitals: 1, network: { dicom: {} }, available: () => ready, launch: launchFirefox })

it('in Firefox: a clinician opens a CT study in OHIF, which draws its slice with nothing refused', async () => {
  const { net, browser } = setup()
  const A = await withAdmin(net.hospitals[0], 1)
  const doc = await user(A, 'dr.fox', 'clinician')
  const { pid } = await linkedPatient(A, doc, 'fox.patient', 'MRN-OHIF-FX')
  await storeStudy(net.hospitals[0], join(net.dir, 'a'), 'MRN-OHIF-FX', '2.25.8300001')

  const page = await browser.page(`${net.hospitals[0].url}/app/sign-in`)
  assert.match(browser.browser.browserType().name(), /firefox/i)
  await signInInPage(page, 'dr.fox', 'dr.fox has a long password')
  const ohif = await followOhifLink(browser, page, pid)

  await expectSliceDrawn(ohif)
  assert.is(new URL(ohif.url()).searchParams.get('StudyInstanceUIDs'), '2.25.8300001')
  await screenshot(ohif, 'firefox-ohif-viewer-ct')

  // Firefox words a refusal "The page’s settings blocked …" (Chromium: "Refused to …").
  assert.equal(browser.problems.filter(p => /Content.Security.Policy|Refused to|settings blocked/i.test(p)), [], 'the CSP refused nothing')
  assert.ok(browser.requests.some(u => u.includes('/dicomweb/')), 'OHIF read the study over /dicomweb')
  assert.equal(offHostRequests(browser.requests), [])
})

test.run()
