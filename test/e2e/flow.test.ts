// The web UI end to end on a real 2-hospital network, in headless Chromium (issue 5): a patient
// signs up at A; a clinician at A, approved by A's admin, uploads a DICOM (dropped) and a PNG
// (chosen) and sees the result overlay; a clinician at B is refused; the patient grants hospital
// B; B opens the image; the patient sees both accesses; the patient also lets B train, then
// revokes treatment only: B is refused again and the training consent stays. Then the admin console: status, members, FL, and an inclusion proof verified in the
// browser (and a tampered one refused). Break-glass is in sharing/emergency.test.ts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { fromHex, toHex } from '../../protocol/bytes.ts'
import { waitFor } from '../helpers/timeout.ts'
import { adminOf, clinicianOf, expectCode, findPatient } from './flows.ts'
import {
  browserSuite, offHostRequests, phantomDicom, phantomPng, registerAnalyser, screenshot,
  signUpInPage
} from './harness.ts'

let modelCid = ''
/** Pages kept from the first test for the admin test. */
const pages: Record<string, Page> = {}

/** Without the browser outside CI the tests are reported as skipped (under CI=true that throws instead). */
const { it, setup } = browserSuite(test, {
  hospitals: 2,
  async prepare (net) { modelCid = await registerAnalyser(net.hospitals[0]) }
})

/** Sum of the raw pane's pixels: changes when window/level changes what is drawn. */
async function rawPixelSum (page: Page): Promise<number> {
  return await page.locator('canvas[data-pane=raw]').evaluate((c: HTMLCanvasElement) => {
    const ctx = c.getContext('2d')
    if (ctx === null) return -1
    const d = ctx.getImageData(0, 0, c.width, c.height).data
    let s = 0
    for (let i = 0; i < d.length; i += 4) s += d[i]
    return s
  })
}

