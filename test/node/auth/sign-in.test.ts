// Sign-in and sessions over real HTTP: the payload and cookie attributes, rotation, one generic
// answer for unknown users and wrong passwords, per-account and per-IP throttling with
// Retry-After, lockout after ten failures in a row, and idle and absolute session expiry. The
// clock is moved by hand, so nothing sleeps.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { patientIdOf } from '../../../protocol/chain/tx.ts'
import { AccountStore } from '../../../node/auth/accounts/store.ts'
import { accountsPath } from '../../../node/auth/index.ts'
import { adminBrowser, call, sessionCookieOf, signIn, signUp, startAuth, stopAll } from './fixture.ts'
import type { AuthHarness } from './fixture.ts'

test.after.each(stopAll)

const PASSWORD = 'correct horse battery staple'
const MINUTE = 60_000

async function attempt (h: AuthHarness, username: string, password: string): Promise<{ status: number, code: unknown, retryAfter: string | null }> {
  const reply = await call(h.url, '/api/auth/sign-in', { json: { username, password } })
  return { status: reply.status, code: reply.body?.code, retryAfter: reply.headers.get('retry-after') }
}

test('sign-in returns the user, the vault and a CSRF token, and sets a strict HttpOnly cookie', async () => {
  const h = await startAuth()
  const { user } = await signUp(h, 'pat', 'patient')
  const reply = await call(h.url, '/api/auth/sign-in', { json: { username: 'PAT', password: PASSWORD } })
  assert.is(reply.status, 200)
  assert.equal(reply.body?.user, {
    username: 'pat',
    role: 'patient',
    status: 'active',
    signPub: toHex(user.identity.publicKey),
    boxPub: toHex(user.box),
    hospital: toHex(h.ledger.self),
    patientId: toHex(patientIdOf(user.identity.publicKey))
  })
  assert.equal(reply.body?.vault, { v: 1, kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: 1000, salt: 'AAAA' }, iv: 'AAAA', check: 'AAAA', ct: 'AAAA' })
  assert.match(String(reply.body?.csrfToken), /^[A-Za-z0-9_-]{43}$/)
  const cookies = reply.headers.getSetCookie()
  assert.is(cookies.length, 1)
  assert.match(cookies[0], /^mc_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/)
  assert.is(reply.headers.get('cache-control'), 'no-store')

  const me = await call(h.url, '/api/auth/me', { cookie: sessionCookieOf(reply) })
  assert.is(me.status, 200)
  assert.equal(me.body, reply.body)
})

test('with secureCookies the cookie is Secure', async () => {
  const h = await startAuth({ secureCookies: true })
  await signUp(h, 'pat', 'patient')
  const reply = await call(h.url, '/api/auth/sign-in', { json: { username: 'pat', password: PASSWORD } })
  assert.match(reply.headers.getSetCookie()[0], /; HttpOnly; SameSite=Strict; Secure$/)
})

test('each sign-in rotates the token and ends the session it replaces', async () => {
  const h = await startAuth()
  await signUp(h, 'pat', 'patient')
  const first = await signIn(h.url, 'pat')
  const again = await call(h.url, '/api/auth/sign-in', { json: { username: 'pat', password: PASSWORD }, cookie: first.cookie })
  assert.is(again.status, 200)
  const second = sessionCookieOf(again)
  assert.is.not(second, first.cookie)
  assert.is.not(again.body?.csrfToken, first.csrf)
  assert.is((await call(h.url, '/api/auth/me', { cookie: first.cookie })).status, 401)
  assert.is((await call(h.url, '/api/auth/me', { cookie: second })).status, 200)
  // Another browser's session is its own and stays.
  const other = await signIn(h.url, 'pat')
  assert.is((await call(h.url, '/api/auth/me', { cookie: second })).status, 200)
  assert.is((await call(h.url, '/api/auth/me', { cookie: other.cookie })).status, 200)
})

