// Sessions: random 256-bit tokens handed out in a cookie, of which the server keeps only the
// SHA-256, so a memory dump or a log line never yields a usable token. Each session ends after
// an idle period and at an absolute age (OWASP Session Management Cheat Sheet). Held in memory:
// a restart of the peer signs everyone out, which is the safe direction for a hospital.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../../../ledger/types.ts'
import { MAX_SESSIONS_PER_USER, TOKEN_BYTES } from '../constants.ts'
import type { RandomBytes, SessionUser } from '../types.ts'

/** One signed-in browser. */
export interface Session {
  /** SHA-256 (hex) of the cookie token: the only form of the token the server keeps. */
  readonly id: string
  readonly user: SessionUser
  /** Sent to the client in JSON, echoed back in `x-csrf-token` (OWASP synchroniser token pattern). */
  readonly csrfToken: string
  readonly createdAt: number
  lastSeen: number
  /** A relayed session's standing at the home hospital (issue 18); absent for local accounts. */
  readonly relay?: RelayState
}

/**
 * What a visited hospital holds of a patient's relayed sign-in: the home hospital's grant (a
 * random handle for this session there, no credential) and when the home hospital last said the
 * session may go on. Memory only, like the session itself.
 */
export interface RelayState {
  /** The home hospital's member key. */
  readonly home: Uint8Array
  readonly grant: Uint8Array
  /** When the home hospital last confirmed the session (ms since the epoch). */
  checkedAt: number
  /** A check running now, so parallel requests share one round trip. */
  checking?: Promise<boolean>
}

/**
 * The key sessions are grouped by for one account: the username for local accounts, and the
 * username with its home hospital for relayed ones, so a local `alice` and `alice@north` signed in
 * here never share a limit and an admin lock of the local one never ends the other's sessions.
 */
export function sessionOwner (user: SessionUser): string {
  return user.remote === undefined ? user.username : `${user.username}@${user.hospital}`
}

/** Lifetimes of sessions. */
export interface SessionLimits { idleMs: number, maxMs: number, maxPerUser?: number }

/** A fresh 256-bit token, base64url (RFC 4648 §5), safe in a cookie value without quoting. */
export function newToken (random: RandomBytes): string {
  return Buffer.from(random(TOKEN_BYTES)).toString('base64url')
}

/** Hex SHA-256 of a token string. */
export function tokenHash (token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** Constant-time equality of two token strings (hashed first, so lengths always match). */
export function tokensEqual (a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest())
}

/** Largest cookie value worth hashing: a token is 43 characters. */
const MAX_TOKEN_CHARS = 256

/** The sessions of one peer. */
export class SessionStore {
  readonly #byId = new Map<string, Session>()
  readonly #byUser = new Map<string, Set<string>>()
  readonly #limits: Required<SessionLimits>
  readonly #clock: Clock
  readonly #random: RandomBytes
  /** Told when a relayed session ends here (sign-out, idle, age, eviction), so the home hospital can drop its grant. */
  onRelayEnd: ((relay: RelayState) => void) | undefined

  constructor (limits: SessionLimits, clock: Clock, random: RandomBytes) {
    this.#limits = { maxPerUser: MAX_SESSIONS_PER_USER, ...limits }
    this.#clock = clock
    this.#random = random
  }

  /** Live sessions held. */
  get size (): number {
    return this.#byId.size
  }

  /** Starts a session for `user`; returns the cookie token, which is not kept. */
  create (user: SessionUser, relay?: RelayState): { token: string, session: Session } {
    const token = newToken(this.#random)
    const now = this.#clock()
    const session: Session = { id: tokenHash(token), user, csrfToken: newToken(this.#random), createdAt: now, lastSeen: now, ...(relay === undefined ? {} : { relay }) }
    this.#byId.set(session.id, session)
    const owner = sessionOwner(user)
    let ids = this.#byUser.get(owner)
    if (ids === undefined) {
      ids = new Set()
      this.#byUser.set(owner, ids)
    }
    ids.add(session.id)
    // A Set iterates in insertion order, so the first id is the oldest session.
    while (ids.size > this.#limits.maxPerUser) this.#remove(ids.values().next().value as string)
    return { token, session }
  }

  /**
   * The live session of a cookie token, touched (its idle timer restarts); undefined when unknown
   * or expired, in which case an expired session is removed.
   */
  lookup (token: string): Session | undefined {
    if (token.length === 0 || token.length > MAX_TOKEN_CHARS) return undefined
    const session = this.#byId.get(tokenHash(token))
    if (session === undefined) return undefined
    const now = this.#clock()
    if (this.#expired(session, now)) {
      this.#remove(session.id)
      return undefined
    }
    session.lastSeen = now
    return session
  }

  /** Ends one session. */
  destroy (id: string): void {
    this.#remove(id)
  }

  /**
   * Ends every session of a local account (locked by an admin, a new password), but the one with
   * id `keep`; relayed sessions are keyed apart (sessionOwner).
   */
  destroyUser (username: string, keep?: string): void {
    for (const id of [...this.#byUser.get(username) ?? []]) if (id !== keep) this.#remove(id)
  }

  /** Ends the relayed sessions `match` picks (their home hospital ended them); returns how many. */
  destroyRelayed (match: (relay: RelayState) => boolean): number {
    let n = 0
    for (const s of [...this.#byId.values()]) {
      if (s.relay !== undefined && match(s.relay)) {
        this.#remove(s.id)
        n++
      }
    }
    return n
  }

  /** Removes every expired session; run periodically so abandoned sessions do not pile up. */
  sweep (): void {
    const now = this.#clock()
    for (const s of [...this.#byId.values()]) if (this.#expired(s, now)) this.#remove(s.id)
  }

  /** Ends all sessions (peer stop). */
  clear (): void {
    this.#byId.clear()
    this.#byUser.clear()
  }

  #expired (s: Session, now: number): boolean {
    return now - s.lastSeen >= this.#limits.idleMs || now - s.createdAt >= this.#limits.maxMs
  }

  #remove (id: string): void {
    const s = this.#byId.get(id)
    if (s === undefined) return
    this.#byId.delete(id)
    const owner = sessionOwner(s.user)
    const ids = this.#byUser.get(owner)
    ids?.delete(id)
    if (ids?.size === 0) this.#byUser.delete(owner)
    if (s.relay !== undefined) this.onRelayEnd?.(s.relay)
  }
}
