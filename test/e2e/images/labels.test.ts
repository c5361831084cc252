// Ground truth and federated learning through the web UI on a real one-hospital network, in
// headless Chromium: a clinician uploads two phantoms and labels them in the viewer (one for
// training, one held out; a wrong-size mask is refused with LABEL_MISMATCH and stores nothing),
// the patient grants the hospital a training consent in the portal, the admin sees the training
// data (2 labelled, 2 usable) and runs a tiny federated task to 'done' from the FL dashboard (its
// coordinator by name), and the patient then reads the training use and the held-out image's
// validation use apart in "who viewed my images" (issue 12 item 8), and both in the credit score.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { fromHex } from '../../../protocol/bytes.ts'
import { encodePng } from '../../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { adminOf, chooseFile, clinicianOf, expectCode, findPatient, patientOf } from '../flows.ts'
import { browserSuite, offHostRequests, phantomPng, screenshot } from '../harness.ts'

/** Side of the phantoms, and the tiny model's input (issue 4 test size). */
const SIZE = 32
const SEEDS = [41, 42]

let dir = ''

const { it, setup } = browserSuite(test, {
  hospitals: 1,
  async prepare () { dir = await mkdtemp(join(tmpdir(), 'medichain-masks-')) },
  async after () { if (dir !== '') await rm(dir, { recursive: true, force: true }) }
})

/** Writes the ground-truth mask of phantom `seed` (or an all-lesion mask of `side`) as a PNG file. */
async function maskFile (name: string, seed: number, side = SIZE): Promise<string> {
  const mask = side === SIZE ? generatePhantom(seed, { size: SIZE }).mask : new Uint8Array(side * side).fill(1)
  const path = join(dir, name)
  await writeFile(path, encodePng(Uint8Array.from(mask, v => v * 255), side, side))
  return path
}

/** In the viewer's ground-truth panel: picks the mask file and the use, and saves. */
async function label (page: Page, path: string, use: string): Promise<void> {
  await chooseFile(page, /^Mask image/, path)
  await page.getByLabel('Use for').selectOption({ label: use })
  await page.getByRole('button', { name: /ground truth$/ }).first().click()
}

