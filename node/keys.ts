// The hospital key file `<data>/hospital.key`: one Ed25519 private key, stored as PKCS#8 PEM
// (RFC 8410 §7, what `openssl genpkey -algorithm ed25519` writes) with mode 0600. The same key is
// the hospital's libp2p PeerId and its ledger signing key (docs/design.md §3).
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { mkdir, open, readFile, stat, link, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { MedichainError } from '../protocol/errors.ts'
import { syncDir } from './durable/file.ts'

/** File name of the hospital key inside the data folder. */
export const KEY_FILE = 'hospital.key'

/** Permission bits of the key file: owner read/write only. */
export const KEY_FILE_MODE = 0o600

/** Permission bits of a data folder this code creates: owner only. */
export const DATA_DIR_MODE = 0o700

/** RFC 8410 §7 PKCS#8 prefix of an Ed25519 private key; the 32-byte seed follows it. */
const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20
])

/** Thrown when `init` would overwrite an existing hospital key. */
export class KeyExistsError extends MedichainError {
  constructor (path: string) {
    super('KEY_EXISTS', `a hospital key already exists at ${path}; refusing to overwrite it`)
    this.name = 'KeyExistsError'
  }
}

/** Thrown when the hospital key file does not exist. */
export class KeyNotFoundError extends MedichainError {
  constructor (path: string) {
    super('KEY_NOT_FOUND', `no hospital key at ${path}; run \`medichain init\` first`)
    this.name = 'KeyNotFoundError'
  }
}

/** Thrown when the key file can be read by the group or others. */
export class KeyPermissionsError extends MedichainError {
  constructor (path: string, mode: number) {
    super('KEY_PERMISSIONS', `hospital key ${path} has mode ${(mode & 0o777).toString(8).padStart(4, '0')}; it must not be readable by group or others (run: chmod 600 ${path})`)
    this.name = 'KeyPermissionsError'
  }
}

/** Thrown when the key file is not a PEM-encoded Ed25519 private key. */
export class BadKeyFileError extends MedichainError {
  constructor (path: string, detail: string) {
    super('BAD_KEY', `hospital key ${path} is not an Ed25519 PKCS#8 PEM key: ${detail}`)
    this.name = 'BadKeyFileError'
  }
}

/** A loaded hospital key. `seed` is secret: never log it or send it anywhere. */
export interface HospitalKey {
  /** The 32-byte Ed25519 seed (RFC 8032 §5.1.5 private key). */
  seed: Uint8Array
  publicKey: Uint8Array
  /** The libp2p PeerId string derived from the public key. */
  peerId: string
  path: string
}

/** Path of the key file inside a data folder. */
export function keyPath (dataDir: string): string {
  return join(dataDir, KEY_FILE)
}

/** The libp2p PeerId (base58 identity multihash) of an Ed25519 public key. */
export function peerIdOf (publicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}

function keyObjectOf (seed: Uint8Array): KeyObject {
  const der = new Uint8Array(PKCS8_ED25519_PREFIX.length + seed.length)
  der.set(PKCS8_ED25519_PREFIX)
  der.set(seed, PKCS8_ED25519_PREFIX.length)
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })
}

function publicKeyOf (key: KeyObject): Uint8Array {
  const x = createPublicKey(key).export({ format: 'jwk' }).x
  if (typeof x !== 'string') throw new TypeError('node:crypto returned an Ed25519 JWK without x')
  return new Uint8Array(Buffer.from(x, 'base64url'))
}

/** PKCS#8 PEM text of an Ed25519 seed, as written to the key file. */
export function seedToPem (seed: Uint8Array): string {
  if (seed.length !== 32) throw new TypeError(`expected a 32-byte Ed25519 seed, got ${seed.length} bytes`)
  const pem = keyObjectOf(seed).export({ type: 'pkcs8', format: 'pem' })
  return typeof pem === 'string' ? pem : pem.toString('utf8')
}

/** Reads the seed back out of PEM text; throws BadKeyFileError naming `path`. */
export function seedFromPem (pem: string, path = KEY_FILE): Uint8Array {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch (err) {
    throw new BadKeyFileError(path, err instanceof Error ? err.message : 'unreadable')
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new BadKeyFileError(path, `it is a ${String(key.asymmetricKeyType)} key`)
  const d = key.export({ format: 'jwk' }).d
  if (typeof d !== 'string') throw new BadKeyFileError(path, 'no private part')
  return new Uint8Array(Buffer.from(d, 'base64url'))
}

function describe (seed: Uint8Array, path: string): HospitalKey {
  const publicKey = publicKeyOf(keyObjectOf(seed))
  return { seed, publicKey, peerId: peerIdOf(publicKey), path }
}

/**
 * Creates `<data>/hospital.key` with a fresh (or the given) seed, mode 0600. The write is atomic
 * and never overwrites: the key goes to a temporary file first, is synced, and is then hard-linked
 * into place, which fails if a key already exists (KeyExistsError).
 */
export async function createKeyFile (dataDir: string, opts: { seed?: Uint8Array } = {}): Promise<HospitalKey> {
  const seed = opts.seed ?? new Uint8Array(randomBytes(32))
  const pem = seedToPem(seed)
  await mkdir(dataDir, { recursive: true, mode: DATA_DIR_MODE })
  const path = keyPath(dataDir)
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const file = await open(tmp, 'wx', KEY_FILE_MODE)
  try {
    await file.chmod(KEY_FILE_MODE)
    await file.writeFile(pem, 'utf8')
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await link(tmp, path)
  } catch (err) {
    if (isCode(err, 'EEXIST')) throw new KeyExistsError(path)
    throw err
  } finally {
    await unlink(tmp)
  }
  await syncDir(dataDir)
  return describe(seed, path)
}

/** Loads `<data>/hospital.key`, refusing a file that group or others could read. */
export async function loadKeyFile (dataDir: string): Promise<HospitalKey> {
  const path = keyPath(dataDir)
  let mode: number
  try {
    mode = (await stat(path)).mode
  } catch (err) {
    if (isCode(err, 'ENOENT')) throw new KeyNotFoundError(path)
    throw err
  }
  if ((mode & 0o077) !== 0) throw new KeyPermissionsError(path, mode)
  return describe(seedFromPem(await readFile(path, 'utf8'), path), path)
}

/** Loads the key, creating it when the data folder has none yet (first run). */
export async function loadOrCreateKey (dataDir: string): Promise<{ key: HospitalKey, created: boolean }> {
  try {
    return { key: await loadKeyFile(dataDir), created: false }
  } catch (err) {
    if (!(err instanceof KeyNotFoundError)) throw err
  }
  try {
    return { key: await createKeyFile(dataDir), created: true }
  } catch (err) {
    // Another process created it between our stat and our link: use theirs.
    if (err instanceof KeyExistsError) return { key: await loadKeyFile(dataDir), created: false }
    throw err
  }
}

function isCode (err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code
}
