// Bearer tokens for DICOM viewers (docs/api.md "DICOMweb"): a signed-in clinician issues one for a
// viewer that cannot carry the session cookie, scoped to reading (QIDO-RS, WADO-RS) and/or storing
// (STOW-RS) and optionally to one study, expiring, and revocable. A token acts as its clinician:
// the same access checks and access logs. Only its SHA-256 is kept, in memory: a restart ends
// every token, as it ends no session.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { MedichainError } from '../../protocol/errors.ts'
import type { SessionUser } from '../auth/types.ts'
import { MAX_TOKENS_PER_USER, TOKEN_DEFAULT_TTL_MS, TOKEN_MAX_TTL_MS, TOKEN_PREFIX } from './constants.ts'

/** What a token allows: read (QIDO-RS, WADO-RS) and write (STOW-RS). */
export type TokenScope = 'read' | 'write'

/** A token as its owner sees it (never the secret again after issue). */
export interface TokenInfo { id: string, scope: TokenScope[], study: string | null, created: number, expires: number }

interface Stored extends TokenInfo { hash: Buffer, username: string, user: SessionUser }

/** Thrown when a bearer token is unknown, expired, revoked, or lacks the scope a request needs. */
export class BadTokenError extends MedichainError {
  constructor (message: string) {
    super('UNAUTHENTICATED', message)
    this.name = 'BadTokenError'
  }
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

/** The viewer tokens of one peer. */
export class ViewerTokens {
  readonly #byId = new Map<string, Stored>()
  readonly #clock: () => number

  constructor (clock: () => number) {
    this.#clock = clock
  }

  /** Issues a token for `user`; the secret is returned once, here. */
  issue (user: SessionUser, opts: { scope: TokenScope[], ttlMs?: number, study?: string }): TokenInfo & { token: string } {
    const now = this.#clock()
    this.#sweep(now)
    const ttl = opts.ttlMs ?? TOKEN_DEFAULT_TTL_MS
    if (!Number.isSafeInteger(ttl) || ttl < 60_000 || ttl > TOKEN_MAX_TTL_MS) throw new MedichainError('INVALID', `ttlMinutes: from 1 to ${TOKEN_MAX_TTL_MS / 60_000}`)
    if (this.list(user.username).length >= MAX_TOKENS_PER_USER) throw new MedichainError('TOO_MANY_TOKENS', `at most ${MAX_TOKENS_PER_USER} live viewer tokens per user; revoke one first`)
    const id = randomBytes(8).toString('hex')
    const token = `${TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`
    const info: TokenInfo = { id, scope: [...new Set(opts.scope)].sort(), study: opts.study ?? null, created: now, expires: now + ttl }
    this.#byId.set(id, { ...info, hash: sha256(token), username: user.username, user })
    return { ...info, token }
  }

  /** The user and limits of a presented token; BadTokenError when it is not live. */
  check (token: string): { user: SessionUser, scope: TokenScope[], study: string | null } {
    const m = new RegExp(`^${TOKEN_PREFIX}([0-9a-f]{16})_[A-Za-z0-9_-]{43}$`).exec(token)
    const stored = m === null ? undefined : this.#byId.get(m[1])
    // Compared in constant time; an unknown id and a wrong secret answer alike.
    if (stored === undefined || !timingSafeEqual(stored.hash, sha256(token))) throw new BadTokenError('unknown or revoked viewer token')
    if (stored.expires <= this.#clock()) {
      this.#byId.delete(stored.id)
      throw new BadTokenError('the viewer token has expired')
    }
    return { user: stored.user, scope: stored.scope, study: stored.study }
  }

  /** The live tokens of a user. */
  list (username: string): TokenInfo[] {
    const now = this.#clock()
    return [...this.#byId.values()].filter(t => t.username === username && t.expires > now)
      .map(({ id, scope, study, created, expires }) => ({ id, scope, study, created, expires }))
  }

  /** Revokes one of a user's tokens; false when they hold no token with that id. */
  revoke (username: string, id: string): boolean {
    const t = this.#byId.get(id)
    if (t === undefined || t.username !== username) return false
    this.#byId.delete(id)
    return true
  }

  /** Revokes every token of a user (sign-out everywhere, suspension). */
  revokeAll (username: string): void {
    for (const [id, t] of this.#byId) if (t.username === username) this.#byId.delete(id)
  }

  #sweep (now: number): void {
    for (const [id, t] of this.#byId) if (t.expires <= now) this.#byId.delete(id)
  }
}
