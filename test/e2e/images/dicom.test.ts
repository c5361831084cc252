// DICOM in the clinician's browser (issue 13 items 3 and 4), in Chromium: a CT series of 300
// slices and a small MR study arrive over C-STORE for a patient who has not enrolled; the
// clinician finds them by name in this hospital's index and prints an enrolment code; the patient
// signs up, enters it, sees each series as one entry in the portal, and grants consent to the
// 300-slice CT study (one study key, not 300 image keys: docs/design.md §5 "Study keys"); the
// clinician opens the CT series as one record and scrolls its slices in the viewer.
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { dcmtk, writeStudy } from '../../helpers/imaging/dicom.ts'
import { fromHex } from '../../../protocol/bytes.ts'
import { adminOf, clinicianOf, patientOf } from '../flows.ts'
import { browserSuite, offHostRequests, screenshot } from '../harness.ts'

/** Slices of the CT series: a real CT series' length (each is 128², so it still stores quickly). */
const SLICES = 300
/** Slices of the MR study the patient names in a consent. */
const MR_SLICES = 3

const { it, setup } = browserSuite(test, { hospitals: 1, network: { dicom: {} } })

it('a series stored over DICOM is found by name, enrolled by code, and scrolled in the viewer', async () => {
  const { net, browser } = setup()
  const [A] = net.hospitals
  const port = A.peer.dicom?.address()?.port
  if (port === undefined) throw new Error('no DICOM listener')
  const files = await writeStudy(join(net.dir, 'study'), {
    mrn: 'MRN-UI-7', name: 'SYNTH^UIPATIENT^EVE', birthDate: '19750505', uid: '2.25.5000005', size: 128,
    series: [{ uid: '2.25.5000005.1', modality: 'CT', slices: SLICES }]
  })
  const mr = await writeStudy(join(net.dir, 'mr'), {
    mrn: 'MRN-UI-7', name: 'SYNTH^UIPATIENT^EVE', birthDate: '19750505', uid: '2.25.5000006', series: [{ uid: '2.25.5000006.1', modality: 'MR', slices: MR_SLICES }]
  })
  const stored = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...files, ...mr], 300_000)
  assert.is(stored.code, 0, stored.stderr)

  const admin = await adminOf(browser, A, 'admin')
  const clin = await clinicianOf(browser, A, admin, 'dr.dicom')
  // The desk: find by name, not enrolled yet, print a code.
  await clin.getByLabel('MRN or name').fill('eve uipatient')
  await clin.getByRole('button', { name: 'Search this hospital' }).click()
  const row = clin.locator('tr[data-mrn="MRN-UI-7"]')
  await row.getByText(`Not enrolled · ${SLICES + MR_SLICES} images held`).waitFor()
  await screenshot(clin, 'dicom-desk-search')
  await row.getByRole('button', { name: 'Enrol…' }).click()
  await clin.getByRole('button', { name: 'Print enrolment code' }).click()
  const code = (await clin.getByTestId('enrolment-code').locator('.code').textContent())?.trim() ?? ''
  assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/)
  await screenshot(clin, 'dicom-enrolment-code')

  // The patient signs up and enters the code in the portal: the series appears, as one entry.
  const { page: patient, patientId } = await patientOf(browser, A, 'eve.patient')
  await patient.getByRole('link', { name: 'My images', exact: true }).click()
  await patient.getByText('Enrol with a code from your hospital').click()
  await patient.getByLabel('Enrolment code').fill(code)
  await patient.getByRole('button', { name: 'Enrol', exact: true }).click()
  // Each held instance goes through the upload pipeline now: allow for 300 on a loaded machine.
  await patient.getByText(`Done: ${SLICES + MR_SLICES} images from the hospital are now in your records.`).waitFor({ timeout: 300_000 })
  await patient.locator(`li[data-slices="${SLICES}"]`).waitFor({ timeout: 60_000 })
  assert.is(await patient.locator('ul[aria-label=Images] > li').count(), 2, 'each series is one entry')
  await screenshot(patient, 'dicom-patient-portal')

  // A consent may name the study: the form offers it, the summary says it, the ledger takes it.
  await patient.getByRole('link', { name: 'Consents' }).click()
  await patient.getByLabel('Hospital', { exact: true }).selectOption({ label: 'Hospital A (this hospital)' })
  await patient.getByLabel('one study:').check()
  const study = patient.getByLabel('Study', { exact: true })
  const labels = await study.locator('option').allTextContents()
  await study.selectOption({ label: labels.find(l => l.startsWith('CT study')) ?? '' })
  await study.selectOption({ label: labels.find(l => l.startsWith('MR study')) ?? '' })
  await patient.getByTestId('grant-summary').getByText(`the study you chose (${MR_SLICES} images)`).waitFor()
  await study.selectOption({ label: labels.find(l => l.startsWith('CT study')) ?? '' })
  await patient.getByTestId('grant-summary').getByText(`the study you chose (${SLICES} images)`).waitFor()
  // 300 slices, more than one consent could carry as image keys: the consent carries the study's key.
  await patient.getByRole('button', { name: 'Grant consent' }).click()
  await patient.locator('tr[data-status=active]').getByText('a study', { exact: true }).waitFor()
  const [granted] = (await A.peer.ledger.queries.consentsOf(fromHex(patientId))).filter(c => c.action === 'grant')
  assert.is(granted.studies?.length, 1, 'one study key')
  assert.is(granted.keys?.length, 0, 'and no image key')
  await screenshot(patient, 'dicom-study-consent')

  // The clinician opens the patient from the desk and the series in the viewer.
  await clin.getByRole('button', { name: 'Search this hospital' }).click()
  await clin.locator('tr[data-mrn="MRN-UI-7"]').getByRole('link', { name: 'Open records' }).click()
  await clin.waitForURL(`**/app/clinician/patients/${patientId}`)
  const card = clin.locator(`li[data-slices="${SLICES}"]`)
  await card.getByText(`CT series · ${SLICES} slices`).waitFor()
  assert.is(await clin.locator('ul[aria-label=Images] > li').count(), 2)
  await card.getByRole('link', { name: /^Open the CT series/ }).click()
  const slice = clin.getByTestId('slice')
  const middle = Math.floor((SLICES - 1) / 2) + 1
  await slice.getByText(`Slice ${middle} of ${SLICES}`).waitFor()
  await clin.locator('.panes[data-state=shown]').waitFor({ timeout: 30_000 })
  const raw = clin.locator('canvas[data-pane=raw]')
  const before = await raw.screenshot()
  await screenshot(clin, 'dicom-viewer-series')

  // The wheel scrolls the slices; Page Down steps; the slider jumps; each draws another slice.
  await raw.hover()
  await clin.mouse.wheel(0, 120)
  await slice.getByText(`Slice ${middle + 1} of ${SLICES}`).waitFor()
  await raw.focus()
  await clin.keyboard.press('PageDown')
  await slice.getByText(`Slice ${middle + 2} of ${SLICES}`).waitFor()
  await clin.locator('.panes[data-state=shown]').waitFor()
  await clin.getByLabel('Slice', { exact: true }).fill('1')
  await slice.getByText(`Slice 1 of ${SLICES}`).waitFor()
  await clin.locator('.panes[data-state=shown]').waitFor()
  const first = await raw.screenshot()
  assert.not.equal(Buffer.compare(before, first), 0, 'another slice is drawn')
  await screenshot(clin, 'dicom-viewer-slice-1')
  assert.ok(clin.url().endsWith(`/images/${(await clin.evaluate(() => location.pathname)).split('/').at(-1) ?? ''}`))
  assert.equal(offHostRequests(browser.requests), [])
})

test.run()
