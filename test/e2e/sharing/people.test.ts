// People, not hex (issue 12, items 2 and 3), in Chromium on a real two-hospital network: clinicians
// give their names to the consortium directory; the patient finds "Dr Lee" by name in the consent
// form (no key typed) and the consent list names them; Dr Lee at the other hospital lists and opens
// the patient's images; "who viewed my images" then shows one line per person, day and use, with
// the consent each read relied on, and expands to ledger entries whose proofs check in the page.
// An admin's pages name staff and the transaction's people. Screenshots go to the artifacts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { adminOf, clinicianOf, expectCode, findPatient, patientOf } from '../flows.ts'
import { browserSuite, offHostRequests, phantomPng, screenshot, PASSWORD } from '../harness.ts'
import type { Page } from 'playwright-core'

const { it, setup } = browserSuite(test, { hospitals: 2 })

/** On the clinician's Patients page, gives their name and department to the directory. */
async function nameMyself (page: Page, name: string, department: string): Promise<void> {
  await page.getByRole('link', { name: 'Patients' }).click()
  await page.getByTestId('directory-missing').waitFor()
  await page.getByLabel('Your name as patients read it').fill(name)
  await page.getByLabel('Department').fill(department)
  await page.getByRole('button', { name: 'Save' }).click()
  await page.getByTestId('directory-name').filter({ hasText: name }).waitFor({ timeout: 20_000 })
}

