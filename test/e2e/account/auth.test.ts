// Accounts in the browser (issue 5): the errors a person needs on sign-up and sign-in (weak
// password, taken username, wrong password, rate limited with the wait, pending approval), the
// vault locking after 30 minutes idle and on reload, sign-out, keyboard use with a visible focus,
// labelled controls, and pages that fit a 375 px wide phone.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { expectCode, patientOf } from '../flows.ts'
import { PASSWORD, browserSuite, offHostRequests, screenshot, signInInPage, signUpInPage } from '../harness.ts'
import type { Network, TestBrowser } from '../harness.ts'

const { it, setup: started } = browserSuite(test, { hospitals: 1 })

function setup (): { url: string, b: TestBrowser, net: Network } {
  const { net, browser } = started()
  return { url: net.hospitals[0].url, b: browser, net }
}

/** Controls on the page without an accessible name (a label, aria-label or aria-labelledby). */
async function unlabelled (page: Page): Promise<string[]> {
  return await page.locator('input:not([type=hidden]):not([hidden]), select, textarea').evaluateAll((els) => els
    .filter(el => {
      const c = el as HTMLInputElement
      return (c.labels === null || c.labels.length === 0) && !c.hasAttribute('aria-label') && !c.hasAttribute('aria-labelledby')
    })
    .map(el => el.outerHTML.slice(0, 80)))
}

it('sign-up and sign-in errors: weak password, taken username, wrong password, rate limited', async () => {
  const { url, b } = setup()
  const page = await b.page(`${url}/app/sign-up`)
  await signUpInPage(page, 'pat.weak', 'patient', 'short')
  await expectCode(page, 'WEAK_PASSWORD')
  assert.equal(await unlabelled(page), [])

  await signUpInPage(page, 'pat.taken', 'patient')
  await page.waitForURL('**/app/patient/images')
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  await page.getByRole('link', { name: 'Create an account' }).click()
  await signUpInPage(page, 'pat.taken', 'patient')
  await expectCode(page, 'USERNAME_TAKEN')

  await page.getByRole('link', { name: 'Sign in' }).click()
  await screenshot(page, 'sign-in')
  assert.equal(await unlabelled(page), [])
  await signInInPage(page, 'pat.taken', 'wrong password here')
  await expectCode(page, 'BAD_CREDENTIALS')
  // The peer allows 5 failures per username in 15 minutes; then it answers 429 with Retry-After.
  for (let i = 0; i < 8; i++) {
    await signInInPage(page, 'pat.taken', 'wrong password here')
    await page.locator('button[type=submit]:not([disabled])').waitFor()
    if (await page.locator('[data-code=RATE_LIMITED]').count() > 0) break
  }
  const note = page.locator('[role=alert][data-code=RATE_LIMITED]')
  await note.waitFor()
  assert.match(await note.textContent() ?? '', /Try again in \d+ minutes?/)
})

it('the vault locks after 30 minutes idle and on reload; unlock and sign out', async () => {
  const { url, b } = setup()
  const page = await b.page(`${url}/app/sign-up`, { clock: true })
  await signUpInPage(page, 'pat.idle', 'patient')
  await page.waitForURL('**/app/patient/images')
  await page.clock.fastForward('29:00')
  assert.is(await page.getByRole('heading', { name: 'Your vault is locked' }).count(), 0, 'not locked before 30 minutes')
  await page.clock.fastForward('02:00')
  await page.getByRole('heading', { name: 'Your vault is locked' }).waitFor()
  await screenshot(page, 'vault-locked')
  await page.getByLabel(/Password for/).fill('not my password at all')
  await page.getByRole('button', { name: 'Unlock' }).click()
  await expectCode(page, 'BAD_PASSWORD')
  await page.getByLabel(/Password for/).fill(PASSWORD)
  await page.getByRole('button', { name: 'Unlock' }).click()
  await page.getByRole('heading', { name: 'My images' }).waitFor()

  // A reload keeps the session cookie but never the keys.
  await page.reload()
  await page.getByRole('heading', { name: 'Your vault is locked' }).waitFor()
  await page.getByLabel(/Password for/).fill(PASSWORD)
  await page.getByRole('button', { name: 'Unlock' }).click()
  await page.getByRole('heading', { name: 'My images' }).waitFor()

  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  await page.goBack()
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  await page.goto(`${url}/app/patient/consents`)
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
})

it('keyboard only: sign in with Tab and Enter, the focus ring is visible', async () => {
  const { url, b, net } = setup()
  const made = await patientOf(b, { ...net.hospitals[0] }, 'pat.keys')
  await made.page.close()
  const page = await b.page(`${url}/app/sign-in`)
  await page.getByLabel('Username').waitFor()
  await page.keyboard.press('Tab')
  await page.keyboard.press('Tab')
  const focused = async (): Promise<string> => await page.evaluate(() => {
    let el: Element | null = document.activeElement
    while (el?.shadowRoot?.activeElement != null) el = el.shadowRoot.activeElement
    return el === null ? '' : `${el.tagName.toLowerCase()}#${el.id}`
  })
  // Tab order: skip link, then the username field.
  assert.is(await focused(), 'input#username')
  await page.keyboard.type('pat.keys')
  await page.keyboard.press('Tab')
  assert.is(await focused(), 'input#password')
  const ring = await page.getByLabel('Password').evaluate((el) => getComputedStyle(el).outlineStyle)
  assert.is.not(ring, 'none', 'the focused field shows an outline')
  await page.keyboard.type(PASSWORD)
  await page.keyboard.press('Enter')
  await page.waitForURL('**/app/patient/images')
})

it('patient pages fit a 375 px screen', async () => {
  const { url, b } = setup()
  const page = await b.page(`${url}/app/sign-up`, { width: 375 })
  await signUpInPage(page, 'pat.phone', 'patient')
  await page.waitForURL('**/app/patient/images')
  const tabs: Array<[string, string]> = [['images', 'My images'], ['id', 'My id'], ['consents', 'Consents'], ['audit', 'Who viewed my images'], ['credit', 'Credit score']]
  for (const [tab, link] of tabs) {
    await page.getByRole('link', { name: link, exact: true }).click()
    await page.waitForURL(`**/app/patient/${tab}`)
    await page.locator('main h1').first().waitFor()
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= 375, `${tab}: the page is ${width} px wide`)
    assert.equal(await unlabelled(page), [], `${tab}: every control has a label`)
    await screenshot(page, `mobile-patient-${tab}`)
  }
  assert.equal(offHostRequests(b.requests), [])
})

test.run()
