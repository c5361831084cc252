// The in-memory pieces under sign-in, driven by a hand-moved clock: the sliding window's counts,
// waits and eviction, the client key (IPv6 by /64), and the session store's expiry, per-user
// cap, token hashing and sweep.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { SlidingWindow } from '../../../node/auth/sessions/rate-limit.ts'
import { SessionStore, tokenHash, tokensEqual } from '../../../node/auth/sessions/sessions.ts'
import { clientKey } from '../../../node/auth/sessions/sign-in.ts'
import type { SessionUser } from '../../../node/auth/types.ts'
import { testClock } from './fixture.ts'

const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n))

function user (username: string): SessionUser {
  return { username, role: 'patient', status: 'active', signPub: '00'.repeat(32), boxPub: '11'.repeat(32), hospital: '22'.repeat(32) }
}

test('a sliding window refuses past its limit until the oldest event ages out', () => {
  const clock = testClock(1_000_000)
  const w = new SlidingWindow({ limit: 3, windowMs: 1000 }, clock)
  for (let i = 0; i < 3; i++) {
    assert.is(w.retryAfter('k'), 0)
    w.hit('k')
    clock.advance(100)
  }
  assert.is(w.retryAfter('k'), 700)
  assert.is(w.retryAfter('other'), 0)
  clock.advance(699)
  assert.is(w.retryAfter('k'), 1)
  clock.advance(1)
  assert.is(w.retryAfter('k'), 0)
  const t = w.hit('k')
  assert.ok(w.retryAfter('k') > 0)
  w.forget('k', t)
  assert.is(w.retryAfter('k'), 0)
  w.clear('k')
  w.hit('k')
  w.hit('k')
  assert.is(w.retryAfter('k'), 0)
})

test('a sliding window tracks a bounded number of keys, dropping the stalest', () => {
  const clock = testClock(0)
  const w = new SlidingWindow({ limit: 1, windowMs: 1000, maxKeys: 3 }, clock)
  for (const k of ['a', 'b', 'c']) w.hit(k)
  w.hit('a')
  w.hit('d')
  assert.is(w.retryAfter('b'), 0, 'b was the stalest and was dropped')
  for (const k of ['a', 'c', 'd']) assert.ok(w.retryAfter(k) > 0, k)
  clock.advance(1000)
  w.sweep()
  for (const k of ['a', 'c', 'd']) assert.is(w.retryAfter(k), 0, k)
})

test('clients are keyed by IPv4 address or IPv6 /64', () => {
  assert.is(clientKey('127.0.0.1'), '127.0.0.1')
  assert.is(clientKey('::ffff:10.1.2.3'), '10.1.2.3')
  assert.is(clientKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64')
  assert.is(clientKey('2001:0db8:0001:0002::9'), '2001:db8:1:2::/64')
  assert.is(clientKey('2001:db8::1'), '2001:db8:0:0::/64')
  assert.is(clientKey('::1'), '0:0:0:0::/64')
  assert.is(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64')
  assert.is(clientKey('2001:db8:1:2:aaaa::1'), clientKey('2001:db8:1:2:bbbb::2'))
  assert.is(clientKey(''), '')
})

test('sessions end when idle or old, and the store keeps only token hashes', () => {
  const clock = testClock(0)
  const sessions = new SessionStore({ idleMs: 100, maxMs: 250 }, clock, random)
  const { token, session } = sessions.create(user('pat'))
  assert.is(session.id, tokenHash(token))
  assert.is.not(session.id, token)
  assert.match(token, /^[A-Za-z0-9_-]{43}$/)
  clock.advance(99)
  assert.is(sessions.lookup(token), session)
  clock.advance(99)
  assert.is(sessions.lookup(token), session)
  clock.advance(51)
  assert.is(sessions.lookup(token), session)
  clock.advance(1)
  assert.is(sessions.lookup(token), undefined, 'absolute limit')
  assert.is(sessions.size, 0)
  const idle = sessions.create(user('pat'))
  clock.advance(100)
  assert.is(sessions.lookup(idle.token), undefined, 'idle limit')
  assert.is(sessions.lookup(''), undefined)
})

test('one user holds at most 16 sessions, and a lock ends them all', () => {
  const clock = testClock(0)
  const sessions = new SessionStore({ idleMs: 1000, maxMs: 1000 }, clock, random)
  const tokens = Array.from({ length: 17 }, () => sessions.create(user('pat')).token)
  const other = sessions.create(user('sam')).token
  assert.is(sessions.lookup(tokens[0]), undefined, 'the oldest was ended')
  for (const t of tokens.slice(1)) assert.ok(sessions.lookup(t) !== undefined)
  sessions.destroyUser('pat')
  for (const t of tokens) assert.is(sessions.lookup(t), undefined)
  assert.ok(sessions.lookup(other) !== undefined)
  clock.advance(1000)
  sessions.sweep()
  assert.is(sessions.size, 0)
})

test('token comparison is exact', () => {
  assert.ok(tokensEqual('abc', 'abc'))
  assert.not.ok(tokensEqual('abc', 'abd'))
  assert.not.ok(tokensEqual('abc', 'abcd'))
  assert.not.ok(tokensEqual('', 'a'))
})

test.run()
