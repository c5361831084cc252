// Password change, "end sessions" and the recovery code over real HTTP (issue 16.1, 16.2): the
// other sessions of the account end and its session epoch moves, the current password is
// checked and throttled, a wrong or used recovery code is refused with its own code, and the
// recovery attempts are rate-limited like sign-in. The last test runs the SDK's real client-side
// crypto (re-sealing the vault, opening the second vault with the code) end to end.
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { SESSIONS_ENDED } from '../../../node/auth/index.ts'
import type { SessionsEnded } from '../../../node/auth/index.ts'
import { adminBrowser, call, signIn, signUp, startAuth, stopAll } from './fixture.ts'
import type { AuthHarness, Browser } from './fixture.ts'

test.after.each(stopAll)

const PASSWORD = 'correct horse battery staple'
const NEW_PASSWORD = 'a new and longer passphrase'
const VAULT = { v: 1, kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: 1000, salt: 'BBBB' }, iv: 'BBBB', check: 'BBBB', ct: 'BBBB' }
const CODE_VAULT = { v: 1, kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: 1000, salt: 'CCCC' }, iv: 'CCCC', check: 'CCCC', ct: 'CCCC' }

const secret = (): string => toHex(new Uint8Array(randomBytes(32)))

async function me (h: AuthHarness, b: Browser): Promise<{ status: number, body: Record<string, unknown> | null }> {
  return await call(h.url, '/api/auth/me', { cookie: b.cookie })
}

function endedEvents (h: AuthHarness): SessionsEnded[] {
  const seen: SessionsEnded[] = []
  h.auth.events.addEventListener(SESSIONS_ENDED, (e) => { seen.push((e as CustomEvent<SessionsEnded>).detail) })
  return seen
}

test('a password change keeps this session, ends the others, moves the epoch and replaces the vault', async () => {
  const h = await startAuth()
  await signUp(h, 'pat', 'patient')
  const here = await signIn(h.url, 'pat')
  const phone = await signIn(h.url, 'pat')
  const seen = endedEvents(h)
  assert.is(here.body.sessionEpoch, 0)
  const reply = await call(h.url, '/api/auth/password', { json: { current: PASSWORD, password: NEW_PASSWORD, vault: VAULT }, cookie: here.cookie, csrf: here.csrf })
  assert.is(reply.status, 200, JSON.stringify(reply.body))
  assert.equal(reply.body, { sessionEpoch: 1 })
  assert.equal(seen, [{ username: 'pat', epoch: 1, reason: 'password' }])
  assert.is(await h.auth.sessionEpoch('pat'), 1)
  const still = await me(h, here)
  assert.is(still.status, 200)
  assert.equal(still.body?.vault, VAULT)
  assert.is(still.body?.sessionEpoch, 1)
  assert.is((await me(h, phone)).status, 401)
  const old = await call(h.url, '/api/auth/sign-in', { json: { username: 'pat', password: PASSWORD } })
  assert.is(old.body?.code, 'BAD_CREDENTIALS')
  await signIn(h.url, 'pat', NEW_PASSWORD)
})

test('a wrong current password changes nothing and is throttled; a weak new one is refused', async () => {
  const h = await startAuth({ limits: { perClientAccount: 2 } })
  await signUp(h, 'pat', 'patient')
  const b = await signIn(h.url, 'pat')
  const other = await signIn(h.url, 'pat')
  const change = async (current: string, password = NEW_PASSWORD): Promise<{ status: number, code: unknown, retry: string | null }> => {
    const r = await call(h.url, '/api/auth/password', { json: { current, password, vault: VAULT }, cookie: b.cookie, csrf: b.csrf })
    return { status: r.status, code: r.body?.code, retry: r.headers.get('retry-after') }
  }
  assert.equal((await change(PASSWORD, 'short')).code, 'WEAK_PASSWORD')
  assert.equal(await change('not the password at all'), { status: 401, code: 'BAD_CREDENTIALS', retry: null })
  assert.equal((await change('not the password either')).code, 'BAD_CREDENTIALS')
  const limited = await change(PASSWORD)
  assert.is(limited.code, 'RATE_LIMITED')
  assert.ok(Number(limited.retry) > 0)
  assert.is((await me(h, other)).status, 200)
  assert.is(await h.auth.sessionEpoch('pat'), 0)
  // Without the CSRF token, a cross-site form cannot change it either.
  const forged = await call(h.url, '/api/auth/password', { json: { current: PASSWORD, password: NEW_PASSWORD, vault: VAULT }, cookie: b.cookie })
  assert.is(forged.body?.code, 'CSRF')
})

