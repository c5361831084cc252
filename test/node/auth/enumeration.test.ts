// Whether an account exists must not leak through sign-up or sign-in. A registered key replayed
// with its proof of possession answers KEY_TAKEN whatever the username; probes are rate-limited
// before any lookup; sign-in answers, lockouts and timing are the same for existing and unknown
// users (a paired t over simultaneous samples stays under a bound). test-runner: alone (a timing
// bound: neighbours' load would only add noise to it).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { SIGN_IN_LIMITS } from '../../../node/auth/constants.ts'
import { call, newUser, signUp, signUpBody, startAuth, stopAll } from './fixture.ts'
import type { AuthHarness } from './fixture.ts'
import { median, pairedT, trimTails } from '../../helpers/stats.ts'

test.after.each(stopAll)

const PASSWORD = 'correct horse battery staple'

async function attempt (h: AuthHarness, username: string, password: string): Promise<{ status: number, code: unknown }> {
  const reply = await call(h.url, '/api/auth/sign-in', { json: { username, password } })
  return { status: reply.status, code: reply.body?.code }
}

test('a registered key replayed with another username answers KEY_TAKEN, whether that name exists or not', async () => {
  const h = await startAuth()
  const { user } = await signUp(h, 'mallory', 'patient')
  await signUp(h, 'alice', 'patient')
  const taken = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, user, 'alice', 'patient') })
  const free = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, user, 'nobody-here', 'patient') })
  assert.is(taken.status, 409)
  assert.equal(taken.body, free.body, 'one answer for an existing and a free username')
  assert.is(taken.body?.code, 'KEY_TAKEN')
})

test('sign-up probes are rate-limited before any lookup', async () => {
  const h = await startAuth()
  const { user } = await signUp(h, 'mallory', 'patient')
  const codes: unknown[] = []
  for (let i = 0; i < SIGN_IN_LIMITS.signUpFailuresPerClient + 5; i++) {
    codes.push((await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, user, `probe-${i}`, 'patient') })).body?.code)
  }
  assert.is(codes.filter(c => c === 'KEY_TAKEN').length, SIGN_IN_LIMITS.signUpFailuresPerClient)
  assert.equal(codes.slice(SIGN_IN_LIMITS.signUpFailuresPerClient), Array(5).fill('RATE_LIMITED'))
  // Fresh keys do not reset the count: the limit is per client, not per key.
  const fresh = await call(h.url, '/api/auth/sign-up', { json: signUpBody(h.ledger, newUser(), 'mallory', 'patient') })
  assert.is(fresh.body?.code, 'RATE_LIMITED', 'a USERNAME_TAKEN probe is throttled too')
  h.clock.advance(SIGN_IN_LIMITS.windowMs)
  await signUp(h, 'honest', 'patient')
})

test('a run of failures locks out an unknown username exactly as an existing one', async () => {
  const h = await startAuth({ limits: { lockoutAfter: 3, perClientAccount: 100 } })
  await signUp(h, 'pat', 'patient')
  for (const name of ['pat', 'ghost']) {
    for (let i = 0; i < 3; i++) assert.is((await attempt(h, name, 'not the right one')).code, 'BAD_CREDENTIALS', name)
  }
  const existing = await call(h.url, '/api/auth/sign-in', { json: { username: 'pat', password: 'x'.repeat(12) } })
  const unknown = await call(h.url, '/api/auth/sign-in', { json: { username: 'ghost', password: 'x'.repeat(12) } })
  assert.is(existing.status, 403)
  assert.equal(existing.body, unknown.body, 'the same lockout answer')
})

test('sign-in takes as long for an unknown user as for a wrong password (Welch t)', async () => {
  // Limits out of the way: this measures the work behind the answer, not the throttle.
  const h = await startAuth({ limits: { perClientAccount: 1e6, perAccount: 1e6, perClient: 1e6, lockoutAfter: 1e6 } })
  await signUp(h, 'pat', 'patient')
  const time = async (username: string): Promise<number> => {
    const started = performance.now()
    const r = await attempt(h, username, 'a wrong password here')
    if (r.code !== 'BAD_CREDENTIALS') throw new Error(`unexpected answer ${String(r.code)}`)
    return performance.now() - started
  }
  for (let i = 0; i < 6; i++) await Promise.all([time('pat'), time(`warm${i}`)])
  // Each pair runs at once, on the two scrypt threads, so the machine's load falls on both halves
  // alike; the test is on the paired differences (a one-sample t, Welch's with one group).
  const diffs: number[] = []
  const existing: number[] = []
  const unknown: number[] = []
  for (let i = 0; i < 80; i++) {
    // The request sent first of a pair reaches the hasher first: alternate which one that is, so
    // the order adds no bias to either side.
    const [a, b] = i % 2 === 0
      ? await Promise.all([time('pat'), time(`ghost${i}`)])
      : await Promise.all([time(`ghost${i}`), time('pat')]).then(([u, e]) => [e, u])
    existing.push(a)
    unknown.push(b)
    diffs.push(a - b)
  }
  const t = pairedT(trimTails(diffs, 0.1))
  const detail = `medians ${median(existing).toFixed(2)} vs ${median(unknown).toFixed(2)} ms, median difference ${median(diffs).toFixed(2)} ms, paired t = ${t.toFixed(2)}`
  console.log(detail)
  // |t| > 4 has p < 10^-3 for equal means at this sample size; the gap this guards against gave t ≈ 10.
  assert.ok(Math.abs(t) < 4, `existing and unknown users are told apart by time: ${detail}`)
})

test.run()
