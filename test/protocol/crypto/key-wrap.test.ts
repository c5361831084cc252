// Sealed-box key wrapping: known answers that libsodium 1.0.18 opened, boxes libsodium sealed,
// round trips (including for hospitals' derived keys), and every way an unwrap must fail.
import { readFileSync } from 'node:fs'
import { blake2b } from '@noble/hashes/blake2.js'
import nacl from 'tweetnacl'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { DATA_KEY_BYTES, unwrapKey, WRAPPED_KEY_BYTES, wrapKey } from '../../../protocol/crypto/key-wrap.ts'
import { generateUserKeys, hospitalBoxPublicKey, hospitalBoxSecretKey, secureRandomBytes } from '../../../protocol/crypto/user-keys.ts'
import { nodeIdentity } from '../../../ledger/verify/node-crypto.ts'
import { throwsCode } from '../../helpers/assert.ts'

interface Fixed { recipientSecret: string, recipientPub: string, ephemeralSecret: string, dataKey: string, wrapped: string }
interface Sodium { recipientSecret: string, recipientPub: string, dataKey: string, wrapped: string }
const vectors = JSON.parse(readFileSync(new URL('../../vectors/key-wrap.json', import.meta.url), 'utf8')) as { fixedEphemeral: Fixed[], libsodium: Sodium[] }

/** X25519 points of small order (RFC 7748 §7 lists the need to check; values from libsodium's blacklist). */
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'
].map(fromHex)

test('wrapKey reproduces the fixed-ephemeral vectors (opened by libsodium)', () => {
  for (const v of vectors.fixedEphemeral) {
    assert.is(toHex(nacl.box.keyPair.fromSecretKey(fromHex(v.recipientSecret)).publicKey), v.recipientPub)
    const wrapped = wrapKey(fromHex(v.dataKey), fromHex(v.recipientPub), () => fromHex(v.ephemeralSecret))
    assert.is(toHex(wrapped), v.wrapped)
    assert.is(toHex(unwrapKey(wrapped, fromHex(v.recipientSecret))), v.dataKey)
  }
})

test('unwrapKey opens boxes sealed by libsodium crypto_box_seal', () => {
  for (const v of vectors.libsodium) assert.is(toHex(unwrapKey(fromHex(v.wrapped), fromHex(v.recipientSecret))), v.dataKey)
})

test('round trip for a user key and for a hospital key derived from its member key', () => {
  const dataKey = secureRandomBytes(DATA_KEY_BYTES)
  const user = generateUserKeys()
  const wrapped = wrapKey(dataKey, user.boxPub)
  assert.is(wrapped.length, WRAPPED_KEY_BYTES)
  assert.is(WRAPPED_KEY_BYTES, 80)
  assert.equal(unwrapKey(wrapped, user.boxSecret), dataKey)
  const seed = secureRandomBytes(32)
  const forHospital = wrapKey(dataKey, hospitalBoxPublicKey(nodeIdentity(seed).publicKey))
  assert.equal(unwrapKey(forHospital, hospitalBoxSecretKey(seed)), dataKey)
})

test('two wraps of one key differ (fresh ephemeral key each time)', () => {
  const dataKey = secureRandomBytes(32)
  const user = generateUserKeys()
  assert.not.equal(toHex(wrapKey(dataKey, user.boxPub)), toHex(wrapKey(dataKey, user.boxPub)))
})

test('unwrapKey fails with BAD_WRAPPED_KEY for the wrong recipient', () => {
  const wrapped = wrapKey(secureRandomBytes(32), generateUserKeys().boxPub)
  throwsCode(() => unwrapKey(wrapped, generateUserKeys().boxSecret), 'BAD_WRAPPED_KEY')
})

test('unwrapKey fails with BAD_WRAPPED_KEY on any flipped bit', () => {
  const user = generateUserKeys()
  const wrapped = wrapKey(secureRandomBytes(32), user.boxPub)
  for (let bit = 0; bit < wrapped.length * 8; bit += 7) {
    const bad = wrapped.slice()
    bad[bit >> 3] ^= 1 << (bit & 7)
    throwsCode(() => unwrapKey(bad, user.boxSecret), 'BAD_WRAPPED_KEY')
  }
})

test('unwrapKey fails with BAD_WRAPPED_KEY on wrong sizes', () => {
  const user = generateUserKeys()
  const wrapped = wrapKey(secureRandomBytes(32), user.boxPub)
  throwsCode(() => unwrapKey(wrapped.subarray(0, 79), user.boxSecret), 'BAD_WRAPPED_KEY')
  throwsCode(() => unwrapKey(new Uint8Array([...wrapped, 0]), user.boxSecret), 'BAD_WRAPPED_KEY')
  throwsCode(() => unwrapKey(new Uint8Array(0), user.boxSecret), 'BAD_WRAPPED_KEY')
  throwsCode(() => unwrapKey(wrapped, user.boxSecret.subarray(0, 31)), 'BAD_WRAPPED_KEY')
  // A libsodium box of a 16-byte message has the right framing but the wrong payload size.
  const short = fromHex(vectors.libsodium[0].wrapped).subarray(0, 64)
  throwsCode(() => unwrapKey(short, fromHex(vectors.libsodium[0].recipientSecret)), 'BAD_WRAPPED_KEY')
})

test('unwrapKey refuses a small-order ephemeral key', () => {
  const user = generateUserKeys()
  for (const point of SMALL_ORDER) {
    // With a small-order ephemeral key the shared secret is zero whatever the secrets, so anyone
    // can make a box that authenticates: only the explicit check refuses it.
    const k = nacl.box.before(point, secureRandomBytes(32))
    const nonce = blake2b(new Uint8Array([...point, ...user.boxPub]), { dkLen: 24 })
    const forged = new Uint8Array([...point, ...nacl.box.after(secureRandomBytes(32), nonce, k)])
    assert.is(forged.length, WRAPPED_KEY_BYTES)
    throwsCode(() => unwrapKey(forged, user.boxSecret), 'BAD_WRAPPED_KEY')
  }
})

test('wrapKey rejects a bad data key or recipient key with BAD_KEY', () => {
  const user = generateUserKeys()
  throwsCode(() => wrapKey(new Uint8Array(31), user.boxPub), 'BAD_KEY')
  throwsCode(() => wrapKey(new Uint8Array(33), user.boxPub), 'BAD_KEY')
  throwsCode(() => wrapKey(new Uint8Array(32), user.boxPub.subarray(1)), 'BAD_KEY')
  for (const point of SMALL_ORDER) throwsCode(() => wrapKey(new Uint8Array(32), point), 'BAD_KEY')
})

test.run()
