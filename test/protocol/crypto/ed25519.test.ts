// Proves the browser's verifier (noble) and the peer's (node:crypto) accept exactly the same
// signatures: RFC 8032 known answers, the "Taming the many EdDSAs" edge cases, our own
// malleability cases, random keys and flipped bits.
import { readFileSync } from 'node:fs'
import { ed25519 } from '@noble/curves/ed25519.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { nobleIdentity, nobleVerify, strictEd25519Precheck } from '../../../protocol/crypto/ed25519.ts'
import { nodeIdentity, nodeVerify, randomSeed } from '../../../ledger/verify/node-crypto.ts'

interface Rfc8032Vector { name: string, secretKey: string, publicKey: string, message: string, signature: string }
interface EdgeVector {
  name: string
  construction: string
  pub: string
  msg: string
  sig: string
  valid: boolean
  observed: { nobleVerifyZip215False: boolean, nodeCryptoWithoutPrecheck: boolean }
}

function load<T> (name: string): T {
  return JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8')) as T
}

const rfc = load<{ vectors: Rfc8032Vector[] }>('rfc8032-ed25519.json').vectors
const edge = load<{ vectors: EdgeVector[] }>('ed25519-edge-cases.json').vectors

/** Both verifiers' verdicts, which must always be equal. */
function verdicts (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): { noble: boolean, node: boolean } {
  return { noble: nobleVerify(pub, msg, sig), node: nodeVerify(pub, msg, sig) }
}

test('RFC 8032 §7.1: keys and signatures match for noble and node:crypto, and both verify', () => {
  assert.is(rfc.length, 5)
  for (const v of rfc) {
    const seed = fromHex(v.secretKey)
    const msg = fromHex(v.message)
    for (const id of [nobleIdentity(seed), nodeIdentity(seed)]) {
      assert.is(toHex(id.publicKey), v.publicKey, `${v.name} public key`)
      assert.is(toHex(id.sign(msg)), v.signature, `${v.name} signature`)
    }
    assert.equal(verdicts(fromHex(v.publicKey), msg, fromHex(v.signature)), { noble: true, node: true }, v.name)
  }
})

test('edge cases: noble and node:crypto agree with each other and with the expected verdict', () => {
  assert.ok(edge.length >= 50)
  for (const v of edge) {
    const got = verdicts(fromHex(v.pub), fromHex(v.msg), fromHex(v.sig))
    assert.equal(got, { noble: v.valid, node: v.valid }, `${v.name}: ${v.construction}`)
  }
})

test('edge cases: the shared pre-check is load-bearing (raw noble is cofactored and disagrees)', () => {
  // Documents why strictEd25519Precheck exists: without it, noble's own verify accepts these.
  const disagreeing = edge.filter(v => {
    let raw = false
    try {
      raw = ed25519.verify(fromHex(v.sig), fromHex(v.msg), fromHex(v.pub), { zip215: false })
    } catch {
      // noble throws on wrong lengths, where ours return false.
    }
    assert.is(raw, v.observed.nobleVerifyZip215False, v.name)
    return raw !== v.valid
  }).map(v => v.name)
  assert.ok(disagreeing.includes('r-identity'))
  assert.ok(disagreeing.includes('r-mixed-order'))
  assert.ok(disagreeing.includes('a-mixed-order-k-nonzero-mod-8'))
})

test('pre-check: rejects S >= L, y >= p and small-order points; accepts an honest signature', () => {
  const id = nobleIdentity(new Uint8Array(32).fill(1))
  const sig = id.sign(new Uint8Array([1, 2, 3]))
  assert.ok(strictEd25519Precheck(id.publicKey, sig))
  const highS = sig.slice()
  highS[63] |= 0xe0
  assert.not.ok(strictEd25519Precheck(id.publicKey, highS))
  const identity = fromHex('0100000000000000000000000000000000000000000000000000000000000000')
  assert.not.ok(strictEd25519Precheck(identity, sig))
  const pPlusOne = fromHex('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')
  assert.not.ok(strictEd25519Precheck(pPlusOne, sig))
  assert.not.ok(strictEd25519Precheck(id.publicKey.subarray(1), sig))
  assert.not.ok(strictEd25519Precheck(id.publicKey, sig.subarray(1)))
})

test('random keys: cross-signed messages verify under both; every flipped bit is rejected by both', () => {
  for (let i = 0; i < 8; i++) {
    const seed = randomSeed()
    const msg = randomSeed().subarray(0, i * 4)
    const signers = [nobleIdentity(seed), nodeIdentity(seed)]
    assert.equal(signers[0].publicKey, signers[1].publicKey)
    for (const id of signers) {
      const sig = id.sign(msg)
      assert.equal(verdicts(id.publicKey, msg, sig), { noble: true, node: true })
      for (let bit = i; bit < 512; bit += 8) {
        const bad = sig.slice()
        bad[bit >> 3] ^= 1 << (bit & 7)
        assert.equal(verdicts(id.publicKey, msg, bad), { noble: false, node: false }, `signature bit ${bit}`)
      }
      for (let bit = i; bit < 256; bit += 16) {
        const badKey = id.publicKey.slice()
        badKey[bit >> 3] ^= 1 << (bit & 7)
        assert.equal(verdicts(badKey, msg, sig), { noble: false, node: false }, `key bit ${bit}`)
      }
      if (msg.length > 0) {
        const badMsg = msg.slice()
        badMsg[0] ^= 0x80
        assert.equal(verdicts(id.publicKey, badMsg, sig), { noble: false, node: false }, 'message bit')
      }
    }
  }
})

test('malformed input: both verifiers return false and never throw', () => {
  const id = nodeIdentity(new Uint8Array(32).fill(2))
  const msg = new Uint8Array([9])
  const sig = id.sign(msg)
  const bad: Array<[unknown, unknown, unknown]> = [
    [new Uint8Array(0), msg, sig],
    [id.publicKey, msg, new Uint8Array(0)],
    [new Uint8Array(32), msg, new Uint8Array(64)],
    [new Uint8Array(32).fill(0xff), msg, sig],
    ['not bytes', msg, sig],
    [id.publicKey, null, sig],
    [id.publicKey, msg, undefined]
  ]
  for (const [pub, m, s] of bad) {
    // Deliberately wrong types from outside data: the verifiers must not trust their signature.
    const args = [pub, m, s] as [Uint8Array, Uint8Array, Uint8Array]
    assert.equal(verdicts(...args), { noble: false, node: false })
  }
})

test('node:crypto identity: Buffer-free output and a bounded key cache under many keys', () => {
  const id = nodeIdentity(new Uint8Array(32).fill(3))
  const sig = id.sign(new Uint8Array([1]))
  assert.is(Object.getPrototypeOf(sig), Uint8Array.prototype)
  assert.is(Object.getPrototypeOf(id.publicKey), Uint8Array.prototype)
  assert.throws(() => nodeIdentity(new Uint8Array(31)))
  // More distinct keys than the cache holds: eviction must not break verification.
  const msg = new Uint8Array([7])
  let verified = 0
  for (let i = 0; i < 4200; i++) {
    const seed = new Uint8Array(32)
    new DataView(seed.buffer).setUint32(0, i + 1)
    const signer = nodeIdentity(seed)
    assert.not.ok(nodeVerify(signer.publicKey, msg, sig))
    if (i % 500 === 0 && nodeVerify(signer.publicKey, msg, signer.sign(msg))) verified++
  }
  assert.is(verified, 9)
  assert.ok(nodeVerify(id.publicKey, new Uint8Array([1]), sig))
})

test.run()
