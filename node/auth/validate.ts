// Boundary checks of the auth request bodies: sign-up and sign-in. Shape errors are SchemaError
// (BAD_SCHEMA, 400) naming the field; the password policy is checked where the password is hashed.
import { fromHex } from '../../protocol/bytes.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, X25519_PUBLIC_KEY_BYTES } from '../../protocol/constants.ts'
import { SchemaError, TooLargeError } from '../../protocol/errors.ts'
import { expectEnum, expectFields } from '../../protocol/schema.ts'
import { ROLES } from '../../protocol/tx.ts'
import type { Role } from '../../protocol/tx.ts'
import { MAX_VAULT_BYTES, TOKEN_BYTES, USERNAME_PATTERN } from './constants.ts'
import type { JsonObject } from './types.ts'

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
}

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

function parseVault (v: unknown): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SchemaError('vault: expected the sealed vault object')
  const size = Buffer.byteLength(JSON.stringify(v), 'utf8')
  if (size > MAX_VAULT_BYTES) throw new TooLargeError(`vault: at most ${MAX_VAULT_BYTES} bytes of JSON, got ${size}`)
  return v as JsonObject
}

/** Checks a sign-up body. */
export function parseSignUp (v: unknown): SignUpRequest {
  const f = expectFields(v, 'body', ['username', 'password', 'role', 'keys', 'pop', 'vault'], ['setupToken'])
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
    setupToken
  }
}

/** Checks a sign-in body's shape. A username that could never exist stays a string, so it fails like any unknown one. */
export function parseSignIn (v: unknown): SignInRequest {
  const f = expectFields(v, 'body', ['username', 'password'])
  if (typeof f.username !== 'string' || f.username.length > 256) throw new SchemaError('username: expected a string')
  return { username: f.username.toLowerCase(), password: f.password }
}
