// The primitives of secure aggregation on published vectors (RFC 7748 §6.1 X25519, FIPS-197 §4.2
// GF(2^8) products) and on wrong inputs: Shamir splits and recombines only with enough shares,
// sealed shares refuse tampering (SHARE_FORGED), the quantiser is exact and refuses NaN.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex, utf8 } from '../../../../protocol/bytes.ts'
import { agree, generateKeyPair, publicKeyOf } from '../../../../node/fl/secagg/keys.ts'
import { expand, roundContext } from '../../../../node/fl/secagg/prg.ts'
import { addInto, dequantise, quantise, scaleFor } from '../../../../node/fl/secagg/quantise.ts'
import { combine, gfInv, gfMul, split } from '../../../../node/fl/secagg/shamir.ts'
import { openShare, sealShare } from '../../../../node/fl/secagg/share-cipher.ts'
import { throwsCode } from '../../../helpers/assert.ts'

test('X25519 matches RFC 7748 §6.1', () => {
  const a = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
  const b = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
  assert.is(toHex(publicKeyOf(a)), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
  assert.is(toHex(publicKeyOf(b)), 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
  const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
  assert.is(toHex(agree(a, publicKeyOf(b))), k)
  assert.is(toHex(agree(b, publicKeyOf(a))), k)
})

test('X25519 refuses a low-order public key and keys of the wrong length', () => {
  const { privateKey } = generateKeyPair()
  throwsCode(() => agree(privateKey, new Uint8Array(32)), 'SECAGG_BAD_INPUT')
  throwsCode(() => agree(privateKey, new Uint8Array(31)), 'SECAGG_BAD_INPUT')
  throwsCode(() => agree(new Uint8Array(33), generateKeyPair().publicKey), 'SECAGG_BAD_INPUT')
})

test('GF(2^8) products match FIPS-197 §4.2, and inverses invert', () => {
  assert.is(gfMul(0x57, 0x83), 0xc1)
  assert.is(gfMul(0x57, 0x13), 0xfe)
  assert.is(gfMul(0x57, 0x02), 0xae)
  for (let a = 1; a < 256; a++) assert.is(gfMul(a, gfInv(a)), 1)
  throwsCode(() => gfInv(0), 'INVALID')
})

test('Shamir: a known polynomial gives known shares, and any t of n recombine', () => {
  // Degree 1, secret 0x57, coefficient 0x83: share at x is 0x57 ⊕ {83}·x.
  const shares = split(Uint8Array.of(0x57), 3, 2, () => Uint8Array.of(0x83))
  assert.equal(shares.map(s => s.y[0]), [0x57 ^ 0x83, 0x57 ^ gfMul(0x83, 2), 0x57 ^ gfMul(0x83, 3)])
  const secret = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff)
  const five = split(secret, 5, 3)
  for (const pick of [[0, 1, 2], [0, 2, 4], [4, 3, 1], [0, 1, 2, 3, 4]]) {
    assert.equal(combine(pick.map(i => five[i])), secret)
  }
  // Fewer than t shares give something else (with overwhelming probability for 32 bytes).
  assert.not.equal(combine([five[0], five[1]]), secret)
})

test('Shamir refuses bad parameters and bad share sets', () => {
  throwsCode(() => split(new Uint8Array(4), 2, 3), 'INVALID')
  throwsCode(() => split(new Uint8Array(4), 256, 2), 'INVALID')
  throwsCode(() => split(new Uint8Array(4), 3, 0), 'INVALID')
  const s = split(new Uint8Array(4), 3, 2)
  throwsCode(() => combine([]), 'SECAGG_BAD_SHARES')
  throwsCode(() => combine([s[0], s[0]]), 'SECAGG_BAD_SHARES')
  throwsCode(() => combine([s[0], { x: 2, y: new Uint8Array(3) }]), 'SECAGG_BAD_SHARES')
  throwsCode(() => combine([s[0], { x: 0, y: new Uint8Array(4) }]), 'SECAGG_BAD_SHARES')
})

test('a sealed share opens only for its pair and round, and any tampering is SHARE_FORGED', () => {
  const alice = generateKeyPair()
  const bob = generateKeyPair()
  const eve = generateKeyPair()
  const ctx = roundContext(utf8('ledger'), 'seg-1', 3)
  const [from, to] = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]
  const sealed = sealShare(utf8('share'), alice.privateKey, bob.publicKey, ctx, from, to)
  assert.equal(openShare(sealed, bob.privateKey, alice.publicKey, ctx, from, to), utf8('share'))
  for (const i of [0, 12, sealed.length - 1]) {
    const bad = sealed.slice()
    bad[i] ^= 1
    throwsCode(() => openShare(bad, bob.privateKey, alice.publicKey, ctx, from, to), 'SHARE_FORGED')
  }
  throwsCode(() => openShare(sealed, eve.privateKey, alice.publicKey, ctx, from, to), 'SHARE_FORGED')
  throwsCode(() => openShare(sealed, bob.privateKey, alice.publicKey, roundContext(utf8('ledger'), 'seg-1', 4), from, to), 'SHARE_FORGED')
  throwsCode(() => openShare(sealed, bob.privateKey, alice.publicKey, ctx, to, from), 'SHARE_FORGED')
  throwsCode(() => openShare(sealed.subarray(0, 20), bob.privateKey, alice.publicKey, ctx, from, to), 'SHARE_FORGED')
})

test('the PRG is deterministic per seed, round and purpose', () => {
  const seed = new Uint8Array(32).fill(7)
  const ctx = roundContext(utf8('l'), 't', 1)
  assert.equal(expand(seed, ctx, 'a', 8), expand(seed, ctx, 'a', 8))
  assert.not.equal(expand(seed, ctx, 'a', 8), expand(seed, ctx, 'b', 8))
  assert.not.equal(expand(seed, ctx, 'a', 8), expand(seed, roundContext(utf8('l'), 't', 2), 'a', 8))
})

test('quantised values add exactly in Z/2^32 and read back signed', () => {
  const scale = scaleFor(4)
  const a = quantise([1.5, -2, 0], scale, 2)
  const b = quantise([-0.25, -1.5, 2], scale, 2)
  assert.is(a.saturated + b.saturated, 0)
  const sum = dequantise(addInto(a.encoded.slice(), b.encoded), scale)
  for (const [i, want] of [1.25, -3.5, 2].entries()) assert.ok(Math.abs(sum[i] - want) < 2 / scale)
  // Beyond the limit: saturated and counted, never wrapped.
  const c = quantise([5, -5], scale, 2)
  assert.is(c.saturated, 2)
  assert.ok(Math.abs(dequantise(c.encoded, scale)[1] + 2) < 1 / scale)
  throwsCode(() => quantise([Number.NaN], scale, 2), 'SECAGG_BAD_INPUT')
  throwsCode(() => scaleFor(0), 'INVALID')
})

test.run()
