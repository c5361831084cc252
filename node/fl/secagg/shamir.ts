// Shamir secret sharing (Shamir, "How to Share a Secret", CACM 1979) of byte strings, bytewise over
// GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (FIPS-197 §4.2): every secret byte is the
// constant term of its own random polynomial of degree t − 1, and share i holds the polynomials'
// values at x = i. Any t shares give the secret back by Lagrange interpolation at 0; fewer reveal
// nothing. Used for the self-mask seeds and mask private keys of secure aggregation.
import { randomBytes } from 'node:crypto'
import { InvalidRequestError } from '../../../protocol/errors.ts'
import { MAX_PARTIES } from './constants.ts'
import { SecAggError } from './errors.ts'

/** One share: the x-coordinate (1..255) and the polynomials' values there, one byte per secret byte. */
export interface Share { x: number, y: Uint8Array }

const EXP = new Uint8Array(510)
const LOG = new Uint8Array(256)
{
  // 0x03 generates GF(2^8)* under the AES polynomial (FIPS-197 §4.2): build exp/log tables from it.
  let v = 1
  for (let i = 0; i < 255; i++) {
    EXP[i] = v
    LOG[v] = i
    v ^= (v << 1) ^ ((v & 0x80) !== 0 ? 0x11b : 0)
    v &= 0xff
  }
  for (let i = 255; i < 510; i++) EXP[i] = EXP[i - 255]
}

/** Product in GF(2^8) (FIPS-197 §4.2: {57}·{83} = {c1}). */
export function gfMul (a: number, b: number): number {
  if (a === 0 || b === 0) return 0
  return EXP[LOG[a] + LOG[b]]
}

/** Multiplicative inverse in GF(2^8); throws INVALID for 0. */
export function gfInv (a: number): number {
  if (a === 0) throw new InvalidRequestError('0 has no inverse in GF(2^8)')
  return EXP[255 - LOG[a]]
}

/**
 * Splits `secret` into `n` shares (x = 1..n), any `t` of which recover it. Throws INVALID unless
 * 1 ≤ t ≤ n ≤ 255. `random` supplies the coefficients (default node:crypto randomBytes).
 */
export function split (secret: Uint8Array, n: number, t: number, random: (n: number) => Uint8Array = randomBytes): Share[] {
  if (!Number.isInteger(n) || !Number.isInteger(t) || t < 1 || n < t || n > MAX_PARTIES) {
    throw new InvalidRequestError(`Shamir needs 1 ≤ t ≤ n ≤ ${MAX_PARTIES}, got t = ${t}, n = ${n}`)
  }
  const coefficients = random(secret.length * (t - 1))
  const shares: Share[] = []
  for (let x = 1; x <= n; x++) {
    const y = new Uint8Array(secret.length)
    for (let b = 0; b < secret.length; b++) {
      // Horner: ((a_{t−1}·x + a_{t−2})·x + …)·x + secret.
      let acc = 0
      for (let k = t - 2; k >= 0; k--) acc = gfMul(acc, x) ^ coefficients[b * (t - 1) + k]
      y[b] = gfMul(acc, x) ^ secret[b]
    }
    shares.push({ x, y })
  }
  return shares
}

/**
 * The secret from `shares` (at least the threshold's worth; extra ones are used too, so they must
 * agree). Throws SECAGG_BAD_SHARES on no shares, repeated or out-of-range x, or differing lengths.
 */
export function combine (shares: readonly Share[]): Uint8Array {
  if (shares.length === 0) throw new SecAggError('SECAGG_BAD_SHARES', 'no shares to combine')
  const len = shares[0].y.length
  const xs = new Set<number>()
  for (const s of shares) {
    if (!Number.isInteger(s.x) || s.x < 1 || s.x > MAX_PARTIES || xs.has(s.x)) throw new SecAggError('SECAGG_BAD_SHARES', `share x-coordinate ${s.x} is out of range or repeated`)
    if (s.y.length !== len) throw new SecAggError('SECAGG_BAD_SHARES', 'shares differ in length')
    xs.add(s.x)
  }
  // Lagrange basis at 0: ℓ_i(0) = Π_{j≠i} x_j / (x_j − x_i); subtraction is XOR in GF(2^8).
  const basis = shares.map((s, i) => {
    let num = 1
    let den = 1
    shares.forEach((o, j) => {
      if (j === i) return
      num = gfMul(num, o.x)
      den = gfMul(den, o.x ^ s.x)
    })
    return gfMul(num, gfInv(den))
  })
  const out = new Uint8Array(len)
  for (let b = 0; b < len; b++) {
    let acc = 0
    for (let i = 0; i < shares.length; i++) acc ^= gfMul(basis[i], shares[i].y[b])
    out[b] = acc
  }
  return out
}
