// People, not hex (issue 12), in Chromium: the patient reads a short code from "My id" beside the QR
// code; the clinician types it (as heard: lower case, a space) and reaches the patient, while a
// misheard character is refused; the clinician uploads with a description, and both see image
// cards with the file name, the date taken and a thumbnail decrypted in the page from the sealed
// card (not the whole image); an image from before cards still shows, from the whole image. At the
// desk, an instance held in custody over C-STORE is enrolled by the code the patient reads out, and
// its card carries the study's date and description from the DICOM header.
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { fromHex } from '../../../protocol/bytes.ts'
import { wrapKey } from '../../../protocol/crypto/key-wrap.ts'
import { PATIENT_CODE_ALPHABET } from '../../../protocol/patient-code.ts'
import { encryptContent } from '../../../node/storage/seal/content-crypto-node.ts'
import { expectCode, adminOf, clinicianOf, patientOf } from '../flows.ts'
import { browserSuite, phantomPng, screenshot, signInInPage } from '../harness.ts'
import { dcmtk, writeStudy } from '../../helpers/imaging/dicom.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { waitFor } from '../../helpers/timeout.ts'

const { it, setup } = browserSuite(test, { hospitals: 1, network: { dicom: {} } })

/** The code with one character replaced by its neighbour in the alphabet: what a misheard letter gives. */
function mishear (code: string, at: number): string {
  const i = PATIENT_CODE_ALPHABET.indexOf(code[at])
  return code.slice(0, at) + PATIENT_CODE_ALPHABET[(i + 1) % PATIENT_CODE_ALPHABET.length] + code.slice(at + 1)
}

/** Distinct grey levels (in 16 bands) drawn in a thumbnail's canvas: more than a few means a picture. */
async function bandsDrawn (page: Page, n: number): Promise<number> {
  return await page.locator('mc-thumbnail canvas').nth(n).evaluate((canvas: HTMLCanvasElement) => {
    const ctx = canvas.getContext('2d')
    if (ctx === null) return 0
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data
    const bands = new Set<number>()
    for (let i = 0; i < data.length; i += 4) bands.add(data[i] >> 4)
    return bands.size
  })
}

/** The texts of every card's `testid` field, in grid order. */
async function cardTexts (page: Page, testid: string): Promise<string[]> {
  return (await page.getByTestId(testid).allTextContents()).map(t => t.trim())
}

it('a patient reads a short code, a clinician types it and uploads, and both see named cards with thumbnails', async () => {
  const { net, browser } = setup()
  const b = browser
  const h = net.hospitals[0]
  const admin = await adminOf(b, h, 'admin.cards')
  const { page: patient, patientId } = await patientOf(b, h, 'pat.cards')
  const code = (await patient.getByTestId('patient-code').textContent())?.trim() ?? ''
  assert.match(code, /^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/)
  assert.ok(await patient.getByRole('img', { name: 'QR code of your patient id' }).isVisible(), 'the QR code stays')
  await screenshot(patient, 'cards-my-id-code')

  // At the desk: a misheard character is refused, and so is a swap of two neighbours.
  const clin = await clinicianOf(b, h, admin, 'dr.cards')
  await clin.getByRole('link', { name: 'Patients' }).click()
  const box = clin.getByLabel('Patient id or code')
  await box.fill(mishear(code, 2))
  await clin.getByRole('button', { name: 'Find patient' }).click()
  await expectCode(clin, 'BAD_PATIENT_CODE')
  await screenshot(clin, 'cards-code-typo')
  const bare = code.replace('-', '')
  const swapped = bare[3] === bare[4] ? mishear(bare, 3) : bare.slice(0, 3) + bare[4] + bare[3] + bare.slice(5)
  await box.fill(swapped)
  await clin.getByRole('button', { name: 'Find patient' }).click()
  await expectCode(clin, 'BAD_PATIENT_CODE')
  assert.ok(clin.url().endsWith('/app/clinician'), 'a refused code goes nowhere')
  // As heard: lower case, a space for the hyphen.
  await box.fill(code.toLowerCase().replace('-', ' '))
  await clin.getByRole('button', { name: 'Find patient' }).click()
  await clin.waitForURL(`**/app/clinician/patients/${patientId}`)
  assert.is((await clin.getByTestId('patient-code').textContent())?.trim(), code)

  // Two uploads: a PNG with a typed description, and a DICOM whose header gives date and descriptions.
  await clin.getByLabel('Description (optional)').fill('Left knee after the fall')
  await clin.locator('#files').setInputFiles([{ name: 'knee-left.png', mimeType: 'image/png', buffer: Buffer.from(phantomPng(31, 256)) }])
  await clin.getByLabel('Description (optional)').fill('')
  await clin.locator('#files').setInputFiles([{ name: 'chest-ct.dcm', mimeType: 'application/dicom', buffer: Buffer.from(testImages(9).dicom) }])
  await waitFor(async () => await clin.locator('li[data-state=done]').count() === 2, { timeout: 60_000, what: 'both uploads' })
  await clin.getByRole('button', { name: 'Refresh the list' }).click()
  await waitFor(async () => await clin.locator('mc-thumbnail canvas[data-state=shown]').count() === 2, { timeout: 60_000, what: 'two thumbnails' })
  assert.is(await clin.locator('mc-thumbnail canvas[data-source=card]').count(), 2, 'both drawn from the sealed cards, not the whole images')
  const names = await cardTexts(clin, 'card-name')
  assert.equal([...names].sort(), ['chest-ct.dcm', 'knee-left.png'])
  const dates = await cardTexts(clin, 'card-date')
  assert.is(dates.length, 2, 'both cards say when the image was taken')
  assert.match(dates[names.indexOf('chest-ct.dcm')], /2026/, 'the DICOM study date')
  assert.ok((await cardTexts(clin, 'card-description')).includes('Left knee after the fall'))
  assert.ok((await cardTexts(clin, 'card-description')).some(d => d.includes('SYNTH STUDY KNEE LEFT')), 'the DICOM study description')
  for (const n of [0, 1]) assert.ok(await bandsDrawn(clin, n) >= 6, `thumbnail ${n} shows a picture`)
  await screenshot(clin, 'cards-clinician-grid')

  // The viewer is titled with the file name.
  await clin.getByRole('link', { name: /Open the OT image knee-left\.png/ }).click()
  await clin.locator('.panes[data-state=shown]').waitFor({ timeout: 60_000 })
  assert.is((await clin.getByTestId('viewer-title').textContent())?.trim(), 'knee-left.png')
  assert.is((await clin.getByTestId('viewer-description').textContent())?.trim(), 'Left knee after the fall')
  await screenshot(clin, 'cards-viewer')

  // An image recorded the way it was before cards: no `meta`. It lists, and its thumbnail is the whole image.
  const account = await h.peer.ledger.queries.patientAccount(fromHex(patientId))
  if (account === undefined) throw new Error('no patient account')
  const key = new Uint8Array(32).fill(5)
  const { cid } = await h.peer.storage.add(encryptContent(key, [phantomPng(44, 96)]))
  await h.peer.ledger.submitOwn('image.add', {
    patient: fromHex(patientId), record: null, raw: cid, result: null, modality: 'OT', size: 1, model: null, score: null,
    keys: [{ to: account.box, raw: wrapKey(key, account.box), result: null }]
  })

  await patient.getByRole('link', { name: 'My images', exact: true }).click()
  await waitFor(async () => await patient.locator('mc-thumbnail canvas[data-state=shown]').count() === 3, { timeout: 60_000, what: 'three thumbnails for the patient' })
  assert.is(await patient.locator('mc-thumbnail canvas[data-source=card]').count(), 2)
  assert.is(await patient.locator('mc-thumbnail canvas[data-source=image]').count(), 1, 'the old image is drawn from the whole image')
  const patientNames = await cardTexts(patient, 'card-name')
  assert.equal([...patientNames].sort(), ['OT image', 'chest-ct.dcm', 'knee-left.png'])
  await screenshot(patient, 'cards-patient-grid')
})

