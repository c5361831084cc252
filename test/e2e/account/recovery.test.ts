// The recovery code and the password change in the browser (issue 16.1, 16.2): the code is shown
// once after sign-up with a print button; a password change in one browser signs the other one
// out; the code sets a new password after a wrong code is refused, then is shown anew, and the
// used code and too many attempts are refused with their own codes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { expectCode } from '../flows.ts'
import { PASSWORD, browserSuite, screenshot, signInInPage } from '../harness.ts'

const { it, setup } = browserSuite(test, { hospitals: 1 })

const NEW_PASSWORD = 'a brand new passphrase'
const RECOVERED = 'the password after recovery'

async function recoverInPage (page: Page, username: string, code: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username)
  await page.getByLabel('Recovery code').fill(code)
  await page.getByLabel('New password', { exact: true }).fill(password)
  await page.getByLabel('Repeat the new password').fill(password)
  await page.getByRole('button', { name: 'Set the new password' }).click()
}

it('recovery code shown once; password change signs the other browser out; wrong, right, used code; rate limit', async () => {
  const { net, browser } = setup()
  const url = net.hospitals[0].url
  const page = await browser.page(`${url}/app/sign-up`)
  await page.getByLabel('Username').fill('pat.forgets')
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
  await page.getByLabel('Repeat the password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Create account' }).click()
  const shown = page.getByTestId('recovery-code')
  await shown.waitFor({ timeout: 120_000 })
  const code = (await shown.textContent())?.trim() ?? ''
  assert.match(code, /^([0-9A-Z]{4}-){4}[0-9A-Z]{4}$/)
  await page.getByRole('button', { name: 'Print the code' }).waitFor()
  assert.ok(await page.getByRole('button', { name: 'Continue' }).isDisabled(), 'Continue waits until the code is saved')
  await screenshot(page, 'recovery-code-at-sign-up')
  await page.getByLabel('I have written down or printed this code').check()
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.getByRole('heading', { name: 'My images' }).waitFor()
  // Shown once: a reload and unlock never show it again.
  await page.reload()
  await page.getByLabel(/Password for/).fill(PASSWORD)
  await page.getByRole('button', { name: 'Unlock' }).click()
  await page.getByRole('heading', { name: 'My images' }).waitFor()
  assert.is(await page.getByTestId('recovery-code').count(), 0)

  // A second browser (the patient's phone) is signed in too.
  const phone = await browser.page(`${url}/app/sign-in`)
  await signInInPage(phone, 'pat.forgets')
  await phone.getByRole('heading', { name: 'My images' }).waitFor()

  await page.getByRole('link', { name: 'My account' }).click()
  await page.getByLabel('Current password').fill('not the password at all')
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
  await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD)
  await page.getByRole('button', { name: 'Change the password' }).click()
  await expectCode(page, 'BAD_CREDENTIALS')
  await page.getByLabel('Current password').fill(PASSWORD)
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
  await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD)
  await page.getByRole('button', { name: 'Change the password' }).click()
  await page.getByText('Your password is changed').waitFor({ timeout: 60_000 })
  await screenshot(page, 'password-changed')
  // The phone's session ended: its next request lands on sign-in.
  await phone.getByRole('link', { name: 'Consents' }).click()
  await phone.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 30_000 })
  // This browser's keys open under the new password only.
  await page.getByRole('button', { name: 'Lock' }).click()
  await page.getByLabel(/Password for/).fill(PASSWORD)
  await page.getByRole('button', { name: 'Unlock' }).click()
  await expectCode(page, 'BAD_PASSWORD')
  await page.getByLabel(/Password for/).fill(NEW_PASSWORD)
  await page.getByRole('button', { name: 'Unlock' }).click()
  await page.getByRole('heading', { name: 'My account' }).waitFor()
  await page.getByRole('button', { name: 'Sign out' }).click()

  // Forgotten: the recovery code, typed loosely, sets a new password.
  await page.getByRole('link', { name: 'Use your recovery code' }).click()
  await recoverInPage(page, 'pat.forgets', 'ABCD-EFGH-JKMN-PQRS-TVWX', RECOVERED)
  await expectCode(page, 'BAD_RECOVERY_CODE')
  await screenshot(page, 'recovery-wrong-code')
  await recoverInPage(page, 'pat.forgets', code.toLowerCase().replace(/-/g, ' '), RECOVERED)
  const next = page.getByTestId('recovery-code')
  await next.waitFor({ timeout: 120_000 })
  const newCode = (await next.textContent())?.trim() ?? ''
  assert.ok(newCode !== code && newCode.length === code.length, 'a new code replaces the used one')
  await screenshot(page, 'recovery-new-code')
  await page.getByLabel('I have written down or printed this code').check()
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.getByRole('heading', { name: 'My images' }).waitFor()
  await page.getByRole('button', { name: 'Sign out' }).click()

  await page.goto(`${url}/app/recover`)
  await recoverInPage(page, 'pat.forgets', code, 'one more new passphrase')
  await expectCode(page, 'RECOVERY_CODE_USED')
  // The peer allows 5 failed attempts per account and client in 15 minutes, then 429 with a wait.
  for (let i = 0; i < 8; i++) {
    await recoverInPage(page, 'pat.forgets', 'ABCD-EFGH-JKMN-PQRS-TVWX', 'one more new passphrase')
    await page.locator('button[type=submit]:not([disabled])').waitFor()
    if (await page.locator('[data-code=RATE_LIMITED]').count() > 0) break
  }
  const note = page.locator('[role=alert][data-code=RATE_LIMITED]')
  await note.waitFor()
  assert.match(await note.textContent() ?? '', /Try again in \d+ minutes?/)
  await screenshot(page, 'recovery-rate-limited')
  // The new code still signs in with the password it set.
  await page.goto(`${url}/app/sign-in`)
  await signInInPage(page, 'pat.forgets', RECOVERED)
  await page.getByRole('heading', { name: 'My images' }).waitFor()
})

test.run()
