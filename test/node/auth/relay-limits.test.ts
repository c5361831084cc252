// Issue 18: a brute force relayed through C meets A's own limits. Guesses through C count in A's
// windows (per relaying client and username: RATE_LIMITED with Retry-After) and in A's run of
// consecutive failures, which locks the username at A itself: the right password is then refused
// through C and at A's own front door alike.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { ApiError } from '../../../protocol/client/client.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { client, startHospitals, stopHospitals } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { fromHex } from '../../../protocol/bytes.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const PASSWORD = 'pat has a long password'

async function patientAt (home: Hospital, other: Hospital): Promise<void> {
  const { patientId } = await client(home.url).signUp({ username: 'pat', password: PASSWORD, role: 'patient' })
  await untilLedger(other.peer.ledger, async () => await other.peer.ledger.queries.patientAccount(fromHex(patientId as string)) !== undefined, 'registration at C')
}

test('guesses through C hit A\'s per-client window', async () => {
  // Only A's limits are small: C's own would not stop anything here.
  hospitals = await startHospitals(3, { limits: (n) => n === 1 ? { perClientAccount: 3 } : undefined })
  const [A, , C] = hospitals
  await patientAt(A, C)
  for (let i = 0; i < 3; i++) await rejects(async () => await client(C.url).signInAnywhere('pat@a', `wrong guess number ${i}!`), 'BAD_CREDENTIALS')
  const err = await rejects(async () => await client(C.url).signInAnywhere('pat@a', PASSWORD), 'RATE_LIMITED') as ApiError
  assert.is(err.status, 429)
  assert.ok(err.retryAfter !== null && err.retryAfter > 0, 'Retry-After from A reaches the patient')
  // The window is A's per (relaying client, username): A's own front door still works.
  await client(A.url).signIn('pat', PASSWORD)
})

test('a run of failures through C locks the username at A', async () => {
  hospitals = await startHospitals(3, { limits: (n) => n === 1 ? { perClientAccount: 100, lockoutAfter: 4 } : undefined })
  const [A, , C] = hospitals
  await patientAt(A, C)
  for (let i = 0; i < 4; i++) await rejects(async () => await client(C.url).signInAnywhere('pat@a', `wrong guess number ${i}!`), 'BAD_CREDENTIALS')
  await rejects(async () => await client(C.url).signInAnywhere('pat@a', PASSWORD), 'ACCOUNT_LOCKED')
  await rejects(async () => await client(A.url).signIn('pat', PASSWORD), 'ACCOUNT_LOCKED')
  assert.ok(A.peer.relay.grants() === 0, 'no grant was issued')
  // An admin's unlock at A ends the lockout for the relay too.
  await A.admin.request('POST', '/api/accounts/pat/unlock')
  const me = await client(C.url).signInAnywhere('pat@a', PASSWORD)
  assert.is(me.remote?.hospitalName, 'Hospital A')
})

test.run()