test('an admin ends a user\'s sessions without locking the account; nobody else may', async () => {
  const h = await startAuth()
  const admin = await adminBrowser(h)
  await signUp(h, 'pat', 'patient')
  const pat = await signIn(h.url, 'pat')
  const seen = endedEvents(h)
  const refused = await call(h.url, '/api/accounts/pat/end-sessions', { method: 'POST', cookie: pat.cookie, csrf: pat.csrf })
  assert.is(refused.body?.code, 'FORBIDDEN')
  const reply = await call(h.url, '/api/accounts/pat/end-sessions', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.equal(reply.body, { sessionEpoch: 1 })
  assert.equal(seen, [{ username: 'pat', epoch: 1, reason: 'admin' }])
  assert.is((await me(h, pat)).status, 401)
  await signIn(h.url, 'pat')
  const missing = await call(h.url, '/api/accounts/nobody/end-sessions', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(missing.body?.code, 'NOT_FOUND')
  // A lock ends them too, and says so.
  await call(h.url, '/api/accounts/pat/lock', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.equal(seen.at(-1), { username: 'pat', epoch: 2, reason: 'lock' })
})

test('the recovery code: a wrong code, an unknown user, the right code, a reset that ends every session, a used code', async () => {
  const h = await startAuth()
  const code = secret()
  await signUp(h, 'pat', 'patient', { recovery: { secret: code, vault: CODE_VAULT } })
  const before = await signIn(h.url, 'pat')
  assert.is(before.body.recovery, true)
  const open = async (username: string, s: string): Promise<{ status: number, body: Record<string, unknown> | null }> => {
    const r = await call(h.url, '/api/auth/recovery/vault', { json: { username, secret: s } })
    return { status: r.status, body: r.body }
  }
  assert.equal(await open('pat', secret()), { status: 401, body: { code: 'BAD_RECOVERY_CODE', message: 'this recovery code does not open this account' } })
  assert.equal((await open('nobody', code)).body?.code, 'BAD_RECOVERY_CODE')
  assert.equal(await open('PAT', code), { status: 200, body: { vault: CODE_VAULT } })
  const next = secret()
  const reset = await call(h.url, '/api/auth/recovery/reset', { json: { username: 'pat', secret: code, password: NEW_PASSWORD, vault: VAULT, recovery: { secret: next, vault: CODE_VAULT } } })
  assert.equal(reset.body, { sessionEpoch: 1 })
  assert.is((await me(h, before)).status, 401)
  const after = await signIn(h.url, 'pat', NEW_PASSWORD)
  assert.equal(after.body.vault, VAULT)
  assert.equal((await open('pat', code)).body?.code, 'RECOVERY_CODE_USED')
  const again = await call(h.url, '/api/auth/recovery/reset', { json: { username: 'pat', secret: code, password: PASSWORD, vault: VAULT, recovery: { secret: secret(), vault: CODE_VAULT } } })
  assert.is(again.status, 410)
  assert.is(again.body?.code, 'RECOVERY_CODE_USED')
  assert.is((await open('pat', next)).status, 200)
  // A reset must bring a new code; a malformed secret is a schema error, not a guess.
  const noNew = await call(h.url, '/api/auth/recovery/reset', { json: { username: 'pat', secret: next, password: PASSWORD, vault: VAULT } })
  assert.is(noNew.body?.code, 'BAD_SCHEMA')
  assert.is((await open('pat', 'XXXX')).body?.code, 'BAD_SCHEMA')
})

test('recovery attempts are rate-limited per account and client, the right code included, with Retry-After', async () => {
  const h = await startAuth({ limits: { perClientAccount: 3 } })
  const code = secret()
  await signUp(h, 'pat', 'patient', { recovery: { secret: code, vault: CODE_VAULT } })
  for (let i = 0; i < 3; i++) {
    const r = await call(h.url, '/api/auth/recovery/vault', { json: { username: 'pat', secret: secret() } })
    assert.is(r.body?.code, 'BAD_RECOVERY_CODE')
  }
  const limited = await call(h.url, '/api/auth/recovery/vault', { json: { username: 'pat', secret: code } })
  assert.is(limited.status, 429)
  assert.is(limited.body?.code, 'RATE_LIMITED')
  assert.ok(Number(limited.headers.get('retry-after')) > 0)
  h.clock.advance(16 * 60_000)
  assert.is((await call(h.url, '/api/auth/recovery/vault', { json: { username: 'pat', secret: code } })).status, 200)
})

test('SDK: sign-up shows a recovery code once; a password change re-seals the vault; the code sets a new password and is replaced', async () => {
  const h = await startAuth()
  const phone = new MedichainClient({ baseUrl: h.url, vaultIterations: 1000 })
  const made = await phone.signUp({ username: 'pat', password: PASSWORD, role: 'patient' })
  assert.match(String(made.recoveryCode), /^([0-9A-HJKMNP-TV-Z]{4}-){4}[0-9A-HJKMNP-TV-Z]{4}$/)
  await phone.signIn('pat', PASSWORD)
  const signPub = toHex(phone.keys?.signPub ?? new Uint8Array(0))
  const laptop = new MedichainClient({ baseUrl: h.url, vaultIterations: 1000 })
  await laptop.signIn('pat', PASSWORD)
  assert.equal(await laptop.changePassword(PASSWORD, NEW_PASSWORD), { sessionEpoch: 1 })
  // The phone's session ended; the laptop's keys unlock under the new password only.
  assert.is(await phone.resume(), null)
  laptop.lock()
  await laptop.unlock(NEW_PASSWORD)
  assert.is(toHex(laptop.keys?.signPub ?? new Uint8Array(0)), signPub)

  const forgetful = new MedichainClient({ baseUrl: h.url, vaultIterations: 1000 })
  const wrong = await forgetful.recoverWithCode('pat', 'AAAA-AAAA-AAAA-AAAA-AAAA', 'yet another passphrase').catch((err: unknown) => err)
  assert.is((wrong as { code?: string }).code, 'BAD_RECOVERY_CODE')
  const typed = String(made.recoveryCode).toLowerCase().replace(/-/g, ' ')
  const recovered = await forgetful.recoverWithCode('pat', typed, 'yet another passphrase')
  assert.is(toHex(forgetful.keys?.signPub ?? new Uint8Array(0)), signPub)
  assert.ok(recovered.recoveryCode !== made.recoveryCode)
  assert.is(await laptop.resume(), null)
  const used = await new MedichainClient({ baseUrl: h.url, vaultIterations: 1000 }).recoverWithCode('pat', String(made.recoveryCode), 'and one more passphrase').catch((err: unknown) => err)
  assert.is((used as { code?: string }).code, 'RECOVERY_CODE_USED')
  const fresh = new MedichainClient({ baseUrl: h.url, vaultIterations: 1000 })
  await fresh.recoverWithCode('pat', recovered.recoveryCode, 'and one more passphrase')
  assert.is(toHex(fresh.keys?.signPub ?? new Uint8Array(0)), signPub)
})

test.run()