it('the patient picks Dr Lee by name; consents and who-viewed read in names, grouped by person and day, expandable', async () => {
  const { net, browser } = setup()
  const b = browser
  const [A, B] = net.hospitals
  const adminA = await adminOf(b, A, 'admin.a')
  const adminB = await adminOf(b, B, 'admin.b')
  const { page: patient, patientId } = await patientOf(b, A, 'pat.people')

  const clinA = await clinicianOf(b, A, adminA, 'dr.ada')
  await nameMyself(clinA, 'Dr Ada Obi', 'Cardiology')
  await screenshot(clinA, 'people-directory-entry')
  await findPatient(clinA, patientId)
  await expectCode(clinA, 'NO_CONSENT')
  for (const seed of [31, 32]) {
    await clinA.locator('#files').setInputFiles({ name: `chest-${seed}.png`, mimeType: 'image/png', buffer: Buffer.from(phantomPng(seed)) })
    await waitFor(async () => await clinA.locator('li[data-state=done]').count() === seed - 30, { timeout: 60_000, what: `upload ${seed - 30}` })
  }

  const clinB = await clinicianOf(b, B, adminB, 'dr.lee')
  await nameMyself(clinB, 'Dr Lee', 'Radiology')
  const leeKey = (await clinB.getByTestId('my-key').textContent())?.trim() ?? ''
  await waitFor(async () => (await A.peer.ledger.queries.directoryEntry(fromHex(leeKey))) !== undefined, { timeout: 20_000, what: 'A to hold Dr Lee\'s directory entry' })

  // The patient searches "lee", picks Dr Lee by name, and grants treatment; no key is typed.
  await patient.getByRole('link', { name: 'Consents' }).click()
  await patient.getByLabel('one clinician or researcher').check()
  await patient.getByLabel('Search by name').fill('lee')
  await patient.getByRole('button', { name: 'Choose Dr Lee, Radiology, Hospital B' }).click()
  await patient.getByTestId('picked').filter({ hasText: 'Dr Lee, Radiology, Hospital B' }).waitFor()
  assert.match(await patient.getByTestId('grant-summary').textContent() ?? '', /You let Dr Lee, Radiology, Hospital B open all your images to treat you/)
  await screenshot(patient, 'people-consent-picker')
  await patient.getByRole('button', { name: 'Grant consent' }).click()
  await patient.getByText('Consent granted').waitFor({ timeout: 20_000 })
  const row = patient.locator(`tr[data-status=active][data-grantee="${leeKey}"]`)
  await row.waitFor()
  assert.match(await row.locator('td').first().textContent() ?? '', /^Dr Lee, Radiology, Hospital B$/)
  // A search that matches nobody says so, and a patient never appears in the directory.
  await patient.getByRole('button', { name: 'Choose someone else' }).click()
  await patient.getByLabel('Search by name').fill('pat.people')
  await patient.getByText('Nobody in the directory matches').waitFor()
  await screenshot(patient, 'people-consents-named')
  // A power user pastes the key instead; a key the directory knows still reads by name, and the
  // form says the grant would replace the consent just given.
  await patient.getByText('Paste a key instead').click()
  await patient.getByLabel('Their key').fill(leeKey)
  await patient.getByTestId('grant-summary').filter({ hasText: 'You let Dr Lee, Radiology, Hospital B open' }).waitFor()
  await patient.getByTestId('grant-replaces').waitFor()

  // Dr Lee, at the other hospital, lists and opens the patient's images under that consent.
  await waitFor(async () => (await B.peer.ledger.queries.consentsOf(fromHex(patientId))).length === 1 && (await B.peer.ledger.queries.imagesOf(fromHex(patientId))).length === 2, { timeout: 20_000, what: 'B to hold the images and the consent' })
  await findPatient(clinB, patientId)
  await waitFor(async () => await clinB.locator('mc-thumbnail canvas[data-state=shown]').count() === 2, { timeout: 60_000, what: 'two thumbnails at B' })
  await clinB.getByRole('link', { name: /Open the/ }).first().click()
  await clinB.locator('.panes[data-state=shown]').waitFor({ timeout: 60_000 })

  // Each listing wrote one entry, naming no image, however many images it listed.
  await waitFor(async () => (await A.peer.ledger.queries.auditOf(fromHex(patientId))).some(e => toHex(e.hospital) === B.key && e.use === 'open'), { timeout: 20_000, what: 'A to hold B\'s entries' })
  const entries = await A.peer.ledger.queries.auditOf(fromHex(patientId))
  for (const e of entries.filter(x => x.use === 'list')) assert.is(e.image, null)
  assert.ok(entries.filter(x => x.use === 'list').length < entries.length, 'openings are logged apart')

  // Who viewed: one line per person, day and use, in names, with the consent relied on.
  await patient.getByRole('link', { name: 'Who viewed my images' }).click()
  const leeOpened = patient.locator(`li[data-use=open][data-accessor="${leeKey}"]`)
  await leeOpened.waitFor()
  assert.match(await leeOpened.locator('.sentence').textContent() ?? '', /^Dr Lee \(Radiology, Hospital B\) opened (one|\d+) of your images on \d{1,2} \w{3}, under your treatment consent to Dr Lee\.$/)
  const leeListed = patient.locator(`li[data-use=list][data-accessor="${leeKey}"]`)
  assert.match(await leeListed.locator('.sentence').textContent() ?? '', /^Dr Lee \(Radiology, Hospital B\) saw the list of your images.* on \d{1,2} \w{3}, under your treatment consent to Dr Lee\.$/)
  const adaListed = patient.locator('li[data-use=list][data-basis=custodian]').first()
  assert.match(await adaListed.locator('.sentence').textContent() ?? '', /^Dr Ada Obi \(Cardiology, Hospital A\) saw the list of your images.*, as a clinician of Hospital A, the hospital that holds your images\.$/)
  const text = await patient.locator('ol.groups').textContent() ?? ''
  assert.not.match(text, /[0-9a-f]{8}…/, 'no short keys where the directory has names')
  await screenshot(patient, 'people-who-viewed-grouped')

  // Expanding Dr Lee's openings shows their ledger entries, each naming an image, and one checks out.
  // Thumbnails come from the sealed cards, so Dr Lee opened only the one image shown in the viewer.
  const opened = await leeOpened.getByRole('button', { name: /^Show the (\d+ ledger entries|ledger entry)$/ }).textContent() ?? ''
  const count = /Show the ledger entry/.test(opened) ? 1 : Number(/Show the (\d+)/.exec(opened)?.[1])
  await leeOpened.getByRole('button', { name: /Show the/ }).click()
  await waitFor(async () => await leeOpened.locator('tr[data-use=open]').count() === count, { timeout: 10_000, what: 'the group\'s entries' })
  await leeOpened.getByRole('button', { name: 'Verify that this entry is on the ledger' }).first().click()
  await leeOpened.locator('[data-result=verified]').waitFor({ timeout: 20_000 })
  await screenshot(patient, 'people-who-viewed-expanded')
  await leeOpened.getByRole('button', { name: /Hide the/ }).click()
  assert.is(await leeOpened.locator('tr[data-use=open]').count(), 0)

  // The admin's accounts page names its staff; a transaction names its signer and accessor.
  // (It still shows the list from the approval: leave it and come back for a fresh one.)
  await adminB.getByRole('link', { name: 'Members' }).click()
  await adminB.getByRole('link', { name: 'Accounts' }).click()
  await adminB.locator('tr[data-username="dr.lee"]', { hasText: 'Dr Lee, Radiology' }).waitFor()
  const tx = entries.find(e => toHex(e.hospital) === B.key)
  if (tx === undefined) throw new Error('no entry of B')
  await adminA.goto(`${A.url}/app/admin/ledger/tx/${toHex(tx.tx)}`)
  // A reload locks the vault: unlock on the transaction's URL.
  await adminA.getByLabel(/Password for/).fill(PASSWORD)
  await adminA.getByRole('button', { name: 'Unlock' }).click()
  await adminA.getByTestId('signer-name').filter({ hasText: 'Hospital B' }).waitFor({ timeout: 20_000 })
  await adminA.getByText('Dr Lee, Radiology, Hospital B').waitFor()
  await screenshot(adminA, 'people-admin-tx')
  assert.equal(offHostRequests(b.requests), [])
})

test.run()
