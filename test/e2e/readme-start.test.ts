// The README's two commands, as a newcomer follows them (issue 12): `npm ci && npm start` builds the
// UI and starts `medichain start` on a fresh folder; its setup link names the hospital; the status
// page shows that name and a deployed model (the shipped default); and the first upload, a phantom
// with a lesion, gets a result image whose overlay is visibly coloured where the raw image is grey.
// The peer is the real CLI in a child process, the UI the normal build (web/dist, as npm start makes it).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { buildWeb } from '../../scripts/build-web.ts'
import { browserAvailable, launch, phantomPng, screenshot, signInInPage, signUpInPage } from './harness.ts'
import type { TestBrowser } from './harness.ts'
import { expectCode, refreshStatusUntil } from './flows.ts'
import { killCliChildren, startCliPeer } from '../helpers/peers/cli-peer.ts'
import type { CliPeer } from '../helpers/peers/cli-peer.ts'
import { cleanup, tempDir } from '../helpers/ledger/fixture.ts'

const available = browserAvailable()
const it = available ? test : test.skip
let peer: CliPeer | undefined
let browser: TestBrowser | undefined

test.after(async () => {
  await browser?.close()
  await peer?.stop().catch(() => null)
  killCliChildren()
  await cleanup()
})

/** Pixels of a viewer pane whose channels differ by more than 40: colour, not grey. */
async function colouredPixels (page: Page, pane: 'raw' | 'result'): Promise<number> {
  return await page.locator(`canvas[data-pane=${pane}]`).evaluate((canvas: HTMLCanvasElement) => {
    const ctx = canvas.getContext('2d')
    if (ctx === null) return 0
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data
    let n = 0
    for (let i = 0; i < d.length; i += 4) if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 40) n++
    return n
  })
}

it('npm start: a named hospital, the default model deployed, and a coloured overlay on the first upload', async () => {
  // `npm start` is `node scripts/build-web.ts && node scripts/viewer-install.ts --if-possible && medichain start` (the viewer is not under test here: test/e2e/images/ohif.test.ts).
  await buildWeb()
  const dir = await tempDir('medichain-readme-')
  peer = await startCliPeer('data', dir)
  const link = /admin setup \(one-time link, keep it private\): (\S+)/.exec(peer.stdout())?.[1]
  assert.ok(link !== undefined, `the banner prints a setup link:\n${peer.stdout()}`)
  browser = await launch()
  const b = browser

  const admin = await b.page(link)
  await admin.getByLabel('Hospital name').fill('North Hospital')
  await signUpInPage(admin, 'admin.north')
  await admin.waitForURL('**/app/admin/status')
  await refreshStatusUntil(admin, 'health', t => t.includes('North Hospital'), 'the status page to name the hospital')
  await refreshStatusUntil(admin, 'model', t => !t.includes('none deployed'), 'the default model to be deployed', 60_000)
  await screenshot(admin, 'readme-status')

  const patient = await b.page(`${peer.url}/app/sign-up`)
  await signUpInPage(patient, 'pat.north', 'patient')
  await patient.waitForURL('**/app/patient/images')
  await patient.getByRole('link', { name: 'My id' }).click()
  const code = (await patient.getByTestId('patient-code').textContent())?.trim() ?? ''

  const clin = await b.page(`${peer.url}/app/sign-up`)
  await signUpInPage(clin, 'dr.north', 'clinician')
  await clin.getByRole('link', { name: 'Go to sign in' }).click()
  await signInInPage(clin, 'dr.north')
  await expectCode(clin, 'ACCOUNT_PENDING')
  await admin.getByRole('link', { name: 'Accounts' }).click()
  await admin.getByRole('button', { name: 'Approve dr.north' }).click()
  await admin.getByText('dr.north: approved').waitFor()
  await signInInPage(clin, 'dr.north')
  await clin.waitForURL('**/app/clinician')
  await clin.getByLabel('Patient id or code').fill(code)
  await clin.getByRole('button', { name: 'Find patient' }).click()
  await clin.waitForURL('**/app/clinician/patients/**')

  await clin.locator('#files').setInputFiles({ name: 'first-scan.png', mimeType: 'image/png', buffer: Buffer.from(phantomPng(21, 256)) })
  await clin.locator('li[data-state=done]').waitFor({ timeout: 120_000 })
  assert.match(await clin.locator('li[data-state=done] [role=status]').textContent() ?? '', /Detect-strange score/, 'the model ran on the first upload')
  await clin.getByRole('link', { name: /Open the OT image first-scan\.png/ }).click()
  await clin.locator('.panes[data-state=shown]').waitFor({ timeout: 60_000 })
  await clin.locator('canvas[data-pane=result]').waitFor()
  const raw = await colouredPixels(clin, 'raw')
  const result = await colouredPixels(clin, 'result')
  assert.is(raw, 0, 'the raw phantom is grey')
  assert.ok(result > 200, `the result overlay is coloured (${result} coloured pixels)`)
  assert.match(await clin.getByTestId('score-meaning').textContent() ?? '', /according to/)
  await screenshot(clin, 'readme-first-upload')
})

test.run()