it('patient, clinicians at two hospitals: upload, refusal, consent, access log, revoke', async () => {
  const { net, browser: b } = setup()
  const [A, B] = net.hospitals
  const patientHash = (id: string): Uint8Array => fromHex(id)

  const adminA = await adminOf(b, A, 'admin.a')
  const adminB = await adminOf(b, B, 'admin.b')
  pages.adminA = adminA

  const patient = await b.page(`${A.url}/app/sign-up`)
  await screenshot(patient, 'sign-up')
  await signUpInPage(patient, 'pat.one', 'patient')
  await patient.waitForURL('**/app/patient/images')
  await patient.getByRole('link', { name: 'My id' }).click()
  const patientId = (await patient.getByTestId('patient-id').textContent())?.trim() ?? ''
  assert.match(patientId, /^[0-9a-f]{64}$/)
  await patient.getByRole('img', { name: 'QR code of your patient id' }).waitFor()
  await screenshot(patient, 'patient-my-id')

  const clinA = await clinicianOf(b, A, adminA, 'dr.a')
  await findPatient(clinA, patientId)
  // A patient without images answers like one whose images are closed to this reader (issue 11.4).
  await expectCode(clinA, 'NO_CONSENT')
  // The DICOM arrives by drag and drop, the PNG through the file input.
  const dicom = phantomDicom(11)
  const dataTransfer = await clinA.evaluateHandle((b64: string) => {
    const dt = new DataTransfer()
    dt.items.add(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], 'slice.dcm', { type: 'application/dicom' }))
    return dt
  }, Buffer.from(dicom).toString('base64'))
  await clinA.locator('.zone').dispatchEvent('drop', { dataTransfer })
  await clinA.locator('li[data-state=done]').first().waitFor({ timeout: 30_000 })
  await clinA.locator('#files').setInputFiles({ name: 'slice.png', mimeType: 'image/png', buffer: Buffer.from(phantomPng(12)) })
  await waitFor(async () => await clinA.locator('li[data-state=done]').count() === 2, { timeout: 30_000, what: 'both uploads to finish' })
  assert.is(await clinA.locator('li[data-state=failed]').count(), 0)
  await waitFor(async () => await clinA.locator('mc-thumbnail canvas[data-state=shown]').count() === 2, { timeout: 30_000, what: 'two decrypted thumbnails' })
  await screenshot(clinA, 'clinician-patient')

  await clinA.getByRole('link', { name: /Open the CT image/ }).click()
  await clinA.locator('.panes[data-state=shown]').waitFor({ timeout: 30_000 })
  assert.is(await clinA.locator('canvas[data-pane=result]').count(), 1, 'the result pane is shown')
  assert.is((await clinA.getByTestId('model').textContent())?.trim(), modelCid)
  assert.match((await clinA.getByTestId('score').textContent()) ?? '', /%/)
  await clinA.getByLabel('Overlay opacity').fill('90')
  const before = await rawPixelSum(clinA)
  await clinA.getByLabel('Width value').fill('200')
  await clinA.getByLabel('Width value').press('Enter')
  await waitFor(async () => await rawPixelSum(clinA) !== before, { timeout: 5000, what: 'window/level to redraw the raw pane' })
  const fitted = await rawPixelSum(clinA)
  await clinA.getByRole('button', { name: 'Zoom in' }).click()
  await waitFor(async () => await rawPixelSum(clinA) !== fitted, { timeout: 5000, what: 'zoom to redraw' })
  await clinA.locator('canvas[data-pane=raw]').press('0')
  await waitFor(async () => await rawPixelSum(clinA) === fitted, { timeout: 5000, what: 'the 0 key to fit the image again' })
  await screenshot(clinA, 'viewer')

  // Hospital B's clinician, once B holds A's image.add blocks: refused without consent.
  await waitFor(async () => (await B.peer.ledger.queries.imagesOf(patientHash(patientId))).length === 2, { timeout: 20_000, what: 'B to replicate the images' })
  const clinB = await clinicianOf(b, B, adminB, 'dr.b')
  await findPatient(clinB, patientId)
  await expectCode(clinB, 'NO_CONSENT')

  // The patient grants hospital B.
  await patient.getByRole('link', { name: 'Consents' }).click()
  await patient.getByTestId('revoke-note').waitFor()
  await patient.getByLabel('Hospital', { exact: true }).selectOption({ label: 'Hospital B' })
  await patient.getByRole('button', { name: 'Grant consent' }).click()
  await patient.getByText('Consent granted').waitFor({ timeout: 20_000 })
  await patient.locator(`tr[data-status=active][data-grantee="${B.key}"]`).waitFor()
  await screenshot(patient, 'patient-consents')
  await waitFor(async () => (await B.peer.ledger.queries.consentsOf(patientHash(patientId))).some(c => toHex(c.grantee) === B.key && c.action === 'grant'), { timeout: 20_000, what: 'B to see the consent' })

  await clinB.getByRole('button', { name: 'Refresh the list' }).click()
  await clinB.getByRole('link', { name: /Open the CT image/ }).click()
  await clinB.locator('.panes[data-state=shown]').waitFor({ timeout: 30_000 })

  // Both hospitals' reads reach the patient's "who viewed my images".
  await waitFor(async () => (await A.peer.ledger.queries.auditOf(patientHash(patientId))).some(e => toHex(e.hospital) === B.key), { timeout: 20_000, what: 'A to see B\'s access log' })
  await patient.getByRole('link', { name: 'Who viewed my images' }).click()
  await patient.locator('li[data-hospital="Hospital A"]').first().waitFor()
  await patient.locator('li[data-hospital="Hospital B"]').first().waitFor()
  await screenshot(patient, 'patient-audit')

  // A training consent to B sits beside the treatment one: only a grant for the same purpose
  // would replace it, and the form says so.
  await patient.getByRole('link', { name: 'Consents' }).click()
  await patient.getByLabel('Hospital', { exact: true }).selectOption({ label: 'Hospital B' })
  await patient.getByLabel('For', { exact: true }).selectOption('treatment')
  await patient.getByTestId('grant-replaces').waitFor()
  await patient.getByLabel('For', { exact: true }).selectOption('training')
  await patient.getByTestId('grant-summary').waitFor()
  assert.is(await patient.getByTestId('grant-replaces').count(), 0, 'a training grant replaces no treatment consent')
  await patient.getByRole('button', { name: 'Grant consent' }).click()
  await patient.locator(`tr[data-status=active][data-grantee="${B.key}"][data-purpose=training]`).waitFor({ timeout: 20_000 })
  await patient.locator(`tr[data-status=active][data-grantee="${B.key}"][data-purpose=treatment]`).waitFor()

  // Revoke treatment only: B is refused again, and the training consent stays.
  await patient.getByRole('button', { name: /Revoke the consent to Hospital B.* for treatment/ }).click()
  await patient.getByText('Consent revoked.').waitFor({ timeout: 20_000 })
  await patient.locator(`tr[data-status=revoked][data-grantee="${B.key}"][data-purpose=treatment]`).waitFor()
  await patient.locator(`tr[data-status=active][data-grantee="${B.key}"][data-purpose=training]`).waitFor()
  await waitFor(async () => (await B.peer.ledger.queries.consentsOf(patientHash(patientId))).some(c => toHex(c.grantee) === B.key && c.purpose === 'treatment' && c.action === 'revoke'), { timeout: 20_000, what: 'B to see the revocation' })
  await clinB.getByRole('link', { name: '← Back to the images' }).click()
  await expectCode(clinB, 'NO_CONSENT')

  await patient.getByRole('link', { name: 'My images', exact: true }).click()
  await waitFor(async () => await patient.locator('mc-thumbnail canvas[data-state=shown]').count() === 2, { timeout: 30_000, what: 'the patient\'s own decrypted thumbnails' })
  await screenshot(patient, 'patient-images')
  await patient.getByRole('link', { name: 'Credit score' }).click()
  await patient.getByTestId('credit-score').waitFor()
  await screenshot(patient, 'patient-credit')
})

