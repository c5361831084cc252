// What the client sends the peer instead of the password. The same password seals the user's
// key vault (vault.ts), which the peer stores; if the peer saw the password it could open the
// vault. So the client derives a separate secret (PBKDF2-SHA256 over the password with a salt
// from the username, then HKDF with its own label) and sends that; the peer scrypt-hashes it
// like a password. The password policy (12–128 characters) is therefore checked here.
import { bufferSource, toHex, utf8 } from '../bytes.ts'
import { MedichainError } from '../errors.ts'
import { VAULT_ITERATIONS } from './vault.ts'

/** Password length bounds in Unicode code points after NFC (issue 3). */
export const PASSWORD_MIN = 12
export const PASSWORD_MAX = 128

/**
 * PBKDF2 iterations of the derivation: fixed for every client (browser, SDK, CLI), since a user
 * signs in from any of them and nothing records a per-account count; as many as a new vault's.
 */
export const AUTH_ITERATIONS = VAULT_ITERATIONS

/** Thrown when a password is outside the policy; the same code the peer uses. */
export class WeakPasswordError extends MedichainError {
  constructor () {
    super('WEAK_PASSWORD', `a password needs ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`)
    this.name = 'WeakPasswordError'
  }
}

/** Checks the password policy. */
export function checkPassword (password: string): string {
  const normalised = password.normalize('NFC')
  const length = [...normalised].length
  if (length < PASSWORD_MIN || length > PASSWORD_MAX) throw new WeakPasswordError()
  return normalised
}

/**
 * The 32-byte authentication secret of `username` and `password`, as 64 hex digits. Deterministic
 * (the salt is the folded username), so sign-up and every later sign-in derive the same one; as
 * costly as opening the vault, so a peer that records it gains no cheaper guess at the password.
 */
export async function deriveAuthSecret (username: string, password: string, iterations = AUTH_ITERATIONS): Promise<string> {
  const subtle = globalThis.crypto.subtle
  const base = await subtle.importKey('raw', bufferSource(utf8(checkPassword(password))), 'PBKDF2', false, ['deriveBits'])
  const salt = utf8(`medichain/auth/v1:${username.normalize('NFC').toLowerCase()}`)
  const master = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: bufferSource(salt), iterations }, base, 256)
  const hkdf = await subtle.importKey('raw', master, 'HKDF', false, ['deriveBits'])
  const secret = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: bufferSource(utf8('medichain/auth/v1')) }, hkdf, 256)
  return toHex(new Uint8Array(secret))
}
