// The research flow through the web UI on a real two-hospital network, in headless Chromium: a
// researcher creates a project; Hospital A's admin approves it and Hospital B's refuses it, each
// on their Research page; the patient (who gave a research consent) has one PHI-laden DICOM at
// A; the researcher sees the approvals and the suppressed cohort count ("<5"), exports with a
// progress bar and downloads a zip that unzip accepts, with no patient name left in it; the
// download history lists the export; the same export prepared for a DICOMweb viewer answers
// QIDO-RS with the root and token the page shows; an image marked as having burned-in annotation waits until
// A's admin checks it on the Research page and releases it; the patient then reads "used in
// research project …". A published model's card shows its data per hospital and its proof checks.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { unzip } from '../../helpers/unzip.ts'
import { phiDicom } from '../../research/deid-fixture.ts'
import { client } from '../../helpers/peers/peers.ts'
import { taskIdFor } from '../../../ledger/rules/fl.ts'
import { samplesMetricKey } from '../../../node/fl/task/record.ts'
import { adminOf, clinicianOf, expectCode, findPatient, patientOf } from '../flows.ts'
import { browserSuite, PASSWORD, screenshot, signInInPage, signUpInPage } from '../harness.ts'
import type { Hospital, TestBrowser } from '../harness.ts'

const { it, setup } = browserSuite(test, { hospitals: 2 })

/** A researcher signs up at `h`, is approved by `admin`, signs in and opens the Research page. */
async function researcherOf (b: TestBrowser, h: Hospital, admin: Page, name: string): Promise<Page> {
  const page = await b.page(`${h.url}/app/sign-up`)
  await signUpInPage(page, name, 'researcher')
  await page.getByRole('link', { name: 'Go to sign in' }).click()
  await signInInPage(page, name)
  await expectCode(page, 'ACCOUNT_PENDING')
  await admin.getByRole('link', { name: 'Accounts' }).click()
  await admin.getByRole('button', { name: `Approve ${name}` }).click()
  await admin.getByText(`${name}: approved`).waitFor()
  // Leave the accounts tab, so the next approval there loads the pending list afresh.
  await admin.getByRole('link', { name: 'Node status' }).click()
  await signInInPage(page, name)
  await page.waitForURL('**/app/clinician')
  await page.getByRole('link', { name: 'Research' }).click()
  await page.waitForURL('**/app/research')
  return page
}

/** An admin opens the Research page and approves or refuses the project titled `title`. */
async function decide (admin: Page, title: string, approve: boolean): Promise<void> {
  await admin.getByRole('link', { name: 'Research' }).click()
  const card = admin.locator('mc-project-card article', { hasText: title })
  await card.getByTestId(approve ? 'approve' : 'refuse').click()
  await admin.locator('mc-project-card article', { hasText: title }).getByText(`Your hospital: ${approve ? 'approved' : 'refused'}`).waitFor({ timeout: 20_000 })
}

