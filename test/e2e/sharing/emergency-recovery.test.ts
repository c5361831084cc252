// Cross-hospital emergency and assisted recovery in the browser (issue 16.3, 16.4), on two real
// hospitals. The patient's image is at A. B's admin gives a clinician the emergency role; the
// clinician declares an emergency at B and opens the image A released; the patient's portal shows
// it at once; A's admin reviews it with the reason and records a verdict, which the patient sees.
// Then assisted recovery: B's admin starts a request for the patient, whose old device sees it and
// vetoes it; a second request, co-signed by A's admin, takes effect after the (short) waiting
// period, and the patient's new account at B opens the image. Screenshots of each step.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex } from '../../../protocol/bytes.ts'
import { REKEY_REWRAPPED } from '../../../node/records/patient-rekeys.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { adminOf, clinicianOf, findPatient, patientOf } from '../flows.ts'
import { PASSWORD, browserSuite, phantomPng, screenshot, signInInPage } from '../harness.ts'
import type { Page } from 'playwright-core'

/** Reloads a page: the session survives, the keys do not, so the vault is unlocked again. */
async function reopen (page: Page): Promise<void> {
  await page.reload()
  await page.getByLabel(/Password for/).fill(PASSWORD)
  await page.getByRole('button', { name: 'Unlock' }).click()
  await page.getByLabel(/Password for/).waitFor({ state: 'detached', timeout: 30_000 })
}

const { it, setup } = browserSuite(test, { hospitals: 2, network: { recovery: { cosigners: 2, delayMs: 4000 } } })

it('emergency at another hospital, review, and assisted recovery with a veto, in the browser', async () => {
  const { net, browser } = setup()
  const [A, B] = net.hospitals
  const adminA = await adminOf(browser, A, 'admin.a')
  const adminB = await adminOf(browser, B, 'admin.b')
  const { page: patient, patientId } = await patientOf(browser, A, 'pat.x')
  const docA = await clinicianOf(browser, A, adminA, 'dr.a')
  await findPatient(docA, patientId)
  await docA.locator('#files').setInputFiles([{ name: 'chest.png', mimeType: 'image/png', buffer: Buffer.from(phantomPng(5)) }])
  await docA.locator('li[data-state=done]').waitFor({ timeout: 60_000 })
  const docB = await clinicianOf(browser, B, adminB, 'dr.b')

  // B's admin gives the clinician the emergency role; A learns it from the ledger.
  await adminB.getByRole('link', { name: 'Recovery and emergencies' }).click()
  await adminB.getByRole('button', { name: 'Give dr.b the emergency role' }).click()
  await adminB.getByText('dr.b has the emergency role.').waitFor({ timeout: 20_000 })
  const drB = await B.peer.auth.accounts.get('dr.b')
  await untilLedger(A.peer.ledger, async () => drB !== undefined && (await A.peer.ledger.queries.emergencies.role(drB.signPub))?.role === 'allow', 'the role at A', 30_000)
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.imagesOf(fromHex(patientId))).length === 1, 'the image record at B', 30_000)

  await findPatient(docB, patientId)
  await docB.getByRole('button', { name: 'Emergency access…' }).click()
  await docB.getByLabel('Reason (at least 10 characters)').fill('unconscious on arrival at B, history needed')
  await docB.getByRole('button', { name: 'Declare emergency' }).click()
  await docB.getByText('Emergency access is open until').waitFor({ timeout: 30_000 })
  await docB.locator('mc-thumbnail canvas[data-state=shown]').waitFor({ timeout: 60_000 })
  await screenshot(docB, 'cross-emergency-clinician-at-b')

  // The patient's portal shows it at once.
  await reopen(patient)
  await patient.getByTestId('emergency-alerts').waitFor({ timeout: 30_000 })
  await screenshot(patient, 'cross-emergency-patient-alert')

  // A's admin reviews it with the reason and records a verdict on the ledger.
  await adminA.getByRole('link', { name: 'Recovery and emergencies' }).click()
  await adminA.getByText('unconscious on arrival at B, history needed').waitFor({ timeout: 20_000 })
  await screenshot(adminA, 'cross-emergency-review-at-a')
  await adminA.getByRole('button', { name: 'Unjustified' }).click()
  await adminA.getByText('Recorded: unjustified.').waitFor({ timeout: 20_000 })
  await reopen(patient)
  await patient.getByText(/Reviewed by .*: unjustified\./).waitFor({ timeout: 30_000 })

  // Assisted recovery, started at B; the patient's old device sees the request and vetoes it.
  const start = async (username: string): Promise<string> => {
    await adminB.getByLabel('The patient\'s old patient id').fill(patientId)
    await adminB.getByLabel('New username').fill(username)
    await adminB.getByLabel('New password', { exact: true }).fill('a new password for pat.x')
    await adminB.getByLabel('Repeat the new password').fill('a new password for pat.x')
    await adminB.getByRole('button', { name: 'Start assisted recovery' }).click()
    await adminB.getByText('The request is on the ledger.').waitFor({ timeout: 60_000 })
    return (await adminB.getByTestId('assisted-code').textContent())?.trim() ?? ''
  }
  assert.match(await start('pat.x.stolen'), /^([0-9A-Z]{4}-){4}[0-9A-Z]{4}$/)
  await screenshot(adminB, 'assisted-recovery-started-at-b')
  await untilLedger(A.peer.ledger, async () => (await A.peer.ledger.queries.rekeys.from(fromHex(patientId), Date.now())).length === 1, 'the request at A', 30_000)
  await reopen(patient)
  await patient.getByRole('heading', { name: /Request to move your records/ }).waitFor({ timeout: 30_000 })
  await screenshot(patient, 'assisted-recovery-old-device-sees-it')
  await patient.getByRole('button', { name: 'Veto this request' }).click()
  await patient.getByText('Vetoed: your records stay with this key.').waitFor({ timeout: 30_000 })

  // The real one: co-signed at A after its own check, in effect after the waiting period.
  await reopen(adminB)
  await start('pat.x.new')
  const rewrapped = withTimeout(new Promise<void>(resolve => A.peer.patientRekeys.addEventListener(REKEY_REWRAPPED, () => { resolve() }, { once: true })), 60_000, 're-wrap at A')
  await untilLedger(A.peer.ledger, async () => (await A.peer.ledger.queries.rekeys.from(fromHex(patientId), Date.now())).length === 2, 'the second request at A', 30_000)
  await reopen(adminA)
  await adminA.locator('tr[data-status=cosigning]').getByRole('button', { name: /Co-sign/ }).click()
  await adminA.getByText('Co-signed.').waitFor({ timeout: 20_000 })
  await screenshot(adminA, 'assisted-recovery-cosigned-at-a')
  await rewrapped
  const fresh = await browser.page(`${B.url}/app/sign-in`)
  await signInInPage(fresh, 'pat.x.new', 'a new password for pat.x')
  await fresh.locator('mc-thumbnail canvas[data-state=shown]').waitFor({ timeout: 60_000 })
  await screenshot(fresh, 'assisted-recovery-new-key-opens-images')
})

test.run()
