// The SDK's session additions the UI relies on (protocol/client/client.ts), against a real peer from
// Node: lock drops the keys and keeps the session, unlock refuses a wrong password, resume picks
// up a live session only, sign-out forgets everything, a rate limit carries its Retry-After, and
// an unreachable peer is NETWORK.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ApiError, MedichainClient, parseRetryAfter } from '../../../protocol/client/client.ts'
import { rejects } from '../../helpers/assert.ts'
import { PASSWORD, TEST_VAULT_ITERATIONS, startNetwork, stopNetwork } from '../harness.ts'
import type { Network } from '../harness.ts'

let net: Network | undefined

test.before(async () => {
  // No browser here: a web root that does not exist skips the UI build.
  net = await startNetwork(1, { webRoot: '/nonexistent' })
})

test.after(async () => { await stopNetwork(net) })

function client (): MedichainClient {
  if (net === undefined) throw new Error('setup did not run')
  return new MedichainClient({ baseUrl: net.hospitals[0].url, vaultIterations: TEST_VAULT_ITERATIONS })
}

test('lock drops the keys but keeps the session; unlock needs the right password', async () => {
  const c = client()
  await c.signUp({ username: 'sdk.pat', password: PASSWORD, role: 'patient' })
  await c.signIn('sdk.pat', PASSWORD)
  assert.ok(c.keys !== null && c.csrfToken !== null && !c.locked)
  const seed = c.keys?.signSeed
  c.lock()
  assert.is(c.keys, null)
  assert.ok(c.locked)
  assert.ok(seed?.every(b => b === 0), 'the secret bytes are overwritten, not just dropped')
  await rejects(async () => await c.grant({ grantee: 'aa'.repeat(32), kind: 'hospital', purpose: 'research', expires: Date.now() + 1e6 }), 'VAULT_LOCKED')
  assert.is((await c.myCredit()).score, 0, 'the session still answers while locked')
  await rejects(async () => await c.unlock('a wrong password entirely'), 'BAD_PASSWORD')
  assert.ok(c.locked)
  await c.unlock(PASSWORD)
  assert.ok(c.keys !== null && !c.locked)
})

test('resume finds a live session only; sign-out forgets user, keys and cookie', async () => {
  const fresh = client()
  assert.is(await fresh.resume(), null)
  assert.is(fresh.user, null)
  const c = client()
  await c.signUp({ username: 'sdk.two', password: PASSWORD, role: 'patient' })
  await c.signIn('sdk.two', PASSWORD)
  assert.is((await c.resume())?.username, 'sdk.two')
  await c.signOut()
  assert.equal([c.user, c.keys, c.csrfToken, c.locked], [null, null, null, false])
  assert.is(await c.resume(), null)
  await rejects(async () => await c.unlock(PASSWORD), 'UNAUTHENTICATED')
})

test('a rate-limited sign-in carries Retry-After in seconds', async () => {
  const c = client()
  let last: unknown
  for (let i = 0; i < 8; i++) {
    last = await c.signIn('sdk.pat', 'not the password at all').catch((err: unknown) => err)
    if (last instanceof ApiError && last.code === 'RATE_LIMITED') break
  }
  assert.instance(last, ApiError)
  if (last instanceof ApiError) {
    assert.is(last.code, 'RATE_LIMITED')
    assert.is(last.status, 429)
    assert.ok(last.retryAfter !== null && last.retryAfter > 0 && last.retryAfter <= 15 * 60)
  }
})

test('an unreachable peer is NETWORK; Retry-After parses delay-seconds only', async () => {
  const c = new MedichainClient({ baseUrl: 'http://127.0.0.1:9' })
  await rejects(async () => await c.peerInfo(), 'NETWORK')
  assert.equal(['120', ' 7 ', '0', null, '-1', '1.5', 'Wed, 21 Oct 2015 07:28:00 GMT', '1234567890'].map(v => parseRetryAfter(v)), [120, 7, 0, null, null, null, null, null])
})

test.run()