it('at the desk, a patient held in custody is enrolled by the code they read out; a typo is refused', async () => {
  const { net, browser } = setup()
  const b = browser
  const h = net.hospitals[0]
  const port = h.peer.dicom?.address()?.port
  if (port === undefined) throw new Error('no DICOM listener')
  const files = await writeStudy(join(net.dir, 'desk-study'), {
    mrn: 'MRN-CODE-3', name: 'SYNTH^CODE^DESK', birthDate: '19800303', uid: '2.25.7000007', date: '20261130', description: 'SYNTH WRIST RIGHT',
    series: [{ uid: '2.25.7000007.1', modality: 'CR', slices: 1 }]
  })
  const stored = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...files], 60_000)
  assert.is(stored.code, 0, stored.stderr)

  const { page: patient, patientId } = await patientOf(b, h, 'pat.desk')
  const code = (await patient.getByTestId('patient-code').textContent())?.trim() ?? ''
  const clin = await b.page(`${h.url}/app/sign-in`)
  await signInInPage(clin, 'dr.cards')
  await clin.waitForURL('**/app/clinician')
  await clin.getByLabel('MRN or name').fill('MRN-CODE-3')
  await clin.getByRole('button', { name: 'Search this hospital' }).click()
  const row = clin.locator('tr[data-mrn="MRN-CODE-3"]')
  await row.getByText('Not enrolled · 1 image held').waitFor()
  await row.getByRole('button', { name: 'Enrol…' }).click()
  const box = clin.getByTestId('hospital-patients').getByLabel('Patient id or code')
  await box.fill(mishear(code, 7))
  await clin.getByRole('button', { name: 'Enrol', exact: true }).click()
  await expectCode(clin, 'BAD_PATIENT_CODE')
  await screenshot(clin, 'cards-desk-code-typo')
  await box.fill(code)
  await clin.getByRole('button', { name: 'Enrol', exact: true }).click()
  await clin.getByText(/Enrolled\. 1 image held for .* is now in their records\./).waitFor({ timeout: 60_000 })
  await row.getByRole('link', { name: 'Open records' }).click()
  await clin.waitForURL(`**/app/clinician/patients/${patientId}`)
  await clin.getByTestId('card-description').waitFor({ timeout: 60_000 })
  assert.is((await clin.getByTestId('card-description').textContent())?.trim(), 'SYNTH WRIST RIGHT')
  assert.match((await clin.getByTestId('card-date').textContent())?.trim() ?? '', /2026/)
  await clin.locator('mc-thumbnail canvas[data-source=card]').waitFor({ timeout: 60_000 })
  await screenshot(clin, 'cards-desk-enrolled')
})

test.run()
