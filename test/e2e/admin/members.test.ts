// The admin console's membership page (issue 5) on two real hospitals: A's admin proposes
// admitting a new hospital through the form, B's admin sees the proposal once it has replicated
// and approves it with the button, and both pages then list the newcomer as an active member.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { testIdentity } from '../../helpers/ledger/fixture.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { adminOf, expectCode } from '../flows.ts'
import { offHostRequests, screenshot, networkSuite } from '../harness.ts'

const { it, setup, launch } = networkSuite(test, { hospitals: 2 })

it('an admin proposes admitting a hospital, the other admin approves it in the browser', async () => {
  const { net } = setup()
  const [A, B] = net.hospitals
  const b = await launch()
  const newcomer = toHex(testIdentity(9).publicKey)
  const adminA = await adminOf(b, A, 'admin.a')
  const adminB = await adminOf(b, B, 'admin.b')

  await adminA.getByRole('link', { name: 'Members' }).click()
  await adminA.getByLabel('Member key (hex)').fill('not hex')
  await adminA.getByLabel('Name', { exact: true }).fill('Hospital Z')
  await adminA.getByRole('button', { name: 'Propose' }).click()
  await adminA.getByText('The member key is 64 hexadecimal digits').waitFor()
  await adminA.getByLabel('Member key (hex)').fill(toHex(B.peer.ledger.self))
  await adminA.getByRole('button', { name: 'Propose' }).click()
  await expectCode(adminA, 'CONFLICT')
  await adminA.getByLabel('Member key (hex)').fill(newcomer)
  await adminA.getByLabel('Multiaddrs (one per line)').fill('/ip4/127.0.0.1/tcp/4001')
  await adminA.getByRole('button', { name: 'Propose' }).click()
  await adminA.getByText('Admission of Hospital Z proposed.').waitFor()
  await adminA.locator('tr[data-proposal]', { hasText: 'Hospital Z' }).getByText('voted').waitFor()

  await waitFor(async () => (await B.peer.ledger.queries.proposals()).length === 1, { timeout: 20_000, what: 'the proposal to reach B' })
  await adminB.getByRole('link', { name: 'Members' }).click()
  await adminB.getByRole('button', { name: 'Approve admitting Hospital Z' }).click()
  await adminB.getByText('Approval recorded.').waitFor()
  await adminB.locator(`tr[data-member="${newcomer}"]`, { hasText: 'active' }).waitFor()
  await screenshot(adminB, 'admin-members')

  await waitFor(() => A.peer.ledger.members().some(m => toHex(m.key) === newcomer && m.status === 'active'), { timeout: 20_000, what: 'the newcomer active at A' })
  // Leave and come back (a reload would lock the vault and ask for the password).
  await adminA.getByRole('link', { name: 'Node status' }).click()
  await adminA.getByRole('link', { name: 'Members' }).click()
  await adminA.locator(`tr[data-member="${newcomer}"]`, { hasText: 'active' }).waitFor()
  assert.equal(offHostRequests(b.requests), [])
  // Refused requests (the 401 of the setup page's session check, the 409 above) log as failed loads.
  assert.equal(b.problems.filter(p => !p.startsWith('Failed to load resource')), [])
})

test.run()
