// The password never leaves the client: it seals the vault, and the peer receives only a
// secret derived from it. Checked on the wire against a real peer, plus the derivation itself.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkPassword, deriveAuthSecret } from '../../../protocol/crypto/auth-secret.ts'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, TEST_VAULT_ITERATIONS } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

test('the derivation is deterministic per username and password, and distinct otherwise', async () => {
  const a = await deriveAuthSecret('alice', 'a long enough password', 1000)
  assert.match(a, /^[0-9a-f]{64}$/)
  assert.is(await deriveAuthSecret('Alice', 'a long enough password', 1000), a, 'usernames are case-folded')
  assert.is.not(await deriveAuthSecret('bob', 'a long enough password', 1000), a)
  assert.is.not(await deriveAuthSecret('alice', 'a long enough passwore', 1000), a)
  assert.is.not(await deriveAuthSecret('alice', 'a long enough password', 1001), a)
})

test('the password policy is enforced in the client', async () => {
  throwsCode(() => checkPassword('short'), 'WEAK_PASSWORD')
  throwsCode(() => checkPassword('x'.repeat(129)), 'WEAK_PASSWORD')
  assert.is(checkPassword('é'.repeat(12)), 'é'.repeat(12))
  await rejects(async () => await deriveAuthSecret('alice', 'eleven char', 1000), 'WEAK_PASSWORD')
})

test('sign-up and sign-in never put the password on the wire', async () => {
  hospitals = await startHospitals(1)
  const bodies: string[] = []
  const recording: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string') bodies.push(init.body)
    return await fetch(input, init)
  }
  const password = 'the quick brown fox jumps'
  const c = new MedichainClient({ baseUrl: hospitals[0].url, fetch: recording, vaultIterations: TEST_VAULT_ITERATIONS })
  await c.signUp({ username: 'carol', password, role: 'patient' })
  await c.signIn('carol', password)
  assert.ok(c.keys !== null, 'the vault opened with the password')
  assert.ok(bodies.length >= 2)
  for (const body of bodies) assert.not.match(body, password)
})

test.run()
