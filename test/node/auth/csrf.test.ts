// CSRF and the guarded routes over real HTTP: cookie-authenticated writes need the session's
// x-csrf-token, cross-site requests are refused by Origin or Sec-Fetch-Site, sign-out ends the
// session for good, and the account routes answer by role (admin list and lock, key lookup).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { registerBody, testIdentity } from '../../helpers/ledger/fixture.ts'
import { createLogger } from '../../../node/logger.ts'
import { adminBrowser, call, newUser, setupToken, signIn, signUp, startAuth, stopAll } from './fixture.ts'

test.after.each(stopAll)

const PASSWORD = 'correct horse battery staple'

test('sign-out needs the CSRF token, ends the session, and the old cookie is dead', async () => {
  const h = await startAuth()
  await signUp(h, 'pat', 'patient')
  const b = await signIn(h.url, 'pat')
  const missing = await call(h.url, '/api/auth/sign-out', { method: 'POST', cookie: b.cookie })
  assert.is(missing.status, 403)
  assert.is(missing.body?.code, 'CSRF')
  const wrong = await call(h.url, '/api/auth/sign-out', { method: 'POST', cookie: b.cookie, csrf: b.csrf.slice(0, -1) + (b.csrf.endsWith('A') ? 'B' : 'A') })
  assert.is(wrong.body?.code, 'CSRF')
  assert.is((await call(h.url, '/api/auth/me', { cookie: b.cookie })).status, 200, 'refused writes changed nothing')

  const out = await call(h.url, '/api/auth/sign-out', { method: 'POST', cookie: b.cookie, csrf: b.csrf })
  assert.is(out.status, 204)
  assert.match(out.headers.getSetCookie()[0] ?? '', /^mc_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/)
  const reused = await call(h.url, '/api/auth/me', { cookie: b.cookie })
  assert.is(reused.status, 401)
  assert.is(reused.body?.code, 'UNAUTHENTICATED')
  const again = await call(h.url, '/api/auth/sign-out', { method: 'POST', cookie: b.cookie, csrf: b.csrf })
  assert.is(again.status, 401)
  assert.is(again.body?.code, 'UNAUTHENTICATED')
})

test('a CSRF token belongs to its own session', async () => {
  const h = await startAuth()
  await signUp(h, 'pat', 'patient')
  await signUp(h, 'sam', 'patient')
  const pat = await signIn(h.url, 'pat')
  const sam = await signIn(h.url, 'sam')
  const swapped = await call(h.url, '/api/auth/sign-out', { method: 'POST', cookie: pat.cookie, csrf: sam.csrf })
  assert.is(swapped.body?.code, 'CSRF')
})

test('admin writes need the CSRF token', async () => {
  const h = await startAuth()
  const admin = await adminBrowser(h)
  await signUp(h, 'dr-who', 'clinician')
  const noToken = await call(h.url, '/api/accounts/dr-who/approve', { method: 'POST', cookie: admin.cookie })
  assert.is(noToken.status, 403)
  assert.is(noToken.body?.code, 'CSRF')
  assert.is((await h.auth.accounts.get('dr-who'))?.status, 'pending')
})

