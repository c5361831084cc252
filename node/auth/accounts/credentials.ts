// Changing what signs a user in (issue 16.1, 16.2): a password change with the vault re-sealed in
// the client, a reset with the recovery code, and ending every session of an account. Each of
// them bumps the account's session epoch and emits `sessions:ended`, which sessions relayed to
// other hospitals follow (docs/api.md "Session epoch"). The peer never sees a password or a
// recovery code: it gets sign-in secrets (protocol/crypto/auth-secret.ts), a recovery secret
// (protocol/crypto/recovery-code.ts) and sealed vaults.
import { timingSafeEqual } from 'node:crypto'
import type { Logger } from 'pino'
import { NotFoundError } from '../../../protocol/errors.ts'
import type { Clock } from '../../../ledger/types.ts'
import type { AccountStore } from './store.ts'
import { recoveryRecord } from './accounts.ts'
import type { SignInLimits } from '../constants.ts'
import { BadCredentialsError, BadRecoveryCodeError, RateLimitedError, RecoveryCodeUsedError } from '../errors.ts'
import { checkNewPassword, normalisePassword } from './password.ts'
import type { PasswordHasher } from './password.ts'
import { SlidingWindow } from '../sessions/rate-limit.ts'
import { tokenHash } from '../sessions/sessions.ts'
import type { SessionStore } from '../sessions/sessions.ts'
import { clientKey } from '../sessions/sign-in.ts'
import type { SignIn } from '../sessions/sign-in.ts'
import type { AccountRecord, JsonObject } from '../types.ts'
import type { RecoveryOpenRequest, RecoveryResetRequest } from '../http/validate.ts'

/** Emitted on `Auth.events` when every session of an account ended; detail is SessionsEnded. */
export const SESSIONS_ENDED = 'sessions:ended'

/** Why an account's sessions ended. */
export type SessionsEndedReason = 'password' | 'recovery' | 'admin' | 'lock'

/** Detail of `sessions:ended`: the account, its new epoch, and why. */
export interface SessionsEnded { username: string, epoch: number, reason: SessionsEndedReason }

/** How many used recovery-code hashes an account keeps, to answer RECOVERY_CODE_USED. */
const USED_CODES_KEPT = 8

/** What the credential service uses. */
export interface CredentialsDeps {
  store: AccountStore
  hasher: PasswordHasher
  sessions: SessionStore
  signIn: SignIn
  limits: SignInLimits
  clock: Clock
  logger: Logger
  events: EventTarget
}

/** Constant-time equality of two hex hashes of equal length. */
function sameHash (a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'))
}

/** Password change, recovery with the code, and ending sessions. */
export class Credentials {
  readonly #d: CredentialsDeps
  /** Wrong current passwords per account: a stolen session cannot guess the password through here. */
  readonly #changeFailures: SlidingWindow
  /** Wrong recovery codes per (client, account), per account and per client: the sign-in limits. */
  readonly #perPair: SlidingWindow
  readonly #perAccount: SlidingWindow
  readonly #perClient: SlidingWindow

  constructor (deps: CredentialsDeps) {
    this.#d = deps
    const { windowMs, perClientAccount, perAccount, perClient } = deps.limits
    this.#changeFailures = new SlidingWindow({ limit: perClientAccount, windowMs }, deps.clock)
    this.#perPair = new SlidingWindow({ limit: perClientAccount, windowMs }, deps.clock)
    this.#perAccount = new SlidingWindow({ limit: perAccount, windowMs }, deps.clock)
    this.#perClient = new SlidingWindow({ limit: perClient, windowMs }, deps.clock)
  }

  /** The account's session epoch: 0 until its sessions were first ended. Throws NOT_FOUND. */
  async sessionEpoch (username: string): Promise<number> {
    const record = await this.#d.store.get(username)
    if (record === undefined) throw new NotFoundError('no such account')
    return record.sessionEpoch ?? 0
  }

