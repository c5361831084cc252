// Boundary checks of the auth request bodies: sign-up and sign-in. Shape errors are SchemaError
// (BAD_SCHEMA, 400) naming the field; the password policy is checked where the password is hashed.
import { fromHex } from '../../../protocol/bytes.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, X25519_PUBLIC_KEY_BYTES } from '../../../protocol/constants.ts'
import { SchemaError, TooLargeError } from '../../../protocol/errors.ts'
import { expectEnum, expectFields } from '../../../protocol/schema.ts'
import { ROLES } from '../../../protocol/chain/tx.ts'
import type { Role } from '../../../protocol/chain/tx.ts'
import { MAX_VAULT_BYTES, TOKEN_BYTES, USERNAME_PATTERN } from '../constants.ts'
import type { JsonObject } from '../types.ts'

/** A checked sign-up request; the password is still raw (checkNewPassword applies the policy). */
export interface SignUpRequest {
  username: string
  password: unknown
  role: Role
  signPub: Uint8Array
  boxPub: Uint8Array
  pop: Uint8Array
  vault: JsonObject
  setupToken: string | undefined
  /** The recovery code's derived secret (hex) and the vault sealed under the code; absent: no code. */
  recovery: RecoveryRequest | undefined
}

/** A recovery code as the client sends it: its derived secret, never the code. */
export interface RecoveryRequest { secret: string, vault: JsonObject }

/** A checked password change: the current and the new sign-in secrets, and the vault re-sealed under the new one. */
export interface PasswordChangeRequest { current: unknown, password: unknown, vault: JsonObject }

/** A checked request for the recovery vault, or (with `reset`) to set a new password with the code. */
export interface RecoveryOpenRequest { username: string, secret: string }
export interface RecoveryResetRequest extends RecoveryOpenRequest { password: unknown, vault: JsonObject, recovery: RecoveryRequest }

/** A checked sign-in request: `username` is case-folded and may name no account. */
export interface SignInRequest { username: string, password: unknown }

/**
 * A username folded to lower case (issue 3: 3–64 of [a-z0-9._-]). The pattern is checked before
 * folding as well, so no non-ASCII letter (such as the Kelvin sign) can fold into an ASCII name.
 */
export function parseUsername (v: unknown, path = 'username'): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9._-]*$/.test(v) || !USERNAME_PATTERN.test(v.toLowerCase())) {
    throw new SchemaError(`${path}: expected 3 to 64 characters of a-z, 0-9, '.', '_' or '-'`)
  }
  return v.toLowerCase()
}

/** Bytes from exactly `bytes` bytes of hex, either case. */
export function parseHex (v: unknown, path: string, bytes: number): Uint8Array {
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(v)) {
    throw new SchemaError(`${path}: expected ${bytes * 2} hex digits`)
  }
  return fromHex(v)
}

function parseVault (v: unknown, path = 'vault'): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SchemaError(`${path}: expected the sealed vault object`)
  const size = Buffer.byteLength(JSON.stringify(v), 'utf8')
  if (size > MAX_VAULT_BYTES) throw new TooLargeError(`${path}: at most ${MAX_VAULT_BYTES} bytes of JSON, got ${size}`)
  return v as JsonObject
}

/** Checks a sign-up body. */
export function parseSignUp (v: unknown): SignUpRequest {
  const f = expectFields(v, 'body', ['username', 'password', 'role', 'keys', 'pop', 'vault'], ['setupToken', 'recovery'])
  const keys = expectFields(f.keys, 'keys', ['sign', 'box'])
  const setupToken = f.setupToken
  if (setupToken !== undefined && (typeof setupToken !== 'string' || setupToken.length === 0 || setupToken.length > TOKEN_BYTES * 4)) {
    throw new SchemaError('setupToken: expected the token from the setup link')
  }
  return {
    username: parseUsername(f.username),
    password: f.password,
    role: expectEnum(f.role, 'role', ROLES),
    signPub: parseHex(keys.sign, 'keys.sign', ED25519_PUBLIC_KEY_BYTES),
    boxPub: parseHex(keys.box, 'keys.box', X25519_PUBLIC_KEY_BYTES),
    pop: parseHex(f.pop, 'pop', ED25519_SIGNATURE_BYTES),
    vault: parseVault(f.vault),
    setupToken,
    recovery: f.recovery === undefined ? undefined : parseRecovery(f.recovery, 'recovery')
  }
}

/** The derived secret of a recovery code: 64 lower-case hex digits. */
function parseSecret (v: unknown, path: string): string {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new SchemaError(`${path}: expected the 64 hex digits derived from the recovery code`)
  return v
}

function parseRecovery (v: unknown, path: string): RecoveryRequest {
  const f = expectFields(v, path, ['secret', 'vault'])
  return { secret: parseSecret(f.secret, `${path}.secret`), vault: parseVault(f.vault, `${path}.vault`) }
}

/** Checks a password change body (the passwords are sign-in secrets; the policy applies where they are hashed). */
export function parsePasswordChange (v: unknown): PasswordChangeRequest {
  const f = expectFields(v, 'body', ['current', 'password', 'vault'])
  return { current: f.current, password: f.password, vault: parseVault(f.vault) }
}

/** Checks a request for the recovery vault. A username that could never exist fails like an unknown one. */
export function parseRecoveryOpen (v: unknown): RecoveryOpenRequest {
  const f = expectFields(v, 'body', ['username', 'secret'])
  if (typeof f.username !== 'string' || f.username.length > 256) throw new SchemaError('username: expected a string')
  return { username: f.username.toLowerCase(), secret: parseSecret(f.secret, 'secret') }
}

/** Checks a reset with the recovery code: a new password, the vault re-sealed under it, and a new code. */
export function parseRecoveryReset (v: unknown): RecoveryResetRequest {
  const f = expectFields(v, 'body', ['username', 'secret', 'password', 'vault', 'recovery'])
  const open = parseRecoveryOpen({ username: f.username, secret: f.secret })
  return { ...open, password: f.password, vault: parseVault(f.vault), recovery: parseRecovery(f.recovery, 'recovery') }
}

/** Checks a sign-in body's shape. A username that could never exist stays a string, so it fails like any unknown one. */
export function parseSignIn (v: unknown): SignInRequest {
  const f = expectFields(v, 'body', ['username', 'password'])
  if (typeof f.username !== 'string' || f.username.length > 256) throw new SchemaError('username: expected a string')
  return { username: f.username.toLowerCase(), password: f.password }
}
