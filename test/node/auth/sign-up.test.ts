// Sign-up over real HTTP with a real ledger: each role's status, `account.register` on the ledger
// with no username, password or vault in any ledger byte, the one-time admin setup token, admin
// approval of clinicians and researchers, and every refusal (weak password, taken username or
// key, bad proof of possession, malformed fields), each of which stores nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex, utf8 } from '../../../protocol/bytes.ts'
import { patientIdOf } from '../../../protocol/chain/tx.ts'
import type { Role } from '../../../protocol/chain/tx.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { adminBrowser, call, newUser, setupToken, signIn, signUp, signUpBody, startAuth, stopAll } from './fixture.ts'

test.after.each(stopAll)

/** Every byte of every block on the ledger, concatenated. */
async function ledgerBytes (ledger: Ledger): Promise<Uint8Array> {
  const blocks = await ledger.blocks(ledger.self, 0, 1000)
  return Buffer.concat(blocks.map(b => b.bytes))
}

function contains (haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle))
}

test('a patient is active at once and registered on the ledger without name, password or vault', async () => {
  const h = await startAuth()
  const user = newUser()
  const body = signUpBody(h.ledger, user, 'Jane.Doe-1984', 'patient')
  const reply = await call(h.url, '/api/auth/sign-up', { json: body })
  assert.is(reply.status, 201)
  assert.equal(reply.body, {
    username: 'jane.doe-1984', role: 'patient', status: 'active', patientId: toHex(patientIdOf(user.identity.publicKey))
  })
  const onLedger = await h.ledger.queries.account(user.identity.publicKey)
  assert.ok(onLedger !== undefined, 'account.register is on the ledger')
  assert.is(onLedger.role, 'patient')
  assert.equal(onLedger.box, user.box)
  assert.equal(onLedger.hospital, h.ledger.self)
  const bytes = await ledgerBytes(h.ledger)
  for (const secret of ['jane.doe-1984', 'Jane.Doe-1984', 'jane', 'correct horse battery staple', 'PBKDF2']) {
    assert.not.ok(contains(bytes, utf8(secret)), `${secret} is not in the ledger`)
  }
  assert.ok(contains(bytes, user.identity.publicKey), 'the scan does see what is there')
  const account = await h.auth.accounts.get('jane.doe-1984')
  assert.is(account?.status, 'active')
  assert.equal(account?.patientId, patientIdOf(user.identity.publicKey))
  assert.equal((await h.auth.accounts.byKey(user.identity.publicKey))?.username, 'jane.doe-1984')
})