it('clinician labels in the viewer, patient consents, admin trains, patient sees the training uses', async () => {
  const { net, browser } = setup()
  const b = browser
  const [A] = net.hospitals
  const admin = await adminOf(b, A, 'admin.l')
  const { page: patient, patientId } = await patientOf(b, A, 'pat.l')
  const clin = await clinicianOf(b, A, admin, 'dr.l')

  // Two phantoms uploaded for the patient, one after the other, so each CID is known to be its seed's.
  await findPatient(clin, patientId)
  const cids: string[] = []
  for (const [i, seed] of SEEDS.entries()) {
    await clin.locator('#files').setInputFiles({ name: `p${seed}.png`, mimeType: 'image/png', buffer: Buffer.from(phantomPng(seed, SIZE)) })
    await waitFor(async () => await clin.locator('mc-thumbnail canvas[data-state=shown]').count() === i + 1, { timeout: 30_000, what: `thumbnail ${i + 1}` })
    const raws = (await A.peer.ledger.queries.imagesOf(fromHex(patientId))).map(r => r.raw.toString())
    const added = raws.find(r => !cids.includes(r))
    assert.ok(added !== undefined)
    cids.push(added)
  }
  const open = async (cid: string): Promise<void> => { await clin.locator(`a.open[href$="/${cid}"]`).click() }
  const panel = clin.locator('mc-label-panel section')

  // First image: a wrong-size mask is refused and nothing is stored; then its ground truth, for training.
  await open(cids[0])
  await clin.locator('.panes[data-state=shown]').waitFor({ timeout: 30_000 })
  await clin.locator('mc-label-panel section[data-state=unlabelled]').getByText('Not labelled.').waitFor()
  await label(clin, await maskFile('wrong.png', 0, 16), 'Training')
  await expectCode(clin, 'LABEL_MISMATCH')
  assert.match(await clin.locator('[data-code=LABEL_MISMATCH]').textContent() ?? '', /32×32 pixels/)
  assert.is(await panel.getAttribute('data-state'), 'unlabelled')
  assert.equal((await A.peer.labels.summary()).labelled, { train: 0, validation: 0 }, 'a refused mask stores nothing')
  await label(clin, await maskFile('first.png', SEEDS[0]), 'Training')
  await clin.locator('mc-label-panel section[data-state=labelled][data-use=train]').waitFor()
  assert.is(await clin.locator('[role=alert][data-code]').count(), 0, 'the old refusal is gone')
  await screenshot(clin, 'label-panel')

  // Second image: held out for validation.
  await clin.getByRole('link', { name: '← Back to the images' }).click()
  await open(cids[1])
  await clin.locator('mc-label-panel section[data-state=unlabelled]').waitFor({ timeout: 30_000 })
  await label(clin, await maskFile('second.png', SEEDS[1]), 'Held out for validation')
  await clin.locator('mc-label-panel section[data-state=labelled][data-use=validation]').waitFor()
  assert.equal((await A.peer.labels.summary()).labelled, { train: 1, validation: 1 })

  // The patient lets Hospital A train on their images, in plain words.
  await patient.getByRole('link', { name: 'Consents' }).click()
  await patient.getByLabel('Hospital', { exact: true }).selectOption({ label: 'Hospital A (this hospital)' })
  await patient.getByLabel('For', { exact: true }).selectOption('training')
  assert.match(await patient.getByTestId('grant-summary').textContent() ?? '', /let Hospital A use all your images to train the detect-strange model/)
  await patient.getByRole('button', { name: 'Grant consent' }).click()
  await patient.locator(`tr[data-status=active][data-grantee="${A.key}"]`).waitFor({ timeout: 20_000 })

  // The admin sees the training data and runs a tiny task from the dashboard.
  await admin.getByRole('link', { name: 'Federated learning' }).click()
  await waitFor(async () => await admin.getByTestId('all-labelled').textContent() === '2', { timeout: 10_000, what: 'the labelled count' })
  assert.is(await admin.getByTestId('all-usable').textContent(), '2')
  assert.is(await admin.getByTestId('no-validation').count(), 0)
  await screenshot(admin, 'fl-training-data')
  await admin.getByLabel('Rounds').fill('1')
  await admin.getByLabel('Local epochs', { exact: true }).fill('1')
  await admin.getByLabel('Local epochs of the first round').fill('1')
  await admin.getByLabel('Minimum hospitals per round').fill('1')
  await admin.getByText('Model shape (optional)').click()
  await admin.getByLabel('Input size (pixels)').fill(String(SIZE))
  await admin.getByLabel('Channels of the first level').fill('4')
  await admin.getByLabel('Depth (levels)').fill('2')
  await admin.getByRole('button', { name: 'Start' }).click()
  await admin.waitForURL(/\/app\/admin\/fl\/[^/]+$/)
  await admin.locator('[data-testid=fl-status]', { hasText: /^(done|failed)$/ }).waitFor({ timeout: 45_000 })
  const why = await admin.locator('[role=alert][data-code]').first().getAttribute('data-code', { timeout: 1000 }).catch(() => 'none')
  assert.is(await admin.getByTestId('fl-status').textContent(), 'done', `the task failed: ${why ?? ''}`)
  await admin.getByTestId('fl-model').waitFor()

  // The task's coordinator is named, not shown as a key.
  assert.is((await admin.getByTestId('fl-coordinator').textContent())?.trim(), 'Hospital A')

  // The patient reads the training use and the validation use apart (the held-out image is never
  // "used to train"), apart from the clinician's views, and the credit.
  await patient.getByRole('link', { name: 'Who viewed my images' }).click()
  const trained = patient.locator('li[data-use=train][data-purpose=training]')
  const validated = patient.locator('li[data-use=validate][data-purpose=training]')
  await waitFor(async () => await trained.count() === 1 && await validated.count() === 1, { timeout: 10_000, what: 'one training and one validation use' })
  assert.match(await trained.locator('.sentence').textContent() ?? '', /^Hospital A used one of your images to train the detect-strange model on .+, under your training consent to Hospital A\.$/)
  const validation = await validated.locator('.sentence').textContent() ?? ''
  assert.match(validation, /^Hospital A used one of your images, held out of training, to check \(validate\) the detect-strange model on .+, under your training consent to Hospital A\.$/)
  assert.not.match(validation, /to train the/)
  assert.ok(await patient.locator('li[data-basis=custodian]').count() > 0, 'the clinician\'s views are listed apart')
  // The validation group expands to its one ledger entry, a validation use.
  await validated.getByRole('button', { name: 'Show the ledger entry' }).click()
  await validated.locator('tr[data-use=validate]').waitFor()
  await screenshot(patient, 'patient-audit-training')
  await patient.getByRole('link', { name: 'Credit score' }).click()
  assert.is(await patient.getByTestId('images-contributed').textContent(), '2')

  assert.equal(offHostRequests(b.requests), [])
})

test.run()
