// The vault: a user's private keys sealed under a password-derived key (docs/design.md §3), so the server
// stores only an opaque, JSON-friendly blob. PBKDF2-SHA256 (RFC 8018 §5.2) through WebCrypto
// stretches the password; HKDF-SHA256 (RFC 5869) splits the result into an AES-256-GCM key and a
// password check value; the AAD binds the format version, the KDF parameters and the username.
import { fromBase64, toBase64 } from '../base64.ts'
import { bufferSource, concat, utf8 } from '../bytes.ts'
import { decode, encode } from '../codec.ts'
import { MedichainError } from '../errors.ts'
import { expectBytes, expectFields } from '../schema.ts'
import { secureRandomBytes, userKeysFromSecrets } from './user-keys.ts'
import type { RandomBytes, UserKeys, UserSecrets } from './user-keys.ts'

/** Vault format version; part of the AAD, so a vault can never be read as another version. */
export const VAULT_VERSION = 1

/**
 * PBKDF2-HMAC-SHA256 iterations for new vaults: OWASP's Password Storage Cheat Sheet figure for
 * PBKDF2-HMAC-SHA256 (2023). Tests pass fewer.
 */
export const VAULT_ITERATIONS = 600_000

/** Bounds accepted when opening: the floor catches a downgraded vault, the cap a vault that would hang a browser. */
export const VAULT_MIN_ITERATIONS = 1_000
export const VAULT_MAX_ITERATIONS = 10_000_000

/** Upper bound on the sealed ciphertext; real vaults hold about 100 bytes. */
const MAX_CT_BYTES = 4096
const SALT_BYTES = 16
const IV_BYTES = 12
const CHECK_BYTES = 16
const TAG_BYTES = 16
const HKDF_INFO = 'medichain/vault/v1'

/** A sealed vault as stored by the server and sent inside JSON; binary fields are base64. */
export interface SealedVault {
  v: 1
  kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: number, salt: string }
  /** AES-GCM nonce, 12 bytes. */
  iv: string
  /**
   * 16 bytes derived from the password only (HKDF info `medichain/vault/v1/check`), so a wrong
   * password (BAD_PASSWORD) is told apart from a damaged vault (BAD_VAULT). It reveals nothing the
   * ciphertext does not: either one lets a holder test a password guess at full PBKDF2 cost.
   */
  check: string
  /** AES-256-GCM ciphertext with its 16-byte tag. */
  ct: string
}

/** Options for sealing: the account the vault belongs to, and test knobs. */
export interface SealOptions {
  /** The account's username exactly as the server stores it (compared after NFC); part of the AAD. */
  username: string
  /** PBKDF2 iterations; VAULT_ITERATIONS unless a test asks for fewer. */
  iterations?: number
  /** Source of the salt and IV; tests fix it. */
  random?: RandomBytes
}

function badVault (message: string, options?: ErrorOptions): MedichainError {
  return new MedichainError('BAD_VAULT', `invalid vault: ${message}`, options)
}

/** The base64 field `name` of `f`, decoded to `length` bytes (or 17..max bytes for ct). */
function b64Field (f: Record<string, unknown>, name: string, length?: number): Uint8Array {
  const v = f[name]
  if (typeof v !== 'string' || v.length > Math.ceil(MAX_CT_BYTES / 3) * 4) throw badVault(`${name}: expected a base64 string`)
  let bytes: Uint8Array
  try {
    bytes = fromBase64(v)
  } catch (err) {
    throw badVault(`${name}: not canonical base64`, { cause: err })
  }
  if (length !== undefined && bytes.length !== length) throw badVault(`${name}: expected ${length} bytes, got ${bytes.length}`)
  return bytes
}

/**
 * Checks the shape of a sealed vault received as JSON (the server stores it opaquely but bounded):
 * exact fields, known algorithm names, iterations in range, binary fields of the right sizes.
 * Throws MedichainError BAD_VAULT.
 */
export function parseSealedVault (v: unknown): SealedVault {
  try {
    const f = expectFields(v, 'vault', ['v', 'kdf', 'iv', 'check', 'ct'])
    const k = expectFields(f.kdf, 'vault.kdf', ['name', 'hash', 'iterations', 'salt'])
    if (f.v !== VAULT_VERSION) throw badVault(`unsupported version ${String(f.v)}`)
    if (k.name !== 'PBKDF2' || k.hash !== 'SHA-256') throw badVault('kdf must be PBKDF2 with SHA-256')
    const it = k.iterations
    if (typeof it !== 'number' || !Number.isSafeInteger(it) || it < VAULT_MIN_ITERATIONS || it > VAULT_MAX_ITERATIONS) {
      throw badVault(`kdf.iterations must be an integer in [${VAULT_MIN_ITERATIONS}, ${VAULT_MAX_ITERATIONS}]`)
    }
    const salt = b64Field(k, 'salt', SALT_BYTES)
    const iv = b64Field(f, 'iv', IV_BYTES)
    const check = b64Field(f, 'check', CHECK_BYTES)
    const ct = b64Field(f, 'ct')
    if (ct.length <= TAG_BYTES || ct.length > MAX_CT_BYTES) throw badVault(`ct: expected ${TAG_BYTES + 1}..${MAX_CT_BYTES} bytes, got ${ct.length}`)
    return {
      v: VAULT_VERSION,
      kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations: it, salt: toBase64(salt) },
      iv: toBase64(iv),
      check: toBase64(check),
      ct: toBase64(ct)
    }
  } catch (err) {
    if (err instanceof MedichainError && err.code === 'BAD_VAULT') throw err
    throw badVault(err instanceof Error ? err.message : String(err), { cause: err })
  }
}

