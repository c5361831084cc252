// Password hashing and policy: the production scrypt cost (N = 2^17, r = 8, p = 1, 32-byte salt),
// PHC strings that verify across cost changes, NFC normalisation, the 12–128 code point rule,
// and hashing that leaves the event loop free.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { AUTH_DEFAULTS, SALT_BYTES } from '../../../node/auth/constants.ts'
import { checkNewPassword, checkScryptN, createPasswordHasher, normalisePassword } from '../../../node/auth/accounts/password.ts'
import { throwsCode } from '../../helpers/assert.ts'
import { randomBytes } from 'node:crypto'

const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n))

test('the production default is scrypt N = 2^17, r = 8, p = 1 with a 32-byte salt, and it never blocks the event loop', async () => {
  assert.is(AUTH_DEFAULTS.scryptN, 2 ** 17)
  const hasher = createPasswordHasher({ scryptN: AUTH_DEFAULTS.scryptN })({ random })
  let ticks = 0
  const ticker = setInterval(() => { ticks++ }, 5)
  const started = performance.now()
  const encoded = await hasher.hash('correct horse battery staple')
  const elapsed = performance.now() - started
  clearInterval(ticker)
  const m = /^\$scrypt\$ln=17,r=8,p=1\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(encoded)
  assert.ok(m !== null, encoded)
  assert.is(Buffer.from(m[1], 'base64').length, SALT_BYTES)
  assert.is(Buffer.from(m[2], 'base64').length, 32)
  // About 450 ms on CI's machine: a 5 ms timer fires many times while scrypt runs on the pool.
  assert.ok(ticks >= Math.min(10, elapsed / 20), `the timer fired ${ticks} times in ${Math.round(elapsed)} ms`)
  assert.ok(await hasher.verify('correct horse battery staple', encoded))
  assert.not.ok(hasher.needsRehash(encoded))
})

test('each hash has its own salt, and a hash verifies under a hasher of another cost', async () => {
  const low = createPasswordHasher({ scryptN: 2 ** 14 })({ random })
  const higher = createPasswordHasher({ scryptN: 2 ** 15 })({ random })
  const a = await low.hash('the same password')
  const b = await low.hash('the same password')
  assert.is.not(a, b)
  assert.ok(await higher.verify('the same password', a))
  assert.ok(higher.needsRehash(a))
  assert.not.ok(low.needsRehash(a))
})

test('malformed or tampered hashes never verify', async () => {
  const hasher = createPasswordHasher({ scryptN: 2 ** 14 })({ random })
  const good = await hasher.hash('a good long password')
  const parts = good.split('$')
  const hash = Buffer.from(parts[4], 'base64')
  hash[0] ^= 1
  const tampered = [...parts.slice(0, 4), hash.toString('base64').replace(/=+$/, '')].join('$')
  for (const bad of ['', 'plain', tampered, good.replace('ln=14', 'ln=9'), good.replace('ln=14', 'ln=30'), good.replace('r=8', 'r=1'), good + 'A']) {
    assert.not.ok(await hasher.verify('a good long password', bad), bad)
  }
  await hasher.burn('anything at all')
})

test('passwords are compared after NFC', async () => {
  const hasher = createPasswordHasher({ scryptN: 2 ** 14 })({ random })
  const composed = checkNewPassword('caf\u00e9 au lait, s\u2019il vous pla\u00eet')
  const encoded = await hasher.hash(composed)
  assert.ok(await hasher.verify(normalisePassword('cafe\u0301 au lait, s\u2019il vous plai\u0302t'), encoded))
})

test('the policy counts code points after NFC, 12 to 128', () => {
  assert.is(checkNewPassword('a'.repeat(12)), 'a'.repeat(12))
  assert.is(checkNewPassword('a'.repeat(128)).length, 128)
  assert.is(checkNewPassword('\u{1F600}'.repeat(12)).length, 24)
  throwsCode(() => checkNewPassword('a'.repeat(11)), 'WEAK_PASSWORD')
  throwsCode(() => checkNewPassword('a'.repeat(129)), 'WEAK_PASSWORD')
  throwsCode(() => checkNewPassword('a'.repeat(100_000)), 'WEAK_PASSWORD')
  throwsCode(() => checkNewPassword('e\u0301'.repeat(11)), 'WEAK_PASSWORD')
  throwsCode(() => checkNewPassword('\u{1F600}'.repeat(129)), 'WEAK_PASSWORD')
  throwsCode(() => checkNewPassword('a lone \ud800 surrogate'), 'INVALID')
  throwsCode(() => checkNewPassword(123456789012345), 'INVALID')
  throwsCode(() => normalisePassword(null), 'INVALID')
})

test('scrypt N must be a power of two from 2^14 to 2^20', () => {
  for (const n of [2 ** 13, 2 ** 21, 3 * 2 ** 14, 0, -1, 2 ** 14 + 0.5, Number.NaN]) {
    assert.throws(() => checkScryptN(n), TypeError, String(n))
    assert.throws(() => createPasswordHasher({ scryptN: n }), TypeError, String(n))
  }
  checkScryptN(2 ** 14)
  checkScryptN(2 ** 20)
})

test('a full queue of hashes answers UNAVAILABLE instead of waiting', async () => {
  const hasher = createPasswordHasher({ scryptN: 2 ** 14, concurrency: 1, queueLimit: 1 })({ random })
  const first = hasher.hash('password number one')
  const second = hasher.hash('password number two')
  let code: unknown
  try {
    await hasher.hash('password number three')
  } catch (err) {
    code = (err as { code?: unknown }).code
  }
  assert.is(code, 'UNAVAILABLE')
  await Promise.all([first, second])
  await hasher.hash('password number four')
})

test.run()