it('researcher creates, admins decide, researcher exports with progress, patient reads the research use', async () => {
  const { net, browser } = setup()
  const b = browser
  const [A, B] = net.hospitals
  const adminA = await adminOf(b, A, 'admin.ra')
  const adminB = await adminOf(b, B, 'admin.rb')
  const researcher = await researcherOf(b, A, adminA, 'res.r')
  const { page: patient, patientId } = await patientOf(b, A, 'pat.r')
  const clin = await clinicianOf(b, A, adminA, 'dr.r')

  // One DICOM with a name, an MRN and dates in its header, uploaded by the clinician.
  await findPatient(clin, patientId)
  await clin.locator('#files').setInputFiles({ name: 'scan.dcm', mimeType: 'application/dicom', buffer: Buffer.from(phiDicom({ rows: 32, columns: 32 })) })
  await waitFor(async () => (await A.peer.ledger.queries.imagesOf(fromHex(patientId))).length === 1, { timeout: 30_000, what: 'the upload on the ledger' })
  // A second one whose header says it has burned-in annotation: it waits for a person's check.
  await clin.locator('#files').setInputFiles({ name: 'marked.dcm', mimeType: 'application/dicom', buffer: Buffer.from(phiDicom({ sopUid: '1.2.826.0.1.3680043.8.498.8002', rows: 32, columns: 32, burnedIn: 'YES' })) })
  await waitFor(async () => (await A.peer.ledger.queries.imagesOf(fromHex(patientId))).length === 2, { timeout: 30_000, what: 'the second upload on the ledger' })

  // The researcher creates the project in the form.
  const title = 'Nodule follow-up study'
  await researcher.getByLabel('Title').fill(title)
  await researcher.getByLabel('Purpose').fill('Measure detector recall on consented images')
  await researcher.getByTestId('create-project').click()
  const card = researcher.locator('mc-project-card article', { hasText: title })
  await card.waitFor({ timeout: 20_000 })

  // Each hospital's admin decides for their own hospital.
  await decide(adminA, title, true)
  await decide(adminB, title, false)
  await screenshot(adminB, 'research-admin-refused')

  // The patient's research consent to the researcher naming this project, in the consent form.
  const res = client(A.url)
  await res.signIn('res.r', PASSWORD)
  const researcherKey = String(res.user?.signPub)
  await patient.getByRole('link', { name: 'Consents' }).click()
  await patient.getByLabel('one clinician or researcher').check()
  await patient.getByText('Paste a key instead').click()
  await patient.getByLabel('Their key').fill(researcherKey)
  await patient.getByLabel('For', { exact: true }).selectOption('research')
  await patient.getByLabel('Research project (for a research consent)').selectOption({ label: title })
  await patient.getByRole('button', { name: 'Grant consent' }).click()
  await patient.locator(`tr[data-status=active][data-grantee="${researcherKey}"]`).waitFor({ timeout: 20_000 })
  const consent = (await A.peer.ledger.queries.consentsOf(fromHex(patientId))).find(c => c.purpose === 'research')
  const [project] = await A.peer.ledger.queries.projects()
  assert.ok(consent?.project !== undefined && toHex(consent.project) === toHex(project.id), 'the consent names the project')
  await screenshot(patient, 'research-patient-consent')

  // Approvals and the suppressed count; B's refusal reaches A by gossip.
  await waitFor(async () => {
    await card.getByRole('button', { name: 'Refresh counts' }).click()
    await card.getByTestId('cohort-total').waitFor({ timeout: 10_000 })
    return await card.locator(`tr[data-hospital="${B.key}"] [data-testid=decision]`).textContent() === 'refused'
  }, { timeout: 30_000, what: 'B\'s refusal at A' })
  assert.is(await card.locator(`tr[data-hospital="${A.key}"] [data-testid=decision]`).textContent(), 'approved')
  assert.is(await card.getByTestId('cohort-total').textContent(), '<5')
  assert.is(await card.locator(`tr[data-hospital="${A.key}"] [data-testid=count]`).textContent(), '<5')

  // Export: the progress bar fills and the zip downloads.
  const download = researcher.waitForEvent('download', { timeout: 60_000 })
  await card.getByTestId('export').click()
  const file = await download
  await card.getByTestId('export-done').waitFor({ timeout: 60_000 })
  assert.match(await card.getByTestId('export-done').textContent() ?? '', /Exported 1 image; 1 held for a burned-in text check/)
  const progress = card.getByTestId('progress')
  assert.is(await progress.getAttribute('value'), await progress.getAttribute('max'), 'the progress bar is full')
  assert.is(await progress.getAttribute('max'), '2', 'counted in cohort images: the exported one and the held one')
  await card.getByTestId('history').waitFor()
  await screenshot(researcher, 'research-researcher-exported')
  const saved = join(net.dir, 'export.zip')
  await file.saveAs(saved)
  const zip = await unzip(await readFile(saved))
  const dcm = zip.names.filter(n => n.endsWith('.dcm'))
  assert.is(dcm.length, 1)
  assert.ok(zip.names.includes('manifest.csv') && zip.names.includes('manifest.json'))
  const bytes = await zip.read(dcm[0])
  for (const probe of ['DOE', 'MRN0048213', '19610417', '1.2.826.0.1.3680043.8.498']) assert.is(bytes.indexOf(probe), -1, `${probe} left in the export`)

  // The same export prepared for a DICOMweb viewer: the page shows its root and token, and a
  // QIDO-RS query with them finds the exported instance.
  await card.getByTestId('prepare-dicomweb').click()
  await card.getByTestId('dicomweb').waitFor({ timeout: 60_000 })
  assert.is(await card.getByTestId('dicomweb-instances').textContent(), '1')
  const root = await card.getByTestId('dicomweb-root').textContent() ?? ''
  const token = await card.getByTestId('dicomweb-token').textContent() ?? ''
  const found = await fetch(`${root}/instances`, { headers: { Authorization: `Bearer ${token}` } })
  assert.is(found.status, 200)
  assert.is((await found.json() as unknown[]).length, 1)
  await screenshot(researcher, 'research-researcher-dicomweb')

  // A's admin checks the held image on the Research page and releases it; the next export has both.
  await adminA.getByRole('link', { name: 'Node status' }).click()
  await adminA.getByRole('link', { name: 'Research' }).click()
  const held = adminA.getByTestId('held').locator('li')
  await held.first().waitFor({ timeout: 20_000 })
  assert.is(await held.count(), 1)
  await held.locator('img').evaluate(async (img: HTMLImageElement) => { if (!img.complete) await new Promise(resolve => { img.onload = resolve }) })
  assert.ok(await held.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth) > 0, 'the preview shows')
  await screenshot(adminA, 'research-admin-review')
  await held.getByRole('button', { name: 'No identifying text: release' }).click()
  await adminA.getByText('No image is waiting.').waitFor({ timeout: 20_000 })
  const again = researcher.waitForEvent('download', { timeout: 60_000 })
  await card.getByTestId('export').click()
  await again
  await card.getByTestId('export-done').filter({ hasText: 'Exported 2 images.' }).waitFor({ timeout: 60_000 })

  // A published model: the researcher opens its card, checks the proof in the browser.
  const { cid: weights } = await A.peer.storage.add([Uint8Array.from({ length: 4096 }, (_, i) => i % 251)])
  await A.peer.ledger.submitOwn('model.publish', {
    model: weights, task: taskIdFor('lesions', A.peer.ledger.self, new Uint8Array(4).fill(2)), round: 2,
    metrics: { dice: 0.64, [samplesMetricKey(A.peer.ledger.self)]: 40 }, participants: [A.peer.ledger.self]
  })
  // Away and back (a reload would lock the vault): the Research page loads the list afresh.
  await researcher.getByRole('link', { name: 'Patients' }).click()
  await researcher.getByRole('link', { name: 'Research' }).click()
  await researcher.getByTestId('models').getByRole('link', { name: /lesions/ }).click()
  await researcher.waitForURL(`**/app/models/${weights.toString()}`)
  assert.is(await researcher.getByTestId('model-cid').textContent(), weights.toString())
  assert.match(await researcher.getByTestId('model-data').textContent() ?? '', /Hospital A\s*40/)
  await researcher.getByRole('button', { name: 'Verify the inclusion proof' }).click()
  await researcher.locator('[data-result=verified]').waitFor({ timeout: 10_000 })
  await screenshot(researcher, 'research-model-card')

  // The patient reads where their image went.
  await patient.getByRole('link', { name: 'Research use' }).click()
  await patient.getByTestId('research-uses').waitFor({ timeout: 20_000 })
  assert.match(await patient.getByTestId('research-uses').textContent() ?? '', new RegExp(`Used in research project ${title}`))
  await screenshot(patient, 'research-patient-use')
})

test.run()