  /**
   * Changes the password of a signed-in user: `current` and `password` are sign-in secrets, `vault`
   * the keys re-sealed under the new password. Every other session of the account ends; the one
   * in `keepSession` stays. Throws BAD_CREDENTIALS, RATE_LIMITED or WEAK_PASSWORD.
   */
  async changePassword (username: string, req: { current: unknown, password: unknown, vault: JsonObject }, keepSession: string): Promise<number> {
    const wait = this.#changeFailures.retryAfter(username)
    if (wait > 0) throw new RateLimitedError(Math.ceil(wait / 1000))
    const current = normalisePassword(req.current, 'current')
    const next = checkNewPassword(req.password)
    const hit = this.#changeFailures.hit(username)
    const record = await this.#d.store.get(username)
    if (record === undefined || !await this.#d.hasher.verify(current, record.passwordHash)) throw new BadCredentialsError()
    this.#changeFailures.forget(username, hit)
    const passwordHash = await this.#d.hasher.hash(next)
    const epoch = await this.#update(username, r => ({ ...r, passwordHash, vault: req.vault }))
    this.#ended(username, epoch, 'password', keepSession)
    return epoch
  }

  /**
   * The vault sealed under the recovery code, for a client that proves it holds the code. Throws
   * RATE_LIMITED, BAD_RECOVERY_CODE (unknown user, no code, wrong code alike) or RECOVERY_CODE_USED.
   */
  async recoveryVault (req: RecoveryOpenRequest, ip: string): Promise<JsonObject> {
    return (await this.#checkCode(req, ip)).vault
  }

  /**
   * Sets a new password with the recovery code: the vault re-sealed under it, and a new recovery
   * code replacing the one used, which stops working. Every session of the account ends.
   */
  async resetWithCode (req: RecoveryResetRequest, ip: string): Promise<number> {
    const next = checkNewPassword(req.password)
    await this.#checkCode(req, ip)
    const passwordHash = await this.#d.hasher.hash(next)
    const used = tokenHash(req.secret)
    const epoch = await this.#update(req.username, r => {
      // Checked again under the lock: two resets racing with one code, only the first wins.
      if (r.recovery == null || !sameHash(r.recovery.hash, used)) throw new RecoveryCodeUsedError()
      return {
        ...r, passwordHash, vault: req.vault, recovery: recoveryRecord(req.recovery), usedRecovery: [...r.usedRecovery ?? [], used].slice(-USED_CODES_KEPT), failedSignIns: 0, lockedUntil: 0
      }
    })
    this.#d.signIn.reset(req.username)
    this.#ended(req.username, epoch, 'recovery')
    this.#d.logger.info('a password was reset with the recovery code')
    return epoch
  }

  /** Ends every session of an account (an admin asked, or the account was locked); returns the new epoch. Throws NOT_FOUND. */
  async endSessions (username: string, reason: Extract<SessionsEndedReason, 'admin' | 'lock'>): Promise<number> {
    const epoch = await this.#update(username, r => r)
    this.#ended(username, epoch, reason)
    return epoch
  }

  /** Drops aged-out failure windows. */
  sweep (): void {
    this.#changeFailures.sweep()
    this.#perPair.sweep()
    this.#perAccount.sweep()
    this.#perClient.sweep()
  }

  /** Throttles first, before any lookup, like sign-in; a wrong code counts, a right one gives its slots back. */
  async #checkCode (req: RecoveryOpenRequest, ip: string): Promise<{ record: AccountRecord, vault: JsonObject }> {
    const client = clientKey(ip)
    const pair = `${req.username} ${client}`
    const wait = Math.max(this.#perClient.retryAfter(client), this.#perAccount.retryAfter(req.username), this.#perPair.retryAfter(pair))
    if (wait > 0) throw new RateLimitedError(Math.ceil(wait / 1000))
    const hits = [this.#perClient.hit(client), this.#perAccount.hit(req.username), this.#perPair.hit(pair)]
    const record = await this.#d.store.get(req.username)
    const hash = tokenHash(req.secret)
    if (record?.recovery != null && sameHash(record.recovery.hash, hash) && record.status === 'active') {
      this.#perClient.forget(client, hits[0])
      this.#perAccount.forget(req.username, hits[1])
      this.#perPair.forget(pair, hits[2])
      return { record, vault: record.recovery.vault }
    }
    if (record?.usedRecovery?.some(h => sameHash(h, hash)) === true) throw new RecoveryCodeUsedError()
    throw new BadRecoveryCodeError()
  }

  /** Rewrites the account under the store lock with its session epoch bumped; returns the new epoch. */
  async #update (username: string, change: (r: AccountRecord) => AccountRecord): Promise<number> {
    return await this.#d.store.withLock(async () => {
      const record = await this.#d.store.get(username)
      if (record === undefined) throw new NotFoundError('no such account')
      const epoch = (record.sessionEpoch ?? 0) + 1
      await this.#d.store.write({ ...change(record), sessionEpoch: epoch }, record)
      return epoch
    })
  }

  #ended (username: string, epoch: number, reason: SessionsEndedReason, keepSession?: string): void {
    this.#d.sessions.destroyUser(username, keepSession)
    this.#d.events.dispatchEvent(new CustomEvent<SessionsEnded>(SESSIONS_ENDED, { detail: { username, epoch, reason } }))
    this.#d.logger.info({ reason, epoch }, 'every other session of an account was ended')
  }
}