/**
 * The FL dashboard drawing a finished task with three rounds, without waiting for a real
 * federated run: the page is fed a task in the shape of `GET /api/fl/tasks/:id` to check the
 * charts, participants and model (test/node/fl/routes.test.ts covers the real routes).
 */
async function flDashboard (page: Page): Promise<void> {
  const task = {
    id: 'task-1', status: 'done', coordinator: 'aa'.repeat(32), created: Date.now(),
    rounds: [1, 2, 3].map(round => ({ round, valLoss: 1 / round, dice: 0.3 * round, participants: [{ hospital: 'bb'.repeat(32), name: 'Hospital A', samples: 40 }], durationMs: 1500 })),
    model: { cid: 'bafkreibqbw6akmsfmdwx7apfd3d3hikkgh52kasn4vbajilkom6htpuvsm', round: 3, dice: 0.9, loss: 0.33 }
  }
  await page.route('**/api/fl/tasks', async route => { await route.fulfill({ json: { tasks: [task] } }) })
  await page.route('**/api/fl/tasks/task-1', async route => { await route.fulfill({ json: task }) })
  await page.getByRole('link', { name: 'Node status' }).click()
  await page.getByRole('link', { name: 'Federated learning' }).click()
  await page.getByRole('link', { name: 'task-1' }).click()
  await page.waitForURL('**/app/admin/fl/task-1')
  // The task view renders after its fetch: wait for the second line before counting.
  await page.locator('mc-line-chart polyline').nth(1).waitFor()
  assert.is(await page.locator('mc-line-chart polyline').count(), 2, 'a loss line and a Dice line')
  assert.is((await page.getByTestId('fl-model').textContent())?.trim(), task.model.cid)
  await page.getByRole('cell', { name: /Hospital A \(40\)/ }).first().waitFor()
  await screenshot(page, 'admin-fl-task')

  // An interrupted task offers Continue; the peer answers with the new task, which the page opens.
  const interrupted = { ...task, id: 'task-2', status: 'interrupted', rounds: task.rounds.slice(0, 2), model: null, error: { code: 'INTERRUPTED', message: 'the peer stopped while the task ran' } }
  const next = { ...task, id: 'task-3', status: 'running', rounds: [], model: null, continues: 'task-2' }
  let continued = ''
  await page.route('**/api/fl/tasks/task-2', async route => { await route.fulfill({ json: interrupted }) })
  await page.route('**/api/fl/tasks/task-2/continue', async route => {
    continued = route.request().method()
    await route.fulfill({ status: 202, json: { id: 'task-3', continues: 'task-2' } })
  })
  await page.route('**/api/fl/tasks/task-3', async route => { await route.fulfill({ json: next }) })
  await page.unroute('**/api/fl/tasks')
  await page.route('**/api/fl/tasks', async route => { await route.fulfill({ json: { tasks: [task, interrupted] } }) })
  await page.getByRole('link', { name: '← All tasks' }).click()
  await page.getByRole('link', { name: 'task-2' }).click()
  await page.waitForURL('**/app/admin/fl/task-2')
  await page.getByRole('button', { name: 'Continue from round 2' }).click()
  await page.waitForURL('**/app/admin/fl/task-3')
  assert.is(continued, 'POST')
  assert.is((await page.getByTestId('fl-continues').textContent())?.trim(), 'Continues task-2')
  assert.is(await page.getByTestId('fl-continue').count(), 0, 'a running task offers no Continue')
  for (const path of ['**/api/fl/tasks', '**/api/fl/tasks/task-1', '**/api/fl/tasks/task-2', '**/api/fl/tasks/task-2/continue', '**/api/fl/tasks/task-3']) await page.unroute(path)
}

