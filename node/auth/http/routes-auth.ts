// `/api/auth/*`: sign-up, sign-in, sign-out and "who am I". Sign-in sets a fresh session cookie
// each time (rotation defeats session fixation) and returns the sealed vault and the CSRF token.
import type { Router } from '@koa/router'
import type { Middleware } from 'koa'
import { toHex } from '../../../protocol/bytes.ts'
import { expectQueryKeys } from '../../http/query.ts'
import { accountView, sessionUserOf } from '../accounts/accounts.ts'
import type { Accounts } from '../accounts/accounts.ts'
import type { AccountStore } from '../accounts/store.ts'
import { readJson } from './body.ts'
import { HomeOnlyError, RateLimitedError, UnauthenticatedError } from '../errors.ts'
import { currentSession, resolveSession, sessionCookie, setRequestSession } from './middleware.ts'
import type { CookieOptions } from './middleware.ts'
import type { SlidingWindow } from '../sessions/rate-limit.ts'
import type { Session, SessionStore } from '../sessions/sessions.ts'
import { clientKey } from '../sessions/sign-in.ts'
import type { SignIn } from '../sessions/sign-in.ts'
import type { Credentials } from '../accounts/credentials.ts'
import type { AccountRecord } from '../types.ts'
import { parsePasswordChange, parseRecoveryOpen, parseRecoveryReset, parseSignIn, parseSignUp } from './validate.ts'

/** What the auth routes use. */
export interface AuthRoutesDeps {
  accounts: Accounts
  signIn: SignIn
  credentials: Credentials
  store: AccountStore
  sessions: SessionStore
  /** Accounts created per client. */
  signUps: SlidingWindow
  /** Sign-ups refused after a lookup (name or key taken, bad setup token) per client. */
  signUpFailures: SlidingWindow
  cookie: CookieOptions
  /** Guard for any signed-in user. */
  requireUser: Middleware
}

/** Throws RATE_LIMITED when `waitMs` remain (the router turns it into a Retry-After header). */
export function throwIfLimited (waitMs: number): void {
  if (waitMs > 0) throw new RateLimitedError(Math.ceil(waitMs / 1000))
}

/** The body of sign-in and `me`. */
function sessionBody (record: AccountRecord, session: Session): object {
  return { user: session.user, vault: record.vault, csrfToken: session.csrfToken, sessionEpoch: record.sessionEpoch ?? 0, recovery: record.recovery != null }
}

/**
 * The body of `me` and `session` for a patient signed in through their home hospital: no vault,
 * since none is kept here; the page opens it again by signing in through the home hospital.
 */
function relayedBody (session: Session): object {
  return { user: session.user, vault: null, csrfToken: session.csrfToken }
}

/** Adds the `/auth/*` routes to a router mounted at `/api`. */
export function addAuthRoutes (router: Router, d: AuthRoutesDeps): void {
  router.post('/auth/sign-up', async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const req = parseSignUp(await readJson(ctx))
    const client = clientKey(ctx.ip)
    // Both counts are taken before any lookup, pessimistically: a refused attempt gives its
    // sign-up slot back, a successful one its failure slot.
    let hits: { created: number, refused: number } | undefined
    let record
    try {
      record = await d.accounts.signUp(req, () => {
        throwIfLimited(Math.max(d.signUps.retryAfter(client), d.signUpFailures.retryAfter(client)))
        hits = { created: d.signUps.hit(client), refused: d.signUpFailures.hit(client) }
      })
    } catch (err) {
      if (hits !== undefined) d.signUps.forget(client, hits.created)
      throw err
    }
    if (hits !== undefined) d.signUpFailures.forget(client, hits.refused)
    const view = accountView(record)
    ctx.status = 201
    ctx.body = { username: view.username, role: view.role, status: view.status, ...(view.patientId === undefined ? {} : { patientId: toHex(view.patientId) }) }
  })

  router.post('/auth/sign-in', async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const req = parseSignIn(await readJson(ctx))
    const record = await d.signIn.signIn(req, ctx.ip)
    const previous = resolveSession(ctx, d.sessions, d.cookie)
    if (previous !== undefined) d.sessions.destroy(previous.id)
    const { token, session } = d.sessions.create(sessionUserOf(record))
    ctx.append('Set-Cookie', sessionCookie(token, d.cookie))
    setRequestSession(ctx, session)
    ctx.body = sessionBody(record, session)
  })

  router.post('/auth/sign-out', d.requireUser, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const session = currentSession(ctx)
    if (session === undefined) throw new UnauthenticatedError()
    d.sessions.destroy(session.id)
    setRequestSession(ctx, undefined)
    ctx.append('Set-Cookie', sessionCookie('', d.cookie))
    ctx.status = 204
  })

  // A new password, sealed in the client: every other session of the account ends, this one stays.
  router.post('/auth/password', d.requireUser, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const session = currentSession(ctx)
    if (session === undefined) throw new UnauthenticatedError()
    // A relayed session has no account here; a local one of the same name is someone else's.
    if (session.relay !== undefined) throw new HomeOnlyError()
    const req = parsePasswordChange(await readJson(ctx))
    ctx.body = { sessionEpoch: await d.credentials.changePassword(session.user.username, req, session.id) }
  })

  // The vault sealed under the recovery code, to a client that proves it holds the code.
  router.post('/auth/recovery/vault', async (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = { vault: await d.credentials.recoveryVault(parseRecoveryOpen(await readJson(ctx)), ctx.ip) }
  })

  // A new password with the recovery code, which is used up (a new one replaces it); every session ends.
  router.post('/auth/recovery/reset', async (ctx) => {
    expectQueryKeys(ctx.query, [])
    ctx.body = { sessionEpoch: await d.credentials.resetWithCode(parseRecoveryReset(await readJson(ctx)), ctx.ip) }
  })

  router.get('/auth/me', async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const session = resolveSession(ctx, d.sessions, d.cookie)
    if (session === undefined) throw new UnauthenticatedError()
    if (session.relay !== undefined) {
      ctx.body = relayedBody(session)
      return
    }
    const record = await d.store.get(session.user.username)
    if (record === undefined || record.status !== 'active') {
      d.sessions.destroy(session.id)
      throw new UnauthenticatedError()
    }
    ctx.body = sessionBody(record, session)
  })

  // The page's first question on every load. "No session" is an ordinary answer here (200 with
  // `user: null`), not an error: a 401 would print a console error on every visit.
  router.get('/auth/session', async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const session = resolveSession(ctx, d.sessions, d.cookie)
    if (session?.relay !== undefined) {
      ctx.body = relayedBody(session)
      return
    }
    const record = session === undefined ? undefined : await d.store.get(session.user.username)
    if (session === undefined || record === undefined || record.status !== 'active') {
      if (session !== undefined) d.sessions.destroy(session.id)
      ctx.body = { user: null }
      return
    }
    ctx.body = sessionBody(record, session)
  })
}
