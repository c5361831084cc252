// Accessibility of every main page (issue 5: "labelled controls, keyboard navigation, visible
// focus, sufficient contrast; usable at 375 px width"), audited in headless Chromium on a real
// peer: WCAG 2.2 contrast of every visible text against its composited background (4.5:1, or
// 3:1 for large text), a visible focus indicator with 3:1 on every control Tab reaches (and Tab
// reaching every control), a 3:1 boundary on text fields, an accessible name on every control,
// and no sideways scrolling at 375 px. The audit itself is test/e2e/a11y.ts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { Page } from 'playwright-core'
import { auditContrast, auditFocus, overflow, unnamed, weakBoundaries } from './a11y.ts'
import { adminOf, clinicianOf, findPatient, patientOf } from './flows.ts'
import { PASSWORD, browserSuite, phantomPng, signInInPage } from './harness.ts'
import type { Network, TestBrowser } from './harness.ts'

/** Pages kept between tests: the patient's portal and the admin console. */
const pages: Record<string, Page> = {}
/** Texts the audit could not judge (background images, unreadable colours): listed, not failed. */
const unjudged = new Set<string>()
/** Texts checked on the last page audited, for the log. */
let checked = 0

const { it, setup: started } = browserSuite(test, {
  hospitals: 1,
  after () {
    if (unjudged.size > 0) process.stdout.write(`a11y: could not judge ${unjudged.size} text(s):\n  ${[...unjudged].join('\n  ')}\n`)
  }
})

function setup (): { url: string, b: TestBrowser, net: Network } {
  const { net, browser } = started()
  return { url: net.hospitals[0].url, b: browser, net }
}

/** The contrast problems of the page as it is now, as lines. */
async function contrastProblems (page: Page, name: string): Promise<string[]> {
  const report = await auditContrast(page)
  assert.ok(report.checked > 0, `${name}: the audit found text to check`)
  checked = report.checked
  for (const u of report.unjudged) unjudged.add(`${name}: "${u.text}" at ${u.where}: ${u.why}`)
  return report.failures.map(f => `${name}: "${f.text}" has ${f.ratio}:1, needs ${f.required}:1 (${f.fg} on ${f.bg}) at ${f.where}`)
}

/**
 * Every check on the page as it is now: contrast, names and field boundaries at the page's own
 * width; overflow and contrast again at 375 px; then one Tab round for focus. Returns problems.
 */
async function audit (page: Page, name: string): Promise<string[]> {
  const problems = await contrastProblems(page, name)
  problems.push(...(await unnamed(page)).map(w => `${name}: no accessible name: ${w}`))
  problems.push(...(await weakBoundaries(page)).map(p => `${name}: ${p.where}: ${p.why}`))
  const size = page.viewportSize() ?? { width: 1100, height: 900 }
  await page.setViewportSize({ width: 375, height: 800 })
  await page.waitForFunction(() => innerWidth === 375)
  const wide = await overflow(page)
  if (wide !== null) problems.push(`${name}: at 375 px the page is ${wide.scrollWidth} px wide: ${wide.widest.join(', ')}`)
  problems.push(...await contrastProblems(page, `${name} (375 px)`))
  await page.setViewportSize(size)
  const focus = await auditFocus(page)
  process.stdout.write(`a11y: ${name}: ${checked} texts, ${focus.stops} tab stops\n`)
  if (focus.stops === 0) problems.push(`${name}: Tab reached no control`)
  problems.push(...focus.failures.map(f => `${name}: ${f.where}: ${f.why}`))
  return [...new Set(problems)]
}

/** Audits each page and fails once with every problem found. */
async function expectAccessible (checks: Array<[string, Page, () => Promise<unknown>]>): Promise<void> {
  const problems: string[] = []
  for (const [name, page, ready] of checks) {
    await ready()
    problems.push(...await audit(page, name))
  }
  assert.equal(problems, [], `\n${problems.join('\n')}\n`)
}

