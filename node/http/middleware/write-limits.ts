// Write rate limits of the HTTP API (issue 11.5): every write a signed-in user makes may grow every
// member's ledger, so each user gets a budget per window, and the peer as a whole another. A user
// over budget is refused before counting against the peer's, so one user's flood never spends the
// budget of everyone else: they keep being served. Answers 429 RATE_LIMITED with Retry-After.
import type { Middleware } from 'koa'
import type { Clock } from '../../../ledger/types.ts'
import { currentUser } from '../../auth/index.ts'
import { RateLimitedError } from '../../auth/errors.ts'
import { SlidingWindow } from '../../auth/sessions/rate-limit.ts'

/** Budgets of writes per sliding window (the `records` block of the config: writeWindowMs, writesPer*). */
export interface WriteLimits {
  /** Length of the sliding window (ms). */
  windowMs: number
  /** Writes one patient account may make per window: patients sign themselves up, so they get the least. */
  perPatient: number
  /** Writes one staff account (admin, clinician, researcher: approved by an admin) may make per window. */
  perStaff: number
  /** Writes of all users of this peer together per window: bounds what the peer adds to the ledger. */
  perPeer: number
}

/** Methods that read: never limited here (RFC 9110 §9.2.1 safe methods). */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The key of the whole peer's window (user keys are hex public keys, so it cannot collide). */
const PEER = 'peer'

/**
 * Koa middleware limiting writes of signed-in users (mount after the session middleware, before
 * the feature routes). Anonymous requests pass: sign-in and sign-up have their own limits.
 */
export function writeLimits (limits: WriteLimits, clock: Clock): Middleware & { sweep(): void } {
  const staff = new SlidingWindow({ limit: limits.perStaff, windowMs: limits.windowMs }, clock)
  const patients = new SlidingWindow({ limit: limits.perPatient, windowMs: limits.windowMs }, clock)
  const peer = new SlidingWindow({ limit: limits.perPeer, windowMs: limits.windowMs }, clock)
  const refuse = (ctx: Parameters<Middleware>[0], waitMs: number): never => {
    const seconds = Math.ceil(waitMs / 1000)
    // RFC 9110 §10.2.3: how long to wait before the next attempt can succeed.
    ctx.set('Retry-After', String(seconds))
    throw new RateLimitedError(seconds)
  }
  const middleware: Middleware = async (ctx, next) => {
    const user = SAFE.has(ctx.method) ? undefined : currentUser(ctx)
    if (user === undefined) return await next()
    const window = user.role === 'patient' ? patients : staff
    const own = window.retryAfter(user.signPub)
    if (own > 0) refuse(ctx, own)
    const shared = peer.retryAfter(PEER)
    if (shared > 0) refuse(ctx, shared)
    window.hit(user.signPub)
    peer.hit(PEER)
    await next()
  }
  return Object.assign(middleware, {
    /** Drops windows whose events have all aged out (call periodically). */
    sweep (): void {
      staff.sweep()
      patients.sweep()
      peer.sweep()
    }
  })
}