for (const role of ['clinician', 'researcher'] as Role[]) {
  test(`a ${role} is pending, cannot sign in, and is registered once an admin approves`, async () => {
    const h = await startAuth()
    const admin = await adminBrowser(h)
    const { user, reply } = await signUp(h, `dr-${role}`, role)
    assert.equal(reply.body, { username: `dr-${role}`, role, status: 'pending' })
    assert.is(await h.ledger.queries.account(user.identity.publicKey), undefined, 'not on the ledger while pending')
    const early = await call(h.url, '/api/auth/sign-in', { json: { username: `dr-${role}`, password: 'correct horse battery staple' } })
    assert.is(early.status, 403)
    assert.is(early.body?.code, 'ACCOUNT_PENDING')
    const pending = await call(h.url, '/api/accounts?status=pending', { cookie: admin.cookie })
    assert.equal((pending.body?.accounts as Array<{ username: string }>).map(a => a.username), [`dr-${role}`])

    const approved = await call(h.url, `/api/accounts/dr-${role}/approve`, { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
    assert.is(approved.status, 200)
    assert.is(approved.body?.status, 'active')
    assert.is((await h.ledger.queries.account(user.identity.publicKey))?.role, role)
    const browser = await signIn(h.url, `dr-${role}`)
    assert.is((browser.body.user as { role: string }).role, role)
    assert.is((browser.body.user as { patientId?: string }).patientId, undefined)

    const again = await call(h.url, `/api/accounts/dr-${role}/approve`, { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
    assert.is(again.status, 409)
    assert.is(again.body?.code, 'ACCOUNT_STATE')
  })
}

test('only an admin approves, and only existing accounts', async () => {
  const h = await startAuth()
  const admin = await adminBrowser(h)
  await signUp(h, 'dr-who', 'clinician')
  await signUp(h, 'pat', 'patient')
  const patient = await signIn(h.url, 'pat')
  const byPatient = await call(h.url, '/api/accounts/dr-who/approve', { method: 'POST', cookie: patient.cookie, csrf: patient.csrf })
  assert.is(byPatient.status, 403)
  assert.is(byPatient.body?.code, 'FORBIDDEN')
  const anonymous = await call(h.url, '/api/accounts/dr-who/approve', { method: 'POST' })
  assert.is(anonymous.status, 401)
  assert.is(anonymous.body?.code, 'UNAUTHENTICATED')
  const missing = await call(h.url, '/api/accounts/nobody/approve', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(missing.status, 404)
  const badName = await call(h.url, '/api/accounts/x/approve', { method: 'POST', cookie: admin.cookie, csrf: admin.csrf })
  assert.is(badName.status, 400)
  assert.is((await h.auth.accounts.get('dr-who'))?.status, 'pending')
})

test('the admin setup token works once, and a wrong or missing one is refused', async () => {
  const h = await startAuth()
  const link = h.auth.setupLink('http://127.0.0.1:8080/')
  assert.match(link ?? '', /^http:\/\/127\.0\.0\.1:8080\/setup#token=[A-Za-z0-9_-]{43}$/)
  const token = setupToken(h)
  for (const extra of [{}, { setupToken: 'A'.repeat(43) }, { setupToken: token.slice(0, -1) }]) {
    const reply = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, newUser(), 'root', 'admin', extra) })
    assert.is(reply.status, 403)
    assert.is(reply.body?.code, 'BAD_SETUP_TOKEN')
  }
  assert.is(await h.auth.accounts.get('root'), undefined)
  const patientWithToken = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, newUser(), 'pat', 'patient', { setupToken: token }) })
  assert.is(patientWithToken.status, 400)

  const { user, reply } = await signUp(h, 'root', 'admin', { setupToken: token })
  assert.equal(reply.body, { username: 'root', role: 'admin', status: 'active' })
  assert.is((await h.ledger.queries.account(user.identity.publicKey))?.role, 'admin')
  assert.is(h.auth.setupLink(h.url), undefined, 'no link once used')
  const second = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, newUser(), 'root2', 'admin', { setupToken: token }) })
  assert.is(second.status, 403)
  assert.is(second.body?.code, 'BAD_SETUP_TOKEN')
})

test('a restart without an admin issues a new setup token and voids the old one; with an admin, none', async () => {
  const first = await startAuth()
  const oldToken = setupToken(first)
  await first.http.stop()
  await first.auth.stop()
  const second = await startAuth({ data: first.data })
  const newToken = setupToken(second)
  assert.is.not(newToken, oldToken)
  const stale = await call(second.url, '/api/auth/sign-up', { json: signUpBody(second.ledger, newUser(), 'root', 'admin', { setupToken: oldToken }) })
  assert.is(stale.body?.code, 'BAD_SETUP_TOKEN')
  await signUp(second, 'root', 'admin', { setupToken: newToken })
  await second.http.stop()
  await second.auth.stop()
  const third = await startAuth({ data: first.data })
  assert.is(third.auth.setupLink(third.url), undefined)
  assert.is((await third.auth.accounts.get('root'))?.role, 'admin')
})

test('weak passwords are refused by code points after NFC', async () => {
  const h = await startAuth()
  const cases: Array<[string, number]> = [
    ['a'.repeat(11), 400],
    ['a'.repeat(129), 400],
    // Eleven "é" typed as e + combining acute: 22 code points, 11 after NFC.
    ['e\u0301'.repeat(11), 400],
    ['a'.repeat(12), 201],
    // Twelve astral characters: 24 UTF-16 units but 12 code points.
    ['\u{1F600}'.repeat(12), 201],
    ['b'.repeat(128), 201]
  ]
  for (const [i, [password, status]] of cases.entries()) {
    const reply = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, newUser(), `user${i}`, 'patient', { password }) })
    assert.is(reply.status, status, `case ${i}`)
    if (status === 400) {
      assert.is(reply.body?.code, 'WEAK_PASSWORD')
      assert.is(await h.auth.accounts.get(`user${i}`), undefined)
    }
  }
  const emoji = await call(h.url, '/api/auth/sign-in', { json: { username: 'user4', password: '\u{1F600}'.repeat(12) } })
  assert.is(emoji.status, 200)
  const notString = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, newUser(), 'num', 'patient', { password: 123456789012 }) })
  assert.is(notString.status, 400)
  assert.is(notString.body?.code, 'INVALID')
})