/** Clicks a header link and waits for `loaded` (a playwright selector) to show the page is there. */
function tab (page: Page, link: string, loaded: string): () => Promise<void> {
  return async () => {
    await page.getByRole('link', { name: link, exact: true }).click()
    await page.locator(loaded).first().waitFor()
  }
}

it('sign-up and sign-in, with an error shown', async () => {
  const { url, b } = setup()
  const page = await b.page(`${url}/app/sign-up`)
  await expectAccessible([
    ['sign-up', page, async () => { await page.getByRole('heading', { name: 'Create an account' }).waitFor() }],
    ['sign-in', page, async () => {
      await page.getByRole('link', { name: 'Sign in' }).click()
      await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    }],
    ['sign-in error', page, async () => {
      await signInInPage(page, 'nobody.here', 'not the right password')
      await page.locator('[role=alert][data-code]').waitFor()
    }],
    ['recover with the code', page, async () => {
      await page.getByRole('link', { name: 'Use your recovery code' }).click()
      await page.getByRole('heading', { name: 'Set a new password with your recovery code' }).waitFor()
    }]
  ])
})

it('patient portal: images, id, consents (with one granted), audit, credit, locked vault', async () => {
  const { b, net } = setup()
  const { page } = await patientOf(b, net.hospitals[0], 'pat.a11y')
  pages.patient = page
  await expectAccessible([
    ['patient my id', page, async () => { await page.getByTestId('patient-id').waitFor() }],
    ['patient images', page, tab(page, 'My images', 'text=No images yet.')],
    ['patient consents', page, async () => {
      await tab(page, 'Consents', 'text=You have not granted any consent.')()
      await page.getByLabel('Hospital', { exact: true }).selectOption({ label: 'Hospital A (this hospital)' })
      await page.getByRole('button', { name: 'Grant consent' }).click()
      await page.locator('tr[data-status=active]').waitFor()
    }],
    ['patient consent form, one person and chosen images', page, async () => {
      await page.getByLabel('one clinician or researcher').check()
      await page.getByLabel('only these:').check()
      await page.getByLabel('Search by name').waitFor()
      await page.getByText('Paste a key instead').click()
      await page.getByLabel('Their key').waitFor()
    }],
    ['patient audit', page, tab(page, 'Who viewed my images', 'text=Nobody else has viewed your images.')],
    ['patient credit', page, tab(page, 'Credit score', '[data-testid=credit-score]')],
    ['my account', page, tab(page, 'My account', 'text=Change the password')],
    ['vault locked', page, async () => {
      await page.getByRole('button', { name: 'Lock' }).click()
      await page.getByRole('heading', { name: 'Your vault is locked' }).waitFor()
    }]
  ])
  await page.getByLabel(/Password for/).fill(PASSWORD)
  await page.getByRole('button', { name: 'Unlock' }).click()
  await page.locator('main h1').first().waitFor()
})

