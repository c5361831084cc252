// Steps the browser tests share, written as a person would do them in the UI: create a peer's
// admin through its setup link, sign a clinician up and have an admin approve them, find a
// patient, and wait for an error note by its stable code (tests assert codes, never wording).
import QRCode from 'qrcode'
import type { Page } from 'playwright-core'
import { signInInPage, signUpInPage } from './harness.ts'
import { waitFor } from '../helpers/timeout.ts'
import type { Hospital, TestBrowser } from './harness.ts'

/**
 * Waits until the app's router shows `path`, by the path the app writes on its <main> element.
 * Not page.url() or an evaluate: over BiDi, Firefox ESR 140 reports no history.pushState
 * navigation to playwright, and its evaluate runs into the UI's CSP (harness.ts launchFirefox).
 */
export async function atPath (page: Page, path: string): Promise<void> {
  await page.locator(`main[data-path="${path}"]`).waitFor({ timeout: 30_000 })
}

/** Waits for an error note with this stable code. */
export async function expectCode (page: Page, code: string): Promise<void> {
  await page.locator(`[role=alert][data-code="${code}"]`).first().waitFor({ timeout: 20_000 })
}

/** Creates the admin of `h` through its one-time setup link; returns the admin's page. */
export async function adminOf (b: TestBrowser, h: Hospital, name: string): Promise<Page> {
  const link = h.peer.auth.setupLink(h.url)
  if (link === undefined) throw new Error('no setup link')
  const page = await b.page(link)
  // The setup page also names the hospital; the genesis name is what the e2e network already uses.
  await page.getByLabel('Hospital name').fill(h.name)
  await signUpInPage(page, name)
  await atPath(page, '/app/admin/status')
  return page
}

/** A clinician signs up at `h`, is refused while pending, is approved by `admin`, signs in. */
export async function clinicianOf (b: TestBrowser, h: Hospital, admin: Page, name: string): Promise<Page> {
  const page = await b.page(`${h.url}/app/sign-up`)
  await signUpInPage(page, name, 'clinician')
  await page.getByRole('heading', { name: 'Account created' }).waitFor()
  await page.getByRole('link', { name: 'Go to sign in' }).click()
  await signInInPage(page, name)
  await expectCode(page, 'ACCOUNT_PENDING')
  await admin.getByRole('link', { name: 'Accounts' }).click()
  await admin.getByRole('button', { name: `Approve ${name}` }).click()
  await admin.getByText(`${name}: approved`).waitFor()
  await signInInPage(page, name)
  await atPath(page, '/app/clinician')
  return page
}

/** A patient signs up at `h` and reads their id from the "My id" page. */
export async function patientOf (b: TestBrowser, h: Hospital, name: string): Promise<{ page: Page, patientId: string }> {
  const page = await b.page(`${h.url}/app/sign-up`)
  await signUpInPage(page, name, 'patient')
  await atPath(page, '/app/patient/images')
  await page.getByRole('link', { name: 'My id' }).click()
  const patientId = (await page.getByTestId('patient-id').textContent())?.trim() ?? ''
  return { page, patientId }
}

/** From the clinician's Patients page, types the id and opens that patient. */
export async function findPatient (page: Page, patientId: string): Promise<void> {
  await page.getByRole('link', { name: 'Patients' }).click()
  await page.getByLabel('Patient id').fill(patientId)
  await page.getByRole('button', { name: 'Find patient' }).click()
  await atPath(page, `/app/clinician/patients/${patientId}`)
}

/**
 * A Y4M video (YUV4MPEG2, 4:2:0, full range) showing the QR code of `text`, for Chromium's
 * --use-file-for-fake-video-capture: the camera the QR scanner opens then films this code.
 */
export function qrVideo (text: string, side = 320): Uint8Array {
  const { size, data } = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules
  const scale = Math.floor(side / (size + 8))
  const offset = Math.floor((side - size * scale) / 2)
  const y = new Uint8Array(side * side).fill(255)
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (data[r * size + c] === 0) continue
      for (let dy = 0; dy < scale; dy++) y.fill(0, (offset + r * scale + dy) * side + offset + c * scale, (offset + r * scale + dy) * side + offset + (c + 1) * scale)
    }
  }
  const chroma = new Uint8Array((side / 2) * (side / 2) * 2).fill(128)
  const header = new TextEncoder().encode(`YUV4MPEG2 W${side} H${side} F10:1 Ip A1:1 C420jpeg\n`)
  const frame = new TextEncoder().encode('FRAME\n')
  const frames = 2
  const parts = [header, ...Array.from({ length: frames }, () => [frame, y, chroma]).flat()]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Opens the file chooser of the control labelled `label` (as a click would) and picks `path`. */
export async function chooseFile (page: Page, label: string | RegExp, path: string): Promise<void> {
  const chooser = page.waitForEvent('filechooser')
  await page.getByLabel(label).click()
  await (await chooser).setFiles(path)
}

/**
 * On the admin's status page, presses Refresh until the `testid` fact passes `ok`: what the page
 * shows may come from a ledger write just after it loaded (the hospital's name, a deployed model).
 */
export async function refreshStatusUntil (admin: Page, testid: string, ok: (text: string) => boolean, what: string, timeout = 30_000): Promise<void> {
  await waitFor(async () => {
    if (ok(await admin.getByTestId(testid).textContent() ?? '')) return true
    await admin.getByRole('button', { name: 'Refresh' }).click()
    await admin.getByTestId(testid).waitFor()
    return false
  }, { timeout, what })
}