test('a taken username (any case) or a taken key is a conflict', async () => {
  const h = await startAuth()
  const { user } = await signUp(h, 'Alice', 'patient')
  const sameName = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, newUser(), 'ALICE', 'patient') })
  assert.is(sameName.status, 409)
  assert.is(sameName.body?.code, 'USERNAME_TAKEN')
  const sameKey = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, user, 'alice2', 'patient') })
  assert.is(sameKey.status, 409)
  assert.is(sameKey.body?.code, 'KEY_TAKEN')
  assert.is(await h.auth.accounts.get('alice2'), undefined)
  assert.is(h.ledger.size(), 1, 'one registration only')
})

test('a bad proof of possession is refused and nothing is written', async () => {
  const h = await startAuth()
  const user = newUser()
  const good = signUpBody(h.ledger, user, 'mallory', 'patient')
  const pop = String(good.pop)
  const flipped = (parseInt(pop[0], 16) ^ 1).toString(16) + pop.slice(1)
  const otherKey = signUpBody(h.ledger, newUser(), 'mallory', 'patient')
  const cases = [
    { ...good, pop: flipped },
    // Signed as a patient, sent as a clinician: the role is part of the signed bytes.
    { ...good, role: 'clinician' },
    // Someone else's valid pop with this user's keys.
    { ...good, pop: otherKey.pop }
  ]
  for (const body of cases) {
    const reply = await call(h.url, '/api/auth/sign-up', { json: body })
    assert.is(reply.status, 400)
    assert.is(reply.body?.code, 'BAD_SIGNATURE')
  }
  assert.is(await h.auth.accounts.get('mallory'), undefined)
  assert.is(h.ledger.size(), 0)
})

test('malformed sign-up fields are refused with a code', async () => {
  const h = await startAuth()
  const base = signUpBody(h.ledger, newUser(), 'okname', 'patient')
  const cases: Array<[Record<string, unknown>, number, string]> = [
    [{ ...base, username: 'ab' }, 400, 'BAD_SCHEMA'],
    [{ ...base, username: 'a'.repeat(65) }, 400, 'BAD_SCHEMA'],
    [{ ...base, username: 'bad name' }, 400, 'BAD_SCHEMA'],
    // The Kelvin sign lower-cases to an ASCII k: refused, not folded.
    [{ ...base, username: '\u212Aelvin' }, 400, 'BAD_SCHEMA'],
    [{ ...base, role: 'superuser' }, 400, 'BAD_SCHEMA'],
    [{ ...base, keys: { sign: 'zz', box: (base.keys as { box: string }).box } }, 400, 'BAD_SCHEMA'],
    [{ ...base, pop: 'ab' }, 400, 'BAD_SCHEMA'],
    [{ ...base, vault: 'not an object' }, 400, 'BAD_SCHEMA'],
    [{ ...base, vault: { ct: 'A'.repeat(17 * 1024) } }, 413, 'TOO_LARGE'],
    [{ ...base, extra: 1 }, 400, 'BAD_SCHEMA']
  ]
  for (const [body, status, code] of cases) {
    const reply = await call(h.url, '/api/auth/sign-up', { json: body })
    assert.is(reply.status, status, code)
    assert.is(reply.body?.code, code)
  }
  assert.is(await h.auth.accounts.get('okname'), undefined)
  const list = await call(h.url, '/api/auth/sign-up', { json: [base] })
  assert.is(list.body?.code, 'BAD_SCHEMA')
})

test('a front desk behind one address signs up a morning\'s patients with the default limits', async () => {
  const h = await startAuth()
  // 30 patients in a row from one NAT address: past the old limit of 20 per 15 minutes.
  for (let i = 0; i < 30; i++) await signUp(h, `patient-${i}`, 'patient')
  assert.is(h.ledger.size() > 0, true)
  assert.ok(await h.auth.accounts.get('patient-29') !== undefined)
})

test('accounts created are rate-limited per client', async () => {
  const h = await startAuth({ limits: { signUpsPerClient: 2 } })
  await signUp(h, 'one', 'patient')
  await signUp(h, 'two', 'patient')
  const third = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, newUser(), 'three', 'patient') })
  assert.is(third.status, 429)
  assert.is(third.body?.code, 'RATE_LIMITED')
  assert.is(third.headers.get('retry-after'), String(15 * 60))
  assert.is(await h.auth.accounts.get('three'), undefined)
  h.clock.advance(15 * 60_000)
  await signUp(h, 'three', 'patient')
})

test.run()