it('clinician: find a patient, upload, images, viewer with its ground truth; the patient sees them', async () => {
  const { b, net } = setup()
  const [h] = net.hospitals
  const admin = await adminOf(b, h, 'admin.a11y')
  pages.admin = admin
  const patient = pages.patient
  assert.ok(patient !== undefined, 'the patient test ran')
  await patient.getByRole('link', { name: 'My id' }).click()
  const patientId = (await patient.getByTestId('patient-id').textContent())?.trim() ?? ''
  const page = await clinicianOf(b, h, admin, 'dr.a11y')
  await expectAccessible([
    ['clinician find', page, async () => { await page.getByLabel('Patient id').waitFor() }],
    ['clinician find, bad id', page, async () => {
      await page.getByLabel('Patient id').fill('not an id')
      await page.getByRole('button', { name: 'Find patient' }).click()
      await page.locator('.field-error').waitFor()
    }],
    ['clinician patient', page, async () => {
      await findPatient(page, patientId)
      await page.locator('input#files').setInputFiles({ name: 'scan.png', mimeType: 'image/png', buffer: Buffer.from(phantomPng(3)) })
      await page.locator('li[data-state=done]').waitFor()
      await page.locator('mc-thumbnail canvas[data-state=shown]').waitFor()
    }],
    ['viewer', page, async () => {
      await page.getByRole('link', { name: /^Open the .* image/ }).first().click()
      await page.locator('.panes[data-state=shown]').waitFor()
    }],
    ['viewer, ground truth refused (wrong size)', page, async () => {
      await page.getByLabel(/^Mask image/).setInputFiles({ name: 'small.png', mimeType: 'image/png', buffer: Buffer.from(phantomPng(3, 32)) })
      await page.getByRole('button', { name: 'Save ground truth' }).click()
      await page.locator('[role=alert][data-code=LABEL_MISMATCH]').waitFor()
    }],
    ['viewer, ground truth saved', page, async () => {
      await page.getByLabel(/^Mask image/).setInputFiles({ name: 'mask.png', mimeType: 'image/png', buffer: Buffer.from(phantomPng(3)) })
      await page.getByRole('button', { name: 'Save ground truth' }).click()
      await page.locator('mc-label-panel section[data-state=labelled]').waitFor()
    }],
    ['patient images, one image', patient, tab(patient, 'My images', 'mc-thumbnail canvas[data-state=shown]')],
    ['patient audit, one access', patient, tab(patient, 'Who viewed my images', 'li[data-basis]')]
  ])
})

it('admin console: status, members, accounts, ledger, proof, federated learning with its training data', async () => {
  const page = pages.admin
  assert.ok(page !== undefined, 'the clinician test ran')
  const task = {
    id: 'task-1', status: 'done', coordinator: 'aa'.repeat(32), created: Date.now(),
    rounds: [1, 2, 3].map(round => ({ round, valLoss: 1 / round, dice: 0.3 * round, participants: [{ hospital: 'bb'.repeat(32), name: 'Hospital A', samples: 40 }], durationMs: 1500 })),
    model: { cid: 'bafkreibqbw6akmsfmdwx7apfd3d3hikkgh52kasn4vbajilkom6htpuvsm', round: 3, dice: 0.9, loss: 0.33 }
  }
  await expectAccessible([
    ['admin status', page, tab(page, 'Node status', 'text=Up for')],
    ['admin members', page, tab(page, 'Members', 'tr[data-member]')],
    ['admin accounts', page, tab(page, 'Accounts', 'tr[data-username="dr.a11y"]')],
    ['admin ledger', page, async () => {
      await tab(page, 'Ledger', 'details summary')()
      await page.locator('details summary').first().click()
      await page.locator('a[data-type]').first().waitFor()
    }],
    ['admin transaction, verified', page, async () => {
      await page.locator('a[data-type]').first().click()
      await page.getByRole('button', { name: 'Verify inclusion proof' }).click()
      await page.locator('[data-result=verified]').waitFor()
    }],
    ['admin recovery and emergencies', page, tab(page, 'Recovery and emergencies', 'text=Requests about our patients')],
    ['admin federated learning', page, tab(page, 'Federated learning', 'text=No tasks yet.')],
    ['admin federated learning task', page, async () => {
      await page.route('**/api/fl/tasks', async route => { await route.fulfill({ json: { tasks: [task] } }) })
      await page.route('**/api/fl/tasks/task-1', async route => { await route.fulfill({ json: task }) })
      await page.getByRole('link', { name: 'Node status', exact: true }).click()
      await page.getByRole('link', { name: 'Federated learning', exact: true }).click()
      await page.getByRole('link', { name: 'task-1' }).click()
      await page.locator('mc-line-chart polyline').nth(1).waitFor()
    }]
  ])
  await page.unroute('**/api/fl/tasks')
  await page.unroute('**/api/fl/tasks/task-1')
})

test.run()
