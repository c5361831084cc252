// The `auth` block of the config file (issue 3): password hashing cost, session lifetimes, the
// session cookie, sign-in throttling and relayed sign-in. Kept beside index.ts, like the `records`
// and `fl` blocks, so that file stays one concept.
import { AUTH_DEFAULTS, SCRYPT_MAX_N, SCRYPT_MIN_N, SIGN_IN_LIMITS } from '../auth/constants.ts'
import type { SignInLimits } from '../auth/constants.ts'
import { ConfigError, expectObject } from './values.ts'

/** Tunables of node/auth; defaults in AUTH_DEFAULTS (node/auth/constants.ts). */
export interface AuthConfig {
  /** scrypt cost N for new password hashes: a power of two from 2^14 to 2^20 (default 2^17). */
  scryptN: number
  /** Session idle timeout (ms), at least one minute (default 30 minutes). */
  sessionIdleMs: number
  /** Absolute session lifetime (ms), at least the idle timeout, at most 7 days (default 12 hours). */
  sessionMaxMs: number
  /** Mark the session cookie `Secure`: set when browsers reach the peer over TLS (default false). */
  secureCookies: boolean
  /** Sign-in and sign-up throttling; absent fields take SIGN_IN_LIMITS. */
  limits?: Partial<SignInLimits>
  /** Relayed sign-in of other members' patients (node/relay): check period, offline grace, timeout. */
  relay?: { checkMs?: number, offlineGraceMs?: number, timeoutMs?: number }
}

/** Checks a config file's `auth` block; absent fields take the defaults, and idle must not exceed max. */
export function parseAuthConfig (v: unknown, source: string): AuthConfig {
  const o = expectObject(v, source, ['scryptN', 'sessionIdleMs', 'sessionMaxMs', 'secureCookies', 'limits', 'relay'])
  const out: AuthConfig = { ...AUTH_DEFAULTS }
  const ms = (x: unknown, key: string, min: number, max: number): number => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max) {
      throw new ConfigError(`${source}.${key}: expected an integer number of milliseconds from ${min} to ${max}, got ${JSON.stringify(x)}`)
    }
    return x
  }
  if (o.scryptN !== undefined) {
    const n = o.scryptN
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < SCRYPT_MIN_N || n > SCRYPT_MAX_N || (n & (n - 1)) !== 0) {
      throw new ConfigError(`${source}.scryptN: expected a power of two from ${SCRYPT_MIN_N} to ${SCRYPT_MAX_N}, got ${JSON.stringify(n)}`)
    }
    out.scryptN = n
  }
  if (o.sessionIdleMs !== undefined) out.sessionIdleMs = ms(o.sessionIdleMs, 'sessionIdleMs', 60_000, 7 * 86_400_000)
  if (o.sessionMaxMs !== undefined) out.sessionMaxMs = ms(o.sessionMaxMs, 'sessionMaxMs', 60_000, 7 * 86_400_000)
  if (out.sessionIdleMs > out.sessionMaxMs) throw new ConfigError(`${source}: sessionIdleMs must not exceed sessionMaxMs`)
  if (o.secureCookies !== undefined) {
    if (typeof o.secureCookies !== 'boolean') throw new ConfigError(`${source}.secureCookies: expected true or false`)
    out.secureCookies = o.secureCookies
  }
  if (o.limits !== undefined) out.limits = parseLimits(o.limits, `${source}.limits`)
  if (o.relay !== undefined) {
    const r = expectObject(o.relay, `${source}.relay`, ['checkMs', 'offlineGraceMs', 'timeoutMs'])
    out.relay = {}
    if (r.checkMs !== undefined) out.relay.checkMs = ms(r.checkMs, 'relay.checkMs', 0, 3_600_000)
    if (r.offlineGraceMs !== undefined) out.relay.offlineGraceMs = ms(r.offlineGraceMs, 'relay.offlineGraceMs', 0, 86_400_000)
    if (r.timeoutMs !== undefined) out.relay.timeoutMs = ms(r.timeoutMs, 'relay.timeoutMs', 1000, 120_000)
  }
  return out
}

/** Checks `auth.limits`: each a positive integer, counts up to 10^6 and times from 1 s to 1 day. */
function parseLimits (v: unknown, source: string): Partial<SignInLimits> {
  const keys = Object.keys(SIGN_IN_LIMITS) as Array<keyof SignInLimits>
  const o = expectObject(v, source, keys)
  const out: Partial<SignInLimits> = {}
  for (const key of keys) {
    const x = o[key]
    if (x === undefined) continue
    const [min, max] = key.endsWith('Ms') ? [1000, 86_400_000] : [1, 1_000_000]
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max) {
      throw new ConfigError(`${source}.${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(x)}`)
    }
    out[key] = x
  }
  return out
}
