// The recovery code (issue 16.2): 100 random bits the patient is shown once at sign-up and keeps
// on paper. It seals a second copy of the vault (vault.ts, with the code as the password), and the
// client proves it holds the code with a secret derived from it, never the code itself, so the
// peer that stores the second vault cannot open it. Crockford base32 (no I, L, O, U), so a code
// read back from paper survives case, spaces and the usual confusions of 0/O and 1/I/L.
import { bufferSource, toHex, utf8 } from '../bytes.ts'
import { MedichainError } from '../errors.ts'
import { secureRandomBytes } from './user-keys.ts'
import type { RandomBytes } from './user-keys.ts'

/** Crockford's base32 alphabet (https://www.crockford.com/base32.html). */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** Symbols of a code: 20 × 5 bits = 100 bits, beyond any online or offline guessing. */
export const RECOVERY_CODE_SYMBOLS = 20

/**
 * PBKDF2 iterations of the recovery secret. The code carries 100 bits, so stretching adds nothing
 * against guessing; a modest count keeps the derivation quick on a phone.
 */
export const RECOVERY_SECRET_ITERATIONS = 10_000

/** Thrown when a typed recovery code is not 20 symbols of the alphabet. */
export class MalformedRecoveryCodeError extends MedichainError {
  constructor () {
    super('BAD_RECOVERY_CODE', `a recovery code is ${RECOVERY_CODE_SYMBOLS} letters and digits, as printed`)
    this.name = 'MalformedRecoveryCodeError'
  }
}

/** A fresh code, printed in five groups of four: `7K3M-…`. */
export function newRecoveryCode (random: RandomBytes = secureRandomBytes): string {
  // Rejection-free: 32 symbols divide 256, so each byte's low 5 bits are uniform.
  const bytes = random(RECOVERY_CODE_SYMBOLS)
  const symbols = [...bytes].map(b => ALPHABET[b & 31])
  const groups: string[] = []
  for (let i = 0; i < symbols.length; i += 4) groups.push(symbols.slice(i, i + 4).join(''))
  return groups.join('-')
}

/**
 * The canonical form of a typed code: upper case, no separators, O read as 0 and I or L as 1.
 * Throws BAD_RECOVERY_CODE when what remains is not 20 symbols of the alphabet.
 */
export function normaliseRecoveryCode (typed: string): string {
  const s = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
  if (s.length !== RECOVERY_CODE_SYMBOLS || [...s].some(c => !ALPHABET.includes(c))) throw new MalformedRecoveryCodeError()
  return s
}

/**
 * What the client sends to prove it holds the code (64 hex digits): PBKDF2 over the canonical code
 * with a salt from the username, then HKDF with its own label, so it is unrelated to the key that
 * seals the recovery vault. The peer keeps only its SHA-256.
 */
export async function deriveRecoverySecret (username: string, code: string, iterations = RECOVERY_SECRET_ITERATIONS): Promise<string> {
  const subtle = globalThis.crypto.subtle
  const base = await subtle.importKey('raw', bufferSource(utf8(normaliseRecoveryCode(code))), 'PBKDF2', false, ['deriveBits'])
  const salt = utf8(`medichain/recovery/v1:${username.normalize('NFC').toLowerCase()}`)
  const master = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: bufferSource(salt), iterations }, base, 256)
  const hkdf = await subtle.importKey('raw', master, 'HKDF', false, ['deriveBits'])
  const secret = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: bufferSource(utf8('medichain/recovery/v1')) }, hkdf, 256)
  return toHex(new Uint8Array(secret))
}
