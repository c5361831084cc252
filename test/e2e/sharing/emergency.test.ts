// Break-glass in the browser (docs/design.md §5) at a hospital whose policy turns custodian reads off and
// emergency access on: the clinician is refused, declares an emergency with a reason, then sees
// and opens the images; the patient's "who viewed my images" highlights the emergency; then a
// consent to that one clinician, by the key their page shows, becomes the basis of access. With no
// model loaded the upload stores no result, and the viewer says so instead of faking one; a
// file that is not an image fails alone, with its own error, beside the one that was stored.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { adminOf, clinicianOf, expectCode, findPatient, patientOf } from '../flows.ts'
import { browserSuite, offHostRequests, phantomPng, screenshot } from '../harness.ts'

const { it, setup } = browserSuite(test, { hospitals: 1, network: { records: { custodianRead: false, breakGlass: true } } })

it('a refused clinician declares an emergency, opens the image, and the patient sees it highlighted', async () => {
  const { net, browser } = setup()
  const [A] = net.hospitals
  const admin = await adminOf(browser, A, 'admin')
  const { page: patient, patientId } = await patientOf(browser, A, 'pat.e')
  const clin = await clinicianOf(browser, A, admin, 'dr.e')
  await findPatient(clin, patientId)
  // Two files at once: the image is stored, the text file fails on its own with its own error.
  await clin.locator('#files').setInputFiles([
    { name: 'chest.png', mimeType: 'image/png', buffer: Buffer.from(phantomPng(21)) },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') }
  ])
  await clin.locator('li[data-state=done]').waitFor({ timeout: 30_000 })
  await clin.locator('li[data-state=failed] [data-code=UNSUPPORTED_FORMAT]').waitFor({ timeout: 30_000 })
  await expectCode(clin, 'NO_CONSENT')

  await clin.getByRole('button', { name: 'Emergency access…' }).click()
  await clin.getByLabel('Reason (at least 10 characters)').fill('too short')
  await clin.getByRole('button', { name: 'Declare emergency' }).click()
  // The browser's own minlength check stops the short reason before it is sent.
  assert.is(await clin.getByText('Emergency access is open until').count(), 0)
  await clin.getByLabel('Reason (at least 10 characters)').fill('unconscious on arrival, suspected bleed')
  await clin.getByRole('button', { name: 'Declare emergency' }).click()
  await clin.getByText('Emergency access is open until').waitFor()
  await clin.locator('mc-thumbnail canvas[data-state=shown]').waitFor({ timeout: 30_000 })
  await screenshot(clin, 'clinician-emergency')
  await clin.getByRole('link', { name: /Open the OT image/ }).click()
  await clin.locator('.panes[data-state=shown]').waitFor({ timeout: 30_000 })
  assert.is(await clin.locator('canvas[data-pane=result]').count(), 0, 'no result pane without a model')
  await clin.getByText('No result image').waitFor()

  await patient.getByRole('link', { name: 'Who viewed my images' }).click()
  await patient.locator('li.emergency[data-basis=emergency]').first().waitFor()
  await patient.getByText('Emergency access:').waitFor()
  await screenshot(patient, 'patient-audit-emergency')

  // A consent to this one clinician, by the key their Patients page shows (the power user's way;
  // people.test.ts finds a clinician by name): consent now comes first.
  await clin.getByRole('link', { name: 'Patients' }).click()
  await clin.getByText('Your key, for patients who paste a key').click()
  const key = (await clin.getByTestId('my-key').textContent())?.trim() ?? ''
  assert.match(key, /^[0-9a-f]{64}$/)
  await patient.getByRole('link', { name: 'Consents' }).click()
  await patient.getByLabel('one clinician or researcher').check()
  await patient.getByText('Paste a key instead').click()
  await patient.getByLabel('Their key').fill(key)
  await patient.getByRole('button', { name: 'Grant consent' }).click()
  await patient.getByText('Consent granted').waitFor({ timeout: 20_000 })
  await patient.locator(`tr[data-status=active][data-grantee="${key}"]`).waitFor()
  await findPatient(clin, patientId)
  await clin.getByText('by the patient\'s consent').waitFor()
  assert.equal(offHostRequests(browser.requests), [])
})

test.run()
