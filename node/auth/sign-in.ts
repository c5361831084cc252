// Password sign-in with throttling (OWASP Authentication Cheat Sheet): failures are counted per
// username and per client IP in sliding windows (429 with a wait), ten in a row lock the account
// for a while, and an unknown username costs a full scrypt so it looks like a wrong password.
import type { Logger } from 'pino'
import type { Clock } from '../../ledger/types.ts'
import type { AccountStore } from './account-store.ts'
import { USERNAME_PATTERN } from './constants.ts'
import type { SignInLimits } from './constants.ts'
import { AccountLockedError, AccountPendingError, BadCredentialsError, RateLimitedError } from './errors.ts'
import { normalisePassword } from './password.ts'
import type { PasswordHasher } from './password.ts'
import { SlidingWindow } from './rate-limit.ts'
import type { AccountRecord } from './types.ts'
import type { SignInRequest } from './validate.ts'

/** What sign-in uses. */
export interface SignInDeps {
  store: AccountStore
  hasher: PasswordHasher
  clock: Clock
  limits: SignInLimits
  logger: Logger
}

/**
 * The key a client is throttled by: its IPv4 address, or the /64 of an IPv6 address, since one
 * IPv6 host usually holds a whole /64 (RFC 4291 §2.5.4) and could otherwise rotate addresses.
 */
export function clientKey (ip: string): string {
  const v4 = /^(?:::ffff:)?(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip)
  if (v4 !== null) return v4[1]
  if (!ip.includes(':')) return ip
  const [head, tail = ''] = ip.split('%')[0].toLowerCase().split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === '' ? [] : tail.split(':')
  const groups = ip.includes('::') ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left
  return `${groups.slice(0, 4).map(g => g.replace(/^0+(?=.)/, '')).join(':')}::/64`
}

/** Checks passwords and keeps the failure windows and lockouts. */
export class SignIn {
  readonly #d: SignInDeps
  readonly #perAccount: SlidingWindow
  readonly #perIp: SlidingWindow

  constructor (deps: SignInDeps) {
    this.#d = deps
    const { windowMs, perAccount, perIp } = deps.limits
    this.#perAccount = new SlidingWindow({ limit: perAccount, windowMs }, deps.clock)
    this.#perIp = new SlidingWindow({ limit: perIp, windowMs }, deps.clock)
  }

  /**
   * The active account whose password this is. Throws RATE_LIMITED, ACCOUNT_LOCKED,
   * BAD_CREDENTIALS (unknown user and wrong password alike) or ACCOUNT_PENDING.
   */
  async signIn (req: SignInRequest, ip: string): Promise<AccountRecord> {
    const password = normalisePassword(req.password)
    const record = USERNAME_PATTERN.test(req.username) ? await this.#d.store.get(req.username) : undefined
    // A lockout is reported before throttling, or the window (as long as the lockout) would hide it.
    if (record !== undefined && record.lockedUntil > this.#d.clock()) {
      throw new AccountLockedError('this account is locked after repeated failed sign-ins; try again later')
    }
    const client = clientKey(ip)
    const wait = Math.max(this.#perIp.retryAfter(client), this.#perAccount.retryAfter(req.username))
    if (wait > 0) throw new RateLimitedError(Math.ceil(wait / 1000))
    // Counted as failures before the check, so parallel guesses cannot all slip under the limit.
    const ipHit = this.#perIp.hit(client)
    this.#perAccount.hit(req.username)
    if (record === undefined) {
      await this.#d.hasher.burn(password)
      throw new BadCredentialsError()
    }
    if (!await this.#d.hasher.verify(password, record.passwordHash)) {
      await this.#failed(record.username)
      throw new BadCredentialsError()
    }
    this.#perIp.forget(client, ipHit)
    this.#perAccount.clear(req.username)
    if (record.status === 'pending') throw new AccountPendingError()
    if (record.status === 'locked') throw new AccountLockedError()
    return await this.#succeeded(record, password)
  }

  /** Forgets an account's failures (an admin unlocked it). */
  reset (username: string): void {
    this.#perAccount.clear(username)
  }

  /** Drops aged-out failure windows. */
  sweep (): void {
    this.#perAccount.sweep()
    this.#perIp.sweep()
  }

  /** Counts a wrong password; the `lockoutAfter`-th in a row locks the account for `lockoutMs`. */
  async #failed (username: string): Promise<void> {
    const { store, clock, limits } = this.#d
    await store.withLock(async () => {
      const record = await store.get(username)
      if (record === undefined) return
      const failed = record.failedSignIns + 1
      const lock = failed >= limits.lockoutAfter
      await store.write({ ...record, failedSignIns: lock ? 0 : failed, lockedUntil: lock ? clock() + limits.lockoutMs : record.lockedUntil }, record)
      if (lock) this.#d.logger.warn({ role: record.role, minutes: limits.lockoutMs / 60_000 }, 'account locked out after repeated failed sign-ins')
    })
  }

  /** Clears the failure count, and re-hashes a password stored with an older scrypt cost. */
  async #succeeded (record: AccountRecord, password: string): Promise<AccountRecord> {
    const { store, hasher } = this.#d
    const rehash = hasher.needsRehash(record.passwordHash)
    if (record.failedSignIns === 0 && record.lockedUntil === 0 && !rehash) return record
    const passwordHash = rehash ? await hasher.hash(password) : record.passwordHash
    return await store.withLock(async () => {
      const current = await store.get(record.username) ?? record
      const next = { ...current, failedSignIns: 0, lockedUntil: 0, passwordHash }
      await store.write(next, current)
      return next
    })
  }
}
