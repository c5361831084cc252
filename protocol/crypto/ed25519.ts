// Ed25519 for the browser and the SDK, with strict RFC 8032 verification (noble, zip215: false).
// The peer verifies with node:crypto instead (ledger/verify/node-crypto.ts); both run the same byte-level
// pre-check and the same cofactorless equation, so they accept exactly the same signatures.
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { sha512 } from '@noble/hashes/sha2.js'
import { concat, equals, fromHex } from '../bytes.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../constants.ts'

/** Verifies `sig` over `message` under `publicKey`; false for any malformed input. */
export type Verifier = (publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array) => boolean

/** Signs `message` with the holder's private key, returning a 64-byte signature. */
export type Signer = (message: Uint8Array) => Uint8Array

/** An Ed25519 identity: a public key and a way to sign with the matching private key. */
export interface Identity {
  publicKey: Uint8Array
  sign: Signer
}

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian (RFC 8032 §5.1). */
const L_LE = fromHex('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')

/** The field prime p = 2^255 - 19, little-endian (RFC 8032 §5.1). */
const P_LE = fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f')

/**
 * The y-coordinates (sign bit cleared) of the eight points of order dividing 8: the identity
 * (y = 1), order 2 (y = p - 1), order 4 (y = 0) and two y values shared by the four points of
 * order 8 (@noble/curves ED25519_TORSION_SUBGROUP). Matching on y with the sign bit masked also
 * catches the invalid "negative zero" encodings of the two points with x = 0.
 */
const SMALL_ORDER_Y = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05'
].map(fromHex)

/** True when the 32 little-endian bytes, with bit 255 masked if asked, are below `limit`. */
function lessThanLE (bytes: Uint8Array, offset: number, limit: Uint8Array, maskTopBit: boolean): boolean {
  for (let i = 31; i >= 0; i--) {
    const b = i === 31 && maskTopBit ? bytes[offset + i] & 0x7f : bytes[offset + i]
    if (b !== limit[i]) return b < limit[i]
  }
  return false
}

/** True when the point encoding at `offset` has y < p and y is not that of a small-order point. */
function isCanonicalLargeOrderEncoding (bytes: Uint8Array, offset: number): boolean {
  if (!lessThanLE(bytes, offset, P_LE, true)) return false
  return !SMALL_ORDER_Y.some(y => {
    for (let i = 0; i < 32; i++) {
      const b = i === 31 ? bytes[offset + i] & 0x7f : bytes[offset + i]
      if (b !== y[i]) return false
    }
    return true
  })
}

/**
 * The byte-level rules both verifiers apply before any curve arithmetic. It rejects S ≥ L
 * (malleability, RFC 8032 §5.1.7), encodings of A or R with y ≥ p (non-canonical, §5.1.3), and A
 * or R of small order (including x = 0 with the sign bit set). It costs a few byte compares.
 *
 * Why: OpenSSL (node:crypto) and noble's strict verify disagree without it. With OpenSSL 3.5,
 * node:crypto rejects a small-order R that noble accepts, and noble's cofactored equation accepts
 * R or A with a torsion component that OpenSSL's cofactorless one rejects (the "observed" fields
 * of test/vectors/ed25519-edge-cases.json). With these rules, and the cofactorless equation in
 * `nobleVerify`, both sides decide the same inputs by the same test.
 */
export function strictEd25519Precheck (publicKey: Uint8Array, sig: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || !(sig instanceof Uint8Array)) return false
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || sig.length !== ED25519_SIGNATURE_BYTES) return false
  if (!lessThanLE(sig, 32, L_LE, false)) return false
  return isCanonicalLargeOrderEncoding(publicKey, 0) && isCanonicalLargeOrderEncoding(sig, 0)
}

/**
 * Strict RFC 8032 verification with @noble/curves. Never throws.
 *
 * After the shared pre-check it decodes A strictly (zip215 off) and checks the cofactorless
 * equation R = [S]B - [k]A by comparing encodings. RFC 8032 §5.1.7 allows this in place of the
 * cofactored [8][S]B = [8]R + [8][k]A; OpenSSL uses it. noble's own `verify` is cofactored, and
 * keys or R with a torsion component would then verify in the browser but not in the peer.
 */
export const nobleVerify: Verifier = (publicKey, message, sig) => {
  if (!strictEd25519Precheck(publicKey, sig) || !(message instanceof Uint8Array)) return false
  try {
    const A = ed25519.Point.fromBytes(publicKey, false)
    const r = sig.subarray(0, 32)
    const s = bytesToNumberLE(sig.subarray(32))
    const k = ed25519.Point.Fn.create(bytesToNumberLE(sha512(concat(r, publicKey, message))))
    const R = ed25519.Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k))
    return equals(R.toBytes(), r)
  } catch {
    return false
  }
}

/** An identity from a 32-byte Ed25519 seed, signing with @noble/curves (browser, SDK). */
export function nobleIdentity (seed: Uint8Array): Identity {
  if (seed.length !== 32) throw new TypeError(`expected a 32-byte Ed25519 seed, got ${seed.length} bytes`)
  const publicKey = ed25519.getPublicKey(seed)
  return { publicKey, sign: (message) => ed25519.sign(message, seed) }
}