/** The AAD: domain tag, then canonical dag-cbor of every parameter that is not secret. */
function vaultAad (iterations: number, salt: Uint8Array, username: string): Uint8Array {
  const params = encode({ v: VAULT_VERSION, kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations, salt }, user: username.normalize('NFC') })
  return concat(utf8(HKDF_INFO), new Uint8Array([0]), params)
}

/**
 * The AES-GCM key and the check value from the password. PBKDF2 over the NFC-normalised password
 * (as RFC 8265's OpaqueString profile does), then HKDF with two `info` labels so the two outputs
 * are independent (RFC 5869 §3.2). The HKDF salt is empty: PBKDF2 already used the random salt.
 */
async function deriveKeys (password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<{ key: CryptoKey, check: Uint8Array }> {
  const subtle = globalThis.crypto.subtle
  const pw = await subtle.importKey('raw', bufferSource(utf8(password.normalize('NFC'))), 'PBKDF2', false, ['deriveBits'])
  const stretched = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, pw, 256)
  const ikm = await subtle.importKey('raw', stretched, 'HKDF', false, ['deriveKey', 'deriveBits'])
  const hkdf = (info: string): HkdfParams => ({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: bufferSource(utf8(info)) })
  const key = await subtle.deriveKey(hkdf(HKDF_INFO), ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
  const check = new Uint8Array(await subtle.deriveBits(hkdf(`${HKDF_INFO}/check`), ikm, CHECK_BYTES * 8))
  return { key, check }
}

/** The same bytes typed for WebCrypto (an ArrayBuffer, not a SharedArrayBuffer); copies only when needed. */

/** Constant-time equality of two equal-length secrets. */
function sameSecret (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let acc = 0
  for (let i = 0; i < a.length; i++) acc |= a[i] ^ b[i]
  return acc === 0
}

/** Seals the user's two secret keys under `password` for `username`. */
export async function sealVault (secrets: UserSecrets, password: string, options: SealOptions): Promise<SealedVault> {
  const iterations = options.iterations ?? VAULT_ITERATIONS
  if (!Number.isSafeInteger(iterations) || iterations < VAULT_MIN_ITERATIONS || iterations > VAULT_MAX_ITERATIONS) {
    throw new MedichainError('INVALID', `iterations must be an integer in [${VAULT_MIN_ITERATIONS}, ${VAULT_MAX_ITERATIONS}]`)
  }
  if (typeof password !== 'string' || password.length === 0) throw new MedichainError('INVALID', 'the password must be a non-empty string')
  const keys = userKeysFromSecrets(secrets)
  const random = options.random ?? secureRandomBytes
  const salt = new Uint8Array(random(SALT_BYTES))
  const iv = new Uint8Array(random(IV_BYTES))
  const { key, check } = await deriveKeys(password, salt, iterations)
  const plain = bufferSource(encode({ sign: keys.signSeed, box: keys.boxSecret }))
  const aad = bufferSource(vaultAad(iterations, salt, options.username))
  const ct = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, plain))
  plain.fill(0)
  return {
    v: VAULT_VERSION,
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations, salt: toBase64(salt) },
    iv: toBase64(iv),
    check: toBase64(check),
    ct: toBase64(ct)
  }
}

/**
 * Opens a sealed vault (already parsed, or straight from JSON) with `password` for `username`,
 * returning the full key set. Throws MedichainError BAD_PASSWORD when the password is wrong, and
 * BAD_VAULT when the vault is malformed, altered, or sealed for another username.
 */
export async function openVault (sealed: unknown, password: string, options: { username: string }): Promise<UserKeys> {
  const vault = parseSealedVault(sealed)
  const salt = fromBase64(vault.kdf.salt)
  const { key, check } = await deriveKeys(password, salt, vault.kdf.iterations)
  if (!sameSecret(check, fromBase64(vault.check))) throw new MedichainError('BAD_PASSWORD', 'wrong password for this vault')
  const aad = bufferSource(vaultAad(vault.kdf.iterations, salt, options.username))
  let plain: Uint8Array
  try {
    const iv = fromBase64(vault.iv)
    const ct = fromBase64(vault.ct)
    plain = new Uint8Array(await globalThis.crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, ct))
  } catch (err) {
    throw badVault('authentication failed (altered, or sealed for another account)', { cause: err })
  }
  try {
    const f = expectFields(decode(plain), 'secrets', ['sign', 'box'])
    return userKeysFromSecrets({ signSeed: expectBytes(f.sign, 'secrets.sign', 32), boxSecret: expectBytes(f.box, 'secrets.box', 32) })
  } catch (err) {
    throw badVault('the sealed secrets are malformed', { cause: err })
  }
}