test('cross-site requests are refused, same-origin ones pass', async () => {
  const h = await startAuth()
  await signUp(h, 'pat', 'patient')
  const body = { username: 'pat', password: PASSWORD }
  const crossOrigin = await call(h.url, '/api/auth/sign-in', { json: body, headers: { origin: 'http://evil.example' } })
  assert.is(crossOrigin.status, 403)
  assert.is(crossOrigin.body?.code, 'CSRF')
  const nullOrigin = await call(h.url, '/api/auth/sign-in', { json: body, headers: { origin: 'null' } })
  assert.is(nullOrigin.body?.code, 'CSRF')
  const crossSite = await call(h.url, '/api/auth/sign-in', { json: body, headers: { 'sec-fetch-site': 'cross-site' } })
  assert.is(crossSite.body?.code, 'CSRF')
  const sameSite = await call(h.url, '/api/auth/sign-in', { json: body, headers: { 'sec-fetch-site': 'same-site' } })
  assert.is(sameSite.body?.code, 'CSRF')
  const signUpCross = await call(h.url, '/api/auth/sign-up', { json: {}, headers: { origin: 'http://evil.example' } })
  assert.is(signUpCross.body?.code, 'CSRF')
  const same = await call(h.url, '/api/auth/sign-in', { json: body, headers: { origin: h.url, 'sec-fetch-site': 'same-origin' } })
  assert.is(same.status, 200)
  // A GET is never refused for its origin: it changes nothing.
  assert.is((await call(h.url, '/api/health', { headers: { origin: 'http://evil.example' } })).status, 200)
})

test('account routes answer by role', async () => {
  const h = await startAuth()
  const admin = await adminBrowser(h)
  await signUp(h, 'pat', 'patient')
  await signUp(h, 'dr-who', 'clinician')
  const pat = await signIn(h.url, 'pat')
  assert.is((await call(h.url, '/api/accounts')).status, 401)
  const asPatient = await call(h.url, '/api/accounts', { cookie: pat.cookie })
  assert.is(asPatient.status, 403)
  assert.is(asPatient.body?.code, 'FORBIDDEN')
  const all = await call(h.url, '/api/accounts', { cookie: admin.cookie })
  assert.equal((all.body?.accounts as Array<{ username: string }>).map(a => a.username), ['admin', 'dr-who', 'pat'])
  for (const a of all.body?.accounts as Array<Record<string, unknown>>) {
    assert.is(a.passwordHash, undefined)
    assert.is(a.vault, undefined)
  }
  const page = await call(h.url, '/api/accounts?limit=2', { cookie: admin.cookie })
  assert.is(page.body?.next, 'dr-who')
  const rest = await call(h.url, '/api/accounts?limit=2&after=dr-who', { cookie: admin.cookie })
  assert.equal((rest.body?.accounts as Array<{ username: string }>).map(a => a.username), ['pat'])
  assert.is(rest.body?.next, null)
  const active = await call(h.url, '/api/accounts?status=active', { cookie: admin.cookie })
  assert.equal((active.body?.accounts as Array<{ username: string }>).map(a => a.username), ['admin', 'pat'])
  for (const q of ['status=bogus', 'limit=1001', 'after=x', 'colour=red']) {
    const bad = await call(h.url, `/api/accounts?${q}`, { cookie: admin.cookie })
    assert.is(bad.status, 400, q)
  }
})