it('admin console: status, members, FL tasks, inclusion proof checked in the browser', async () => {
  const adminA = pages.adminA
  assert.ok(adminA !== undefined, 'the first test ran')
  await adminA.getByRole('link', { name: 'Node status' }).click()
  await adminA.getByTestId('health').waitFor()
  await adminA.getByText('Hospital B').first().waitFor()
  await screenshot(adminA, 'admin-status')
  await adminA.getByRole('link', { name: 'Members' }).click()
  await adminA.locator('tr[data-member]').nth(1).waitFor()
  await screenshot(adminA, 'admin-members')
  await adminA.getByRole('link', { name: 'Accounts' }).click()
  await adminA.locator('tr[data-username="dr.a"]').waitFor()
  await screenshot(adminA, 'admin-accounts')
  await adminA.getByRole('link', { name: 'Federated learning' }).click()
  // The peer runs the FL service: the dashboard lists its (no) tasks and offers to start one.
  await adminA.getByText('No tasks yet.').waitFor()
  assert.is(await adminA.getByTestId('fl-missing').count(), 0)
  await screenshot(adminA, 'admin-fl')
  await flDashboard(adminA)

  await adminA.getByRole('link', { name: 'Ledger' }).click()
  await adminA.locator('details', { has: adminA.locator('a[data-type="image.add"]') }).first().locator('summary').click()
  const txLink = adminA.locator('a[data-type="image.add"]').first()
  await txLink.click()
  await adminA.waitForURL(/\/app\/admin\/ledger\/tx\/[0-9a-f]{64}$/)
  const txPath = new URL(adminA.url()).pathname
  await adminA.getByRole('button', { name: 'Verify inclusion proof' }).click()
  await adminA.locator('[data-result=verified]').waitFor()
  await screenshot(adminA, 'admin-ledger-proof')

  // The same page with a peer that lies: one flipped signature digit is caught in the browser.
  await adminA.route('**/api/ledger/tx/*', async (route) => {
    const res = await route.fetch()
    const body = await res.json() as { proof: { sig: string } }
    const sig = body.proof.sig
    body.proof.sig = (sig[0] === '0' ? '1' : '0') + sig.slice(1)
    await route.fulfill({ response: res, json: body })
  })
  await adminA.getByRole('link', { name: '← Ledger' }).click()
  await adminA.evaluate((p: string) => { history.pushState(null, '', p); dispatchEvent(new PopStateEvent('popstate')) }, txPath)
  await adminA.getByRole('button', { name: 'Verify inclusion proof' }).click()
  await adminA.locator('[data-result=failed][data-code=BAD_PROOF]').waitFor()
  await adminA.unroute('**/api/ledger/tx/*')
})

it('no request from any page left 127.0.0.1, and the CSP refused nothing', async () => {
  const { browser: b } = setup()
  assert.ok(b.requests.length > 20, 'requests were logged')
  assert.equal(offHostRequests(b.requests), [])
  assert.equal(b.problems.filter(p => /Content Security Policy|Refused to/i.test(p)), [])
})

test.run()
