// Password policy and hashing: NFC-normalised passwords of 12–128 code points, hashed with scrypt
// (RFC 7914) on libuv's thread pool, never on the event loop, and stored as a PHC string that
// carries its own cost, so a later change of N still verifies older hashes.
import { scrypt, timingSafeEqual } from 'node:crypto'
import { InvalidRequestError } from '../../../protocol/errors.ts'
import type { RandomBytes } from '../types.ts'
import {
  HASH_BYTES, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, SALT_BYTES, SCRYPT_CONCURRENCY, SCRYPT_MAX_N, SCRYPT_MIN_N,
  SCRYPT_P, SCRYPT_QUEUE_LIMIT, SCRYPT_R, scryptMaxmem
} from '../constants.ts'
import { BusyError, WeakPasswordError } from '../errors.ts'

/** UTF-16 code units beyond which a string cannot be a 128-character password, even before NFC. */
const MAX_PASSWORD_UNITS = PASSWORD_MAX_CHARS * 4

/**
 * The password as hashed: Unicode NFC (NIST SP 800-63B §5.1.1.2), so the same password typed on
 * two keyboards that compose characters differently gives the same bytes. Lone surrogates are
 * refused because UTF-8 would turn each into U+FFFD and make different passwords collide.
 */
export function normalisePassword (v: unknown, field = 'password'): string {
  if (typeof v !== 'string') throw new InvalidRequestError(`${field}: expected a string`)
  if (v.length > MAX_PASSWORD_UNITS) throw new InvalidRequestError(`${field}: far longer than any password allowed`)
  if (!v.isWellFormed()) throw new InvalidRequestError(`${field}: not well-formed Unicode (lone surrogate)`)
  return v.normalize('NFC')
}

/** Checks a new password against the policy (12..128 code points after NFC) and returns it normalised. */
export function checkNewPassword (v: unknown): string {
  if (typeof v === 'string' && v.length > MAX_PASSWORD_UNITS) throw new WeakPasswordError(`password: at most ${PASSWORD_MAX_CHARS} characters`)
  const password = normalisePassword(v)
  const chars = [...password].length
  if (chars < PASSWORD_MIN_CHARS || chars > PASSWORD_MAX_CHARS) {
    throw new WeakPasswordError(`password: expected ${PASSWORD_MIN_CHARS} to ${PASSWORD_MAX_CHARS} characters, got ${chars}`)
  }
  return password
}

/** Hashes and checks passwords. */
export interface PasswordHasher {
  /** A PHC string `$scrypt$ln=…,r=8,p=1$salt$hash` (base64 without padding) for a normalised password. */
  hash(password: string): Promise<string>
  /** True when `password` matches `encoded`; false for a wrong password or a malformed hash. */
  verify(password: string, encoded: string): Promise<boolean>
  /** True when `encoded` was made with another cost than this hasher's. */
  needsRehash(encoded: string): boolean
  /**
   * Runs one verification that cannot succeed, so an unknown username costs as much time as a
   * known one and timing does not tell them apart.
   */
  burn(password: string): Promise<void>
}

/** Options of createPasswordHasher. */
export interface PasswordHasherInit { scryptN: number, concurrency?: number, queueLimit?: number }

interface ParsedHash { n: number, r: number, p: number, salt: Buffer, hash: Buffer }

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/

function parseHash (encoded: string): ParsedHash | undefined {
  const m = PHC.exec(encoded)
  if (m === null) return undefined
  const n = 2 ** Number(m[1])
  const salt = Buffer.from(m[4], 'base64')
  const hash = Buffer.from(m[5], 'base64')
  if (n < SCRYPT_MIN_N || n > SCRYPT_MAX_N || hash.length !== HASH_BYTES || salt.length < 16) return undefined
  return { n, r: Number(m[2]), p: Number(m[3]), salt, hash }
}

/** Checks that N is a power of two in the accepted range; throws TypeError (a programming error). */
export function checkScryptN (n: number): void {
  if (!Number.isSafeInteger(n) || n < SCRYPT_MIN_N || n > SCRYPT_MAX_N || (n & (n - 1)) !== 0) {
    throw new TypeError(`scryptN must be a power of two from 2^14 to 2^20, got ${n}`)
  }
}

/** A counting semaphore with a bounded queue: at most `limit` holders, at most `queueLimit` waiting. */
function createGate (limit: number, queueLimit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: Array<() => void> = []
  return async (fn) => {
    if (active >= limit) {
      if (waiting.length >= queueLimit) throw new BusyError()
      await new Promise<void>(resolve => waiting.push(resolve))
    } else {
      active++
    }
    try {
      return await fn()
    } finally {
      const next = waiting.shift()
      if (next !== undefined) next()
      else active--
    }
  }
}

function b64 (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '')
}

/** Creates the hasher; `random` gives the per-user salts. */
export function createPasswordHasher (init: PasswordHasherInit): (components: { random: RandomBytes }) => PasswordHasher {
  checkScryptN(init.scryptN)
  return ({ random }) => {
    const gate = createGate(init.concurrency ?? SCRYPT_CONCURRENCY, init.queueLimit ?? SCRYPT_QUEUE_LIMIT)
    const derive = async (password: string, salt: Buffer, n: number): Promise<Buffer> => {
      return await gate(async () => await new Promise<Buffer>((resolve, reject) => {
        scrypt(Buffer.from(password, 'utf8'), salt, HASH_BYTES, { N: n, r: SCRYPT_R, p: SCRYPT_P, maxmem: scryptMaxmem(n) }, (err, key) => {
          if (err !== null) reject(err)
          else resolve(key)
        })
      }))
    }
    const encode = (salt: Uint8Array, key: Uint8Array): string => `$scrypt$ln=${Math.log2(init.scryptN)},r=${SCRYPT_R},p=${SCRYPT_P}$${b64(salt)}$${b64(key)}`
    const verify = async (password: string, encoded: string): Promise<boolean> => {
      const parsed = parseHash(encoded)
      if (parsed === undefined || parsed.r !== SCRYPT_R || parsed.p !== SCRYPT_P) return false
      return timingSafeEqual(await derive(password, parsed.salt, parsed.n), parsed.hash)
    }
    // Random bytes in place of a hash: verifying against it costs one full scrypt and never matches.
    const dummy = encode(random(SALT_BYTES), random(HASH_BYTES))
    return {
      async hash (password) {
        const salt = Buffer.from(random(SALT_BYTES))
        return encode(salt, await derive(password, salt, init.scryptN))
      },
      verify,
      needsRehash: (encoded) => parseHash(encoded)?.n !== init.scryptN,
      async burn (password) {
        await verify(password, dummy)
      }
    }
  }
}
