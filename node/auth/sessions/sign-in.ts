// Password sign-in with throttling (OWASP Authentication Cheat Sheet): failures are counted per
// (client, username), per username and per client in sliding windows (429 with a wait), a long
// run of failures locks the username for a while, and an unknown username costs a full scrypt and
// the same bookkeeping, so it looks like a wrong password in answer and in time.
import type { Logger } from 'pino'
import type { Clock } from '../../../ledger/types.ts'
import type { AccountStore } from '../accounts/store.ts'
import { MAX_TRACKED_KEYS, USERNAME_PATTERN } from '../constants.ts'
import type { SignInLimits } from '../constants.ts'
import { AccountLockedError, AccountPendingError, BadCredentialsError, RateLimitedError } from '../errors.ts'
import { normalisePassword } from '../accounts/password.ts'
import type { PasswordHasher } from '../accounts/password.ts'
import { SlidingWindow } from './rate-limit.ts'
import type { AccountRecord } from '../types.ts'
import type { SignInRequest } from '../http/validate.ts'

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

/** Consecutive failures of one username and the end of its lockout (0: none). */
interface Run { failures: number, until: number }

/**
 * Checks passwords and keeps the failure windows and lockouts. Everything that decides an answer
 * before the password check is in memory and keyed by the username as typed, so it costs the same
 * and answers the same for names that exist and names that do not (no enumeration by answer or
 * time); a failure writes nothing to disk for the same reason.
 */
export class SignIn {
  readonly #d: SignInDeps
  readonly #perPair: SlidingWindow
  readonly #perAccount: SlidingWindow
  readonly #perClient: SlidingWindow
  readonly #runs = new Map<string, Run>()

  constructor (deps: SignInDeps) {
    this.#d = deps
    const { windowMs, perClientAccount, perAccount, perClient } = deps.limits
    this.#perPair = new SlidingWindow({ limit: perClientAccount, windowMs }, deps.clock)
    this.#perAccount = new SlidingWindow({ limit: perAccount, windowMs }, deps.clock)
    this.#perClient = new SlidingWindow({ limit: perClient, windowMs }, deps.clock)
  }

  /**
   * The active account whose password this is. Throws RATE_LIMITED, ACCOUNT_LOCKED,
   * BAD_CREDENTIALS (unknown user and wrong password alike) or ACCOUNT_PENDING. `ip` is the
   * client's address (behind a trusted proxy, the one it forwarded).
   */
  async signIn (req: SignInRequest, ip: string): Promise<AccountRecord> {
    return await this.signInFrom(req, clientKey(ip))
  }

  /**
   * `signIn` for a client already named by its throttling key: a relayed sign-in (node/relay)
   * counts under the visiting hospital and the client address it reports, so every window and the
   * lockout apply exactly as to a sign-in at this hospital's own front door.
   */
  async signInFrom (req: SignInRequest, client: string): Promise<AccountRecord> {
    const password = normalisePassword(req.password)
    const { username } = req
    // Throttles first, before any lookup. A lockout is reported before the windows, or the window
    // (as long as the lockout) would hide it.
    if (this.lockedUntil(username) > this.#d.clock()) {
      throw new AccountLockedError('this account is locked after repeated failed sign-ins; try again later')
    }
    const pair = `${username} ${client}`
    const wait = Math.max(this.#perClient.retryAfter(client), this.#perAccount.retryAfter(username), this.#perPair.retryAfter(pair))
    if (wait > 0) throw new RateLimitedError(Math.ceil(wait / 1000))
    // Counted as failures before the check, so parallel guesses cannot all slip under the limit.
    const clientHit = this.#perClient.hit(client)
    const accountHit = this.#perAccount.hit(username)
    this.#perPair.hit(pair)
    const record = USERNAME_PATTERN.test(username) ? await this.#d.store.get(username) : undefined
    const ok = record === undefined
      ? (await this.#d.hasher.burn(password), false)
      : await this.#d.hasher.verify(password, record.passwordHash)
    if (!ok || record === undefined) {
      this.#failed(username)
      throw new BadCredentialsError()
    }
    this.#perClient.forget(client, clientHit)
    this.#perAccount.forget(username, accountHit)
    this.#perPair.clear(pair)
    this.#runs.delete(username)
    if (record.status === 'pending') throw new AccountPendingError()
    if (record.status === 'locked') throw new AccountLockedError()
    return await this.#succeeded(record, password)
  }

  /** When the lockout of `username` ends (ms since the epoch), or 0. */
  lockedUntil (username: string): number {
    const until = this.#runs.get(username)?.until ?? 0
    return until > this.#d.clock() ? until : 0
  }

  /** Forgets an account's failures and lockout (an admin unlocked it). */
  reset (username: string): void {
    this.#perAccount.clear(username)
    this.#perPair.clearPrefix(`${username} `)
    this.#runs.delete(username)
  }

  /** Drops aged-out failure windows and ended lockouts. */
  sweep (): void {
    this.#perPair.sweep()
    this.#perAccount.sweep()
    this.#perClient.sweep()
    const now = this.#d.clock()
    for (const [k, run] of this.#runs) if (run.until !== 0 && run.until <= now) this.#runs.delete(k)
  }

  /** Counts a failure; the `lockoutAfter`-th in a row locks the username for `lockoutMs`. */
  #failed (username: string): void {
    const { clock, limits } = this.#d
    const run = this.#runs.get(username) ?? { failures: 0, until: 0 }
    run.failures++
    this.#runs.delete(username)
    this.#runs.set(username, run)
    if (run.failures >= limits.lockoutAfter) {
      run.failures = 0
      run.until = clock() + limits.lockoutMs
      this.#d.logger.warn({ minutes: limits.lockoutMs / 60_000 }, 'a username was locked out after repeated failed sign-ins')
    }
    // Bounded like the windows: the stalest runs go first under a spray of invented names.
    while (this.#runs.size > MAX_TRACKED_KEYS) {
      const oldest = this.#runs.keys().next()
      if (oldest.done === true) break
      this.#runs.delete(oldest.value)
    }
  }

  /** Clears a failure count stored by an older version, and re-hashes a password stored with an older scrypt cost. */
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