test('an admin lock ends the sessions and refuses sign-in until unlocked', async () => {
  const h = await startAuth()
  const admin = await adminBrowser(h)
  await signUp(h, 'pat', 'patient')
  const pat = await signIn(h.url, 'pat')
  const locked = await call(h.url, '/api/accounts/pat/lock', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(locked.status, 200)
  assert.is(locked.body?.status, 'locked')
  assert.is((await call(h.url, '/api/auth/me', { cookie: pat.cookie })).status, 401)
  const refused = await call(h.url, '/api/auth/sign-in', { json: { username: 'pat', password: PASSWORD } })
  assert.is(refused.status, 403)
  assert.is(refused.body?.code, 'ACCOUNT_LOCKED')
  const wrongPassword = await call(h.url, '/api/auth/sign-in', { json: { username: 'pat', password: 'not the password!' } })
  assert.is(wrongPassword.body?.code, 'BAD_CREDENTIALS', 'the lock is told only to the password holder')
  const twice = await call(h.url, '/api/accounts/pat/lock', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(twice.body?.code, 'ACCOUNT_STATE')
  const self = await call(h.url, '/api/accounts/admin/lock', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(self.status, 409)
  assert.is(self.body?.code, 'ACCOUNT_STATE')
  const unlocked = await call(h.url, '/api/accounts/pat/unlock', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(unlocked.body?.status, 'active')
  assert.is((await call(h.url, '/api/auth/sign-in', { json: { username: 'pat', password: PASSWORD } })).status, 200)
})

test('no username, password, token or vault reaches the log', async () => {
  const lines: string[] = []
  const logger = createLogger({ level: 'trace', destination: { write: (line: string) => { lines.push(line) } } })
  const h = await startAuth({}, { logger })
  const token = setupToken(h)
  await signUp(h, 'root', 'admin', { setupToken: token })
  await signUp(h, 'jane.doe', 'patient')
  const b = await signIn(h.url, 'jane.doe')
  await call(h.url, '/api/auth/sign-in', { json: { username: 'jane.doe', password: 'a wrong password!' } })
  await call(h.url, '/api/auth/sign-in', { json: { username: 'john.roe', password: PASSWORD } })
  await call(h.url, '/api/auth/me', { cookie: b.cookie })
  await call(h.url, '/api/auth/sign-out', { method: 'POST', cookie: b.cookie })
  await call(h.url, '/api/auth/sign-out', { method: 'POST', cookie: b.cookie, csrf: b.csrf })
  const log = lines.join('')
  assert.ok(log.includes('account created'), 'the capture works')
  for (const secret of ['jane', 'john', 'root', PASSWORD, 'a wrong password', token, b.csrf, b.cookie.split('=')[1], 'PBKDF2']) {
    assert.not.ok(log.includes(secret), `${secret.slice(0, 12)}… is not logged`)
  }
})

test('a key lookup shows only role, box key, hospital and status', async () => {
  const h = await startAuth()
  const admin = await adminBrowser(h)
  const { user } = await signUp(h, 'dr-who', 'clinician')
  await signUp(h, 'pat', 'patient')
  const pat = await signIn(h.url, 'pat')
  assert.is((await call(h.url, `/api/accounts/by-key/${toHex(user.identity.publicKey)}`)).status, 401)
  // Pending staff exist only for the admin (issue 11.4); once approved, anyone signed in finds them.
  const hidden = await call(h.url, `/api/accounts/by-key/${toHex(user.identity.publicKey)}`, { cookie: pat.cookie })
  assert.is(hidden.status, 404)
  const pending = await call(h.url, `/api/accounts/by-key/${toHex(user.identity.publicKey)}`, { cookie: admin.cookie })
  assert.equal(pending.body, { role: 'clinician', boxPub: toHex(user.box), hospital: toHex(h.ledger.self), status: 'pending' })
  assert.is((await call(h.url, '/api/accounts/dr-who/approve', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })).status, 200)
  const local = await call(h.url, `/api/accounts/by-key/${toHex(user.identity.publicKey).toUpperCase()}`, { cookie: pat.cookie })
  assert.is(local.status, 200)
  assert.equal(local.body, { role: 'clinician', boxPub: toHex(user.box), hospital: toHex(h.ledger.self), status: 'active' })

  // A user known only from the ledger (registered by a hospital's peer, no local account).
  const remote = newUser()
  await h.ledger.submitOwn('account.register', registerBody(h.ledger.id, remote.identity, testIdentity(1), 'clinician'))
  const fromLedger = await call(h.url, `/api/accounts/by-key/${toHex(remote.identity.publicKey)}`, { cookie: pat.cookie })
  assert.equal(fromLedger.body, { role: 'clinician', boxPub: toHex(new Uint8Array(32).fill(7)), hospital: toHex(h.ledger.self), status: 'active' })

  const unknown = await call(h.url, `/api/accounts/by-key/${toHex(newUser().identity.publicKey)}`, { cookie: pat.cookie })
  assert.is(unknown.status, 404)
  const malformed = await call(h.url, '/api/accounts/by-key/abc', { cookie: pat.cookie })
  assert.is(malformed.status, 400)
})

test.run()
