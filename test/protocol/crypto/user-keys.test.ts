// User keys and hospital box keys: generation is deterministic under a fixed random source, the
// Ed25519→X25519 map matches libsodium's, and a NaCl box works between a derived hospital pair.
import { readFileSync } from 'node:fs'
import { ed25519 } from '@noble/curves/ed25519.js'
import nacl from 'tweetnacl'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { nobleIdentity, nobleVerify } from '../../../protocol/crypto/ed25519.ts'
import {
  generateUserKeys, hospitalBoxPublicKey, hospitalBoxSecretKey, secureRandomBytes, userKeysFromSecrets
} from '../../../protocol/crypto/user-keys.ts'
import { nodeIdentity } from '../../../ledger/verify/node-crypto.ts'
import { throwsCode } from '../../helpers/assert.ts'

interface Conversion { seed: string, edPub: string, xPub: string, xSecret: string }
const vectors = JSON.parse(readFileSync(new URL('../../vectors/key-wrap.json', import.meta.url), 'utf8')) as { ed25519ToX25519: Conversion[] }

/** A deterministic random source: 1, 2, 3, … */
function counter (): (n: number) => Uint8Array {
  let next = 0
  return (n) => Uint8Array.from({ length: n }, () => ++next & 255)
}

test('generateUserKeys gives matching Ed25519 and X25519 pairs', () => {
  const keys = generateUserKeys()
  assert.equal(keys.signPub, ed25519.getPublicKey(keys.signSeed))
  assert.equal(keys.boxPub, nacl.box.keyPair.fromSecretKey(keys.boxSecret).publicKey)
  const msg = new Uint8Array([1, 2, 3])
  assert.ok(nobleVerify(keys.signPub, msg, nobleIdentity(keys.signSeed).sign(msg)))
  assert.not.equal(toHex(keys.signSeed), toHex(keys.boxSecret))
  assert.not.equal(toHex(generateUserKeys().signSeed), toHex(keys.signSeed))
})

test('generateUserKeys is deterministic under a fixed random source and draws independent secrets', () => {
  const a = generateUserKeys(counter())
  const b = generateUserKeys(counter())
  assert.equal(a, b)
  assert.equal(a.signSeed, Uint8Array.from({ length: 32 }, (_, i) => i + 1))
  assert.equal(a.boxSecret, Uint8Array.from({ length: 32 }, (_, i) => i + 33))
})

test('userKeysFromSecrets rejects secrets of the wrong size', () => {
  throwsCode(() => userKeysFromSecrets({ signSeed: new Uint8Array(31), boxSecret: new Uint8Array(32) }), 'BAD_KEY')
  throwsCode(() => userKeysFromSecrets({ signSeed: new Uint8Array(32), boxSecret: new Uint8Array(33) }), 'BAD_KEY')
})

test('secureRandomBytes fills more than one getRandomValues call allows', () => {
  const big = secureRandomBytes(200_000)
  assert.is(big.length, 200_000)
  // The last 64 KiB block is filled too (all-zero would mean it was skipped).
  assert.ok(big.subarray(196_608).some(b => b !== 0))
})

test('hospital box keys match libsodium crypto_sign_ed25519_{pk,sk}_to_curve25519', () => {
  for (const v of vectors.ed25519ToX25519) {
    const seed = fromHex(v.seed)
    assert.is(toHex(nodeIdentity(seed).publicKey), v.edPub)
    assert.is(toHex(hospitalBoxPublicKey(fromHex(v.edPub))), v.xPub)
    assert.is(toHex(hospitalBoxSecretKey(seed)), v.xSecret)
    // The derived secret is the X25519 secret of the derived public key.
    assert.is(toHex(nacl.scalarMult.base(hospitalBoxSecretKey(seed))), v.xPub)
  }
})

test('nacl.box works between a derived hospital pair, knowing only the member key', () => {
  const hospitalSeed = secureRandomBytes(32)
  const memberKey = nodeIdentity(hospitalSeed).publicKey
  const sender = nacl.box.keyPair()
  const nonce = secureRandomBytes(24)
  const message = new TextEncoder().encode('data key for the hospital')
  const box = nacl.box(message, nonce, hospitalBoxPublicKey(memberKey), sender.secretKey)
  assert.equal(nacl.box.open(box, nonce, sender.publicKey, hospitalBoxSecretKey(hospitalSeed)), message)
  // Another hospital's derived secret does not open it.
  assert.is(nacl.box.open(box, nonce, sender.publicKey, hospitalBoxSecretKey(secureRandomBytes(32))), null)
})

test('hospitalBoxPublicKey rejects keys that are not large-order Ed25519 points', () => {
  throwsCode(() => hospitalBoxPublicKey(new Uint8Array(31)), 'BAD_KEY')
  // The identity (y = 1) and the order-4 point (y = 0) have small order.
  const identity = new Uint8Array(32)
  identity[0] = 1
  throwsCode(() => hospitalBoxPublicKey(identity), 'BAD_KEY')
  throwsCode(() => hospitalBoxPublicKey(new Uint8Array(32)), 'BAD_KEY')
  // y = p (non-canonical) and a y with no x on the curve.
  throwsCode(() => hospitalBoxPublicKey(fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')), 'BAD_KEY')
  const offCurve = new Uint8Array(32)
  offCurve[0] = 2
  throwsCode(() => hospitalBoxPublicKey(offCurve), 'BAD_KEY')
  throwsCode(() => hospitalBoxSecretKey(new Uint8Array(16)), 'BAD_KEY')
})

test.run()
