// Steps the OHIF viewer tests share (ohif.test.ts in Chromium, ohif-firefox.test.ts in Firefox
// ESR): the pinned viewer bundle, hospitals with an admin, a CT study stored over C-STORE for a
// patient whose MRN the desk linked, and the check that OHIF's viewport really drew a slice.
import * as assert from 'uvu/assert'
import { PNG } from 'pngjs'
import type { Page } from 'playwright-core'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { installViewer, ViewerFetchError } from '../../../node/viewer/install.ts'
import { dcmtk, writeStudy } from '../../helpers/imaging/dicom.ts'
import { adminOf as sdkAdminOf, user } from '../../helpers/peers/peers.ts'
import type { Hospital as SdkHospital } from '../../helpers/peers/peers.ts'
import { atPath, findPatient } from '../flows.ts'
import type { Hospital, TestBrowser } from '../harness.ts'

/** Slices of the CT study: enough for OHIF's "n of N", few enough to store at once. */
export const SLICES = 5

/**
 * The viewer bundle, installed if absent (the registry is reachable wherever `npm ci` ran). Under
 * CI=true a failed install fails the test; elsewhere, without a registry, it skips with a notice.
 */
export async function viewerReady (): Promise<boolean> {
  try {
    await installViewer()
    return true
  } catch (err) {
    if (process.env.CI === 'true' || !(err instanceof ViewerFetchError)) throw err
    process.stdout.write(`SKIP: the OHIF viewer is not installed and cannot be fetched (${err.message})\n`)
    return false
  }
}

/** A hospital of the browser harness with an admin signed in through the SDK (setup token). */
export async function withAdmin (h: Hospital, n: number): Promise<SdkHospital> {
  return await sdkAdminOf({ n, peer: h.peer, data: '', url: h.url, name: h.name })
}

/** Stores a CT study of `mrn` at `h` over C-STORE (dcmtk storescu) and waits until it is filed. */
export async function storeStudy (h: Hospital, dir: string, mrn: string, uid: string): Promise<void> {
  const files = await writeStudy(dir, { mrn, name: `SYNTH^${mrn}`, birthDate: '19700101', uid, size: 256, series: [{ uid: `${uid}.1`, modality: 'CT', slices: SLICES }] })
  const stored = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(h.peer.dicom?.address()?.port), ...files], 120_000)
  assert.is(stored.code, 0, stored.stderr)
  await h.peer.dicom?.settled()
}

/** A patient of `h` whose MRN the hospital's desk linked to them (so their DICOM lands in their records). */
export async function linkedPatient (h: SdkHospital, desk: MedichainClient, name: string, mrn: string): Promise<{ patient: MedichainClient, pid: string }> {
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

/**
 * Waits until OHIF's first viewport shows slice 1 of the study, with real pixels on its canvas
 * (not an empty viewport): the frames came through /dicomweb and were decoded in the browser.
 */
export async function expectSliceDrawn (ohif: Page): Promise<void> {
  const canvas = ohif.locator('canvas.cornerstone-canvas').first()
  await canvas.waitFor({ timeout: 180_000 })
  await ohif.getByText(`(1/${SLICES})`).first().waitFor({ timeout: 60_000 })
  let share = 0
  for (let i = 0; i < 50 && share < 0.05; i++) {
    share = litShare(await canvas.screenshot())
    if (share < 0.05) await ohif.waitForResponse(r => r.url().includes('/frames/'), { timeout: 2_000 }).catch(() => null)
  }
  assert.ok(share >= 0.05, `the viewport shows the slice (${(share * 100).toFixed(1)} % lit)`)
}

/**
 * In the web UI at `page` (the clinician signed in), opens patient `pid` and follows the OHIF link
 * of the CT study; returns OHIF's new tab, whose requests and errors go to `browser`'s logs.
 */
export async function followOhifLink (browser: TestBrowser, page: Page, pid: string): Promise<Page> {
  await atPath(page, '/app/clinician')
  await findPatient(page, pid)
  const link = page.locator(`li[data-slices="${SLICES}"]`).getByTestId('open-in-ohif')
  const [ohif] = await Promise.all([page.context().waitForEvent('page'), link.click()])
  ohif.on('console', m => { if (m.type() === 'error') browser.problems.push(m.text()) })
  ohif.on('pageerror', e => { browser.problems.push(e.message) })
  ohif.on('request', r => { browser.requests.push(r.url()) })
  return ohif
}