test('a wrong password and an unknown user get the same answer', async () => {
  const h = await startAuth()
  await signUp(h, 'pat', 'patient')
  const wrong = await call(h.url, '/api/auth/sign-in', { json: { username: 'pat', password: 'not the password at all' } })
  const unknown = await call(h.url, '/api/auth/sign-in', { json: { username: 'nobody', password: PASSWORD } })
  const impossible = await call(h.url, '/api/auth/sign-in', { json: { username: 'no such name!', password: PASSWORD } })
  for (const reply of [wrong, unknown, impossible]) {
    assert.is(reply.status, 401)
    assert.equal(reply.body, wrong.body)
    assert.is(reply.body?.code, 'BAD_CREDENTIALS')
    assert.equal(reply.headers.getSetCookie(), [])
  }
  const shape = await call(h.url, '/api/auth/sign-in', { json: { username: 'pat' } })
  assert.is(shape.status, 400)
  assert.is(shape.body?.code, 'BAD_SCHEMA')
})

test('failures per client and account are throttled, and a run of them locks the account for 15 minutes', async () => {
  const h = await startAuth({ limits: { lockoutAfter: 10 } })
  await signUp(h, 'pat', 'patient')
  for (let i = 0; i < 5; i++) assert.is((await attempt(h, 'pat', `wrong password ${i}`)).code, 'BAD_CREDENTIALS')
  const limited = await attempt(h, 'pat', PASSWORD)
  assert.equal(limited, { status: 429, code: 'RATE_LIMITED', retryAfter: String(15 * 60) })
  h.clock.advance(5 * MINUTE)
  assert.is((await attempt(h, 'pat', PASSWORD)).retryAfter, String(10 * 60), 'the wait shrinks as the window slides')
  h.clock.advance(10 * MINUTE)
  for (let i = 0; i < 4; i++) assert.is((await attempt(h, 'pat', `wrong password ${i}`)).code, 'BAD_CREDENTIALS')
  const tenth = await attempt(h, 'pat', 'wrong password 10')
  assert.is(tenth.code, 'BAD_CREDENTIALS')
  const locked = await attempt(h, 'pat', PASSWORD)
  assert.is(locked.status, 403)
  assert.is(locked.code, 'ACCOUNT_LOCKED')
  h.clock.advance(15 * MINUTE - 1)
  assert.is((await attempt(h, 'pat', PASSWORD)).code, 'ACCOUNT_LOCKED')
  h.clock.advance(1)
  assert.is((await attempt(h, 'pat', PASSWORD)).status, 200)
})

test('a success resets the run of failures', async () => {
  const h = await startAuth()
  await signUp(h, 'pat', 'patient')
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 4; i++) assert.is((await attempt(h, 'pat', 'wrong password!')).code, 'BAD_CREDENTIALS')
    assert.is((await attempt(h, 'pat', PASSWORD)).status, 200, `round ${round}`)
  }
})

