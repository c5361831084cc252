// The shared patient portal in headless Chromium on a real 3-hospital network (issue 18): a
// patient who signed up at A opens C's sign-in page, types `pat@a`, and sees the banner naming the
// home hospital, the images held at A and at B decrypted in the page, unlocks again after a reload
// (through A, since C keeps no vault), grants hospital B from C,
// sees "signed in at Hospital C" in who-viewed, and signs out. A wrong password through C gets
// A's refusal; with A down the page says the home hospital cannot be reached, picked from the list.
import { multiaddr } from '@multiformats/multiaddr'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex } from '../../../protocol/bytes.ts'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { expectCode } from '../flows.ts'
import { browserSuite, offHostRequests, phantomPng, screenshot, signInInPage, TEST_VAULT_ITERATIONS } from '../harness.ts'
import type { Hospital } from '../harness.ts'

const { it, setup } = browserSuite(test, { hospitals: 3 })

const PASSWORD = 'pat has a long password'
const sdk = (h: Hospital): MedichainClient => new MedichainClient({ baseUrl: h.url, vaultIterations: TEST_VAULT_ITERATIONS })

/** The hospital's admin (through its setup link) and an approved clinician, both through the SDK. */
async function clinicianAt (h: Hospital, name: string): Promise<MedichainClient> {
  const token = new URL(h.peer.auth.setupLink(h.url) ?? '').hash.replace(/^#token=/, '')
  const admin = sdk(h)
  await admin.signUp({ username: `admin-${name}`, password: PASSWORD, role: 'admin', setupToken: token })
  await admin.signIn(`admin-${name}`, PASSWORD)
  const doc = sdk(h)
  await doc.signUp({ username: name, password: PASSWORD, role: 'clinician' })
  await admin.approve(name)
  await doc.signIn(name, PASSWORD)
  return doc
}

it('a patient of A uses the portal at C, and C says so when A is down', async () => {
  const { net, browser: b } = setup()
  const [A, B, C] = net.hospitals
  // The e2e network dials every hospital into A only: C fetches B's ciphertext over its own link.
  await C.peer.p2p.libp2p.dial(multiaddr(B.peer.p2p.addresses()[0]))
  const { patientId } = await sdk(A).signUp({ username: 'pat', password: PASSWORD, role: 'patient' })
  const id = patientId as string
  const docA = await clinicianAt(A, 'dr.a')
  const docB = await clinicianAt(B, 'dr.b')
  await waitFor(async () => await B.peer.ledger.queries.patientAccount(fromHex(id)) !== undefined, { timeout: 20_000, what: 'the registration at B' })
  await docA.upload(id, phantomPng(1), 'a.png')
  await docB.upload(id, phantomPng(2), 'b.png')
  await waitFor(async () => (await C.peer.ledger.queries.imagesOf(fromHex(id))).length === 2, { timeout: 20_000, what: 'both images at C' })

  // A wrong password through C: A's refusal, in C's page.
  const page = await b.page(`${C.url}/app/sign-in`)
  await page.getByLabel('Your home hospital').waitFor()
  await signInInPage(page, 'pat@a', 'not the password of pat')
  await expectCode(page, 'BAD_CREDENTIALS')

  await signInInPage(page, 'pat@a', PASSWORD)
  await page.waitForURL('**/app/patient/images', { timeout: 60_000 })
  await page.getByTestId('remote-banner').getByText('Hospital A').waitFor()
  await waitFor(async () => await page.locator('mc-thumbnail canvas[data-state=shown]').count() === 2, { timeout: 30_000, what: 'A\'s and B\'s images decrypted in C\'s page' })
  await screenshot(page, 'shared-portal-images')

  // A reload keeps C's session but not the keys: the password opens them again, through A.
  await page.reload()
  await page.getByRole('heading', { name: 'Your vault is locked' }).waitFor()
  await page.getByLabel('Password for pat').fill(PASSWORD)
  await page.getByRole('button', { name: 'Unlock' }).click()
  await waitFor(async () => await page.locator('mc-thumbnail canvas[data-state=shown]').count() === 2, { timeout: 30_000, what: 'the images again after unlocking through A' })

  await page.getByRole('link', { name: 'Consents' }).click()
  await page.getByLabel('Hospital', { exact: true }).selectOption({ label: 'Hospital B' })
  await page.getByRole('button', { name: 'Grant consent' }).click()
  await page.getByText('Consent granted').waitFor({ timeout: 20_000 })
  await waitFor(async () => (await B.peer.ledger.queries.consentsOf(fromHex(id))).some(c => c.action === 'grant'), { timeout: 20_000, what: 'B to see the consent granted at C' })
  await screenshot(page, 'shared-portal-consents')

  await page.getByRole('link', { name: 'Who viewed my images' }).click()
  await page.getByTestId('sign-ins').waitFor({ timeout: 20_000 })
  assert.is(await page.getByTestId('sign-ins').getByText('Hospital C').count(), 2, 'the sign-in and the unlock after the reload')
  await screenshot(page, 'shared-portal-sign-ins')

  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  await waitFor(() => A.peer.relay.grants() === 0, { timeout: 10_000, what: 'A to drop the grant' })

  // A goes down: the patient picks A from the list and is told it cannot be reached.
  await A.peer.stop()
  await page.getByLabel('Username').fill('pat')
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByLabel('Your home hospital').selectOption({ label: 'Hospital A' })
  await page.getByRole('button', { name: 'Sign in' }).click()
  await expectCode(page, 'HOME_UNREACHABLE')
  await screenshot(page, 'shared-portal-home-offline')
  assert.equal(offHostRequests(b.requests), [], 'the page reached nothing but its own hospital')
  assert.equal(b.problems.filter(p => !p.includes('503') && !p.includes('401')), [], 'no page errors')
})

test.run()
