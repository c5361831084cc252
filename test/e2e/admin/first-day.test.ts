// A new hospital's first hour in Chromium (issue 12): the first admin names the hospital on the
// setup page and every page then uses that name, never the data folder's; the Node status page
// shows storage and the deployed model; the viewer says what the score means and which model
// gave it; and unlocking on a viewer URL brings the navigation and the Lock button back.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { clinicianOf, findPatient, patientOf, refreshStatusUntil } from '../flows.ts'
import { browserSuite, phantomPng, registerAnalyser, screenshot, signUpInPage, PASSWORD } from '../harness.ts'

const { it, setup } = browserSuite(test, { hospitals: 1 })

it('the hospital is named at setup; status, consents and the viewer use names; unlocking on a viewer URL restores the nav', async () => {
  const { net, browser } = setup()
  const b = browser
  const h = net.hospitals[0]
  const link = h.peer.auth.setupLink(h.url)
  if (link === undefined) throw new Error('no setup link')

  // The setup page asks for the hospital's name; without it, nothing is created.
  const admin = await b.page(link)
  await admin.getByLabel('Hospital name').fill('North Hospital')
  await signUpInPage(admin, 'admin.north')
  await admin.waitForURL('**/app/admin/status')
  await admin.getByTestId('health').waitFor()
  // The name is recorded on the ledger just after the admin account: the page may load first.
  await refreshStatusUntil(admin, 'health', t => t.includes('North Hospital'), 'the status page to name the hospital')
  assert.match(await admin.getByTestId('storage').textContent() ?? '', /image blocks on disk/)
  assert.match(await admin.getByTestId('model').textContent() ?? '', /none deployed/)
  await screenshot(admin, 'first-day-status')

  // A patient reads the hospital's name on the consent form, not a key or a folder name.
  const { page: patient } = await patientOf(b, h, 'pat.north')
  await patient.getByRole('link', { name: 'Consents' }).click()
  // The options arrive with the directory, after the form: wait for one to name the hospital.
  await patient.locator('select#hospital option', { hasText: 'North Hospital' }).waitFor({ state: 'attached', timeout: 20_000 })
  const options = await patient.locator('select#hospital option').allTextContents()
  assert.ok(options.some(o => o.includes('North Hospital')), `hospital options: ${options.join(' | ')}`)
  await screenshot(patient, 'first-day-consents')

  // A clinician uploads; the viewer explains the score.
  await registerAnalyser(h)
  const clin = await clinicianOf(b, h, admin, 'dr.north')
  await patient.getByRole('link', { name: 'My id' }).click()
  const patientId = (await patient.getByTestId('patient-id').textContent())?.trim() ?? ''
  await findPatient(clin, patientId)
  await clin.locator('#files').setInputFiles({ name: 'chest.png', mimeType: 'image/png', buffer: Buffer.from(phantomPng(21)) })
  await clin.locator('li[data-state=done]').first().waitFor({ timeout: 60_000 })
  await clin.getByRole('link', { name: /Open the/ }).first().click()
  await clin.locator('.panes[data-state=shown]').waitFor({ timeout: 60_000 })
  assert.match(await clin.getByTestId('score-meaning').textContent() ?? '', /probability that this image holds an abnormal region, according to/)
  await screenshot(clin, 'first-day-viewer')

  // The patient opens the image, reloads (the vault locks), and unlocks on the viewer URL.
  await patient.getByRole('link', { name: 'My images', exact: true }).click()
  await patient.getByRole('link', { name: /Open the/ }).first().click()
  await patient.waitForURL('**/app/patient/images/**')
  await patient.reload()
  await patient.getByLabel(/Password for/).fill(PASSWORD)
  await patient.getByRole('button', { name: 'Unlock' }).click()
  await patient.locator('.panes[data-state=shown]').waitFor({ timeout: 60_000 })
  await patient.getByRole('button', { name: 'Lock' }).waitFor({ timeout: 10_000 })
  await patient.getByRole('link', { name: 'My images', exact: true }).waitFor()
  await screenshot(patient, 'first-day-unlocked-viewer')
})

test.run()