test('an admin can lift a lockout at once', async () => {
  const h = await startAuth({ limits: { perClientAccount: 10, lockoutAfter: 10 } })
  const admin = await adminBrowser(h)
  await signUp(h, 'pat', 'patient')
  for (let i = 0; i < 10; i++) await attempt(h, 'pat', 'wrong password!')
  assert.is((await attempt(h, 'pat', PASSWORD)).code, 'ACCOUNT_LOCKED')
  const listed = await call(h.url, '/api/accounts?status=active', { cookie: admin.cookie })
  const pat = (listed.body?.accounts as Array<{ username: string, lockedUntil: number | null }>).find(a => a.username === 'pat')
  assert.is(pat?.lockedUntil, h.clock() + 15 * MINUTE)
  const unlocked = await call(h.url, '/api/accounts/pat/unlock', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(unlocked.status, 200)
  assert.is((await attempt(h, 'pat', PASSWORD)).status, 200)
  const twice = await call(h.url, '/api/accounts/pat/unlock', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(twice.body?.code, 'ACCOUNT_STATE')
})

test('parallel guesses cannot slip past the per-account limit', async () => {
  const h = await startAuth()
  await signUp(h, 'pat', 'patient')
  const results = await Promise.all(Array.from({ length: 12 }, async (_, i) => await attempt(h, 'pat', `guess number ${i}`)))
  assert.is(results.filter(r => r.code === 'BAD_CREDENTIALS').length, 5)
  assert.is(results.filter(r => r.code === 'RATE_LIMITED').length, 7)
})

test('failures per client IP are throttled across usernames', async () => {
  const h = await startAuth({ limits: { perClient: 20 } })
  await signUp(h, 'pat', 'patient')
  for (let i = 0; i < 20; i++) assert.is((await attempt(h, `unknown${i}`, PASSWORD)).code, 'BAD_CREDENTIALS')
  const limited = await attempt(h, 'pat', PASSWORD)
  assert.equal(limited, { status: 429, code: 'RATE_LIMITED', retryAfter: String(15 * 60) })
  h.clock.advance(15 * MINUTE)
  assert.is((await attempt(h, 'pat', PASSWORD)).status, 200)
})

test('a session ends after 30 idle minutes, and activity keeps it alive', async () => {
  const h = await startAuth()
  await signUp(h, 'pat', 'patient')
  const { cookie } = await signIn(h.url, 'pat')
  for (let i = 0; i < 3; i++) {
    h.clock.advance(30 * MINUTE - 1)
    assert.is((await call(h.url, '/api/auth/me', { cookie })).status, 200, `touch ${i}`)
  }
  h.clock.advance(30 * MINUTE)
  const expired = await call(h.url, '/api/auth/me', { cookie })
  assert.is(expired.status, 401)
  assert.is(expired.body?.code, 'UNAUTHENTICATED')
  assert.match(expired.headers.getSetCookie()[0] ?? '', /^mc_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/)
  assert.is((await call(h.url, '/api/auth/me', { cookie })).status, 401, 'it stays ended')
})

test('a session ends 12 hours after sign-in however active it is', async () => {
  const h = await startAuth()
  await signUp(h, 'pat', 'patient')
  const { cookie } = await signIn(h.url, 'pat')
  for (let t = 0; t < 12 * 60 - 25; t += 25) {
    h.clock.advance(25 * MINUTE)
    assert.is((await call(h.url, '/api/auth/me', { cookie })).status, 200, `at ${t + 25} minutes`)
  }
  h.clock.advance(25 * MINUTE)
  const expired = await call(h.url, '/api/auth/me', { cookie })
  assert.is(expired.status, 401)
  assert.is(expired.body?.code, 'UNAUTHENTICATED')
})

test('configured lifetimes are honoured', async () => {
  const h = await startAuth({ sessionIdleMs: 2 * MINUTE, sessionMaxMs: 3 * MINUTE })
  await signUp(h, 'pat', 'patient')
  const a = await signIn(h.url, 'pat')
  h.clock.advance(2 * MINUTE)
  assert.is((await call(h.url, '/api/auth/me', { cookie: a.cookie })).status, 401)
  const b = await signIn(h.url, 'pat')
  h.clock.advance(MINUTE + 30_000)
  assert.is((await call(h.url, '/api/auth/me', { cookie: b.cookie })).status, 200)
  h.clock.advance(MINUTE + 30_000)
  assert.is((await call(h.url, '/api/auth/me', { cookie: b.cookie })).status, 401)
})

test('a hash of an older cost is re-hashed at the next sign-in', async () => {
  const first = await startAuth({ scryptN: 2 ** 14 })
  await signUp(first, 'pat', 'patient')
  await first.http.stop()
  await first.auth.stop()
  const second = await startAuth({ data: first.data, scryptN: 2 ** 15 })
  await signIn(second.url, 'pat')
  await second.http.stop()
  await second.auth.stop()
  const store = new AccountStore(accountsPath(first.data))
  await store.open()
  try {
    assert.match((await store.get('pat'))?.passwordHash ?? '', /^\$scrypt\$ln=15,r=8,p=1\$/)
  } finally {
    await store.close()
  }
})

test('me without a session, or with a forged cookie, is 401', async () => {
  const h = await startAuth()
  assert.is((await call(h.url, '/api/auth/me')).body?.code, 'UNAUTHENTICATED')
  const forged = await call(h.url, '/api/auth/me', { cookie: `mc_session=${'A'.repeat(43)}` })
  assert.is(forged.status, 401)
  assert.is(forged.body?.code, 'UNAUTHENTICATED')
  assert.is((await call(h.url, '/api/auth/me', { cookie: `mc_session=${'A'.repeat(5000)}` })).status, 401)
})

test.run()
