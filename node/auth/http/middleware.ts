// The koa middleware the rest of the peer builds on: `session` finds the signed-in user from the
// cookie, `requireUser` guards a route by role, and `csrf` refuses cross-site writes and
// cookie-authenticated writes without the session's token (OWASP CSRF Prevention Cheat Sheet).
import type { Context, Middleware, Next } from 'koa'
import type { Role } from '../../../protocol/chain/tx.ts'
import { CSRF_HEADER, SESSION_COOKIE } from '../constants.ts'
import { CsrfError, ForbiddenError, UnauthenticatedError } from '../errors.ts'
import { tokensEqual } from '../sessions/sessions.ts'
import type { Session, SessionStore } from '../sessions/sessions.ts'
import type { SessionUser } from '../types.ts'

/** The session each request resolved to (undefined: none), so it is looked up once per request. */
const resolved = new WeakMap<Context, Session | undefined>()

/** Methods that must not change state (RFC 9110 §9.2.1), so they need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/** How the session cookie is written. */
export interface CookieOptions { secure: boolean }

/**
 * `Set-Cookie` value of the session cookie (RFC 6265 §4.1; SameSite: RFC 6265bis §4.1.2.7).
 * No Max-Age: the browser forgets it when it closes, and the server ends it at the idle or
 * absolute limit anyway. `value === ''` writes an expired cookie that clears it.
 */
export function sessionCookie (value: string, opts: CookieOptions): string {
  const parts = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict']
  if (value === '') parts.push('Max-Age=0')
  if (opts.secure) parts.push('Secure')
  return parts.join('; ')
}

/** The live session of this request, resolving it from the cookie on first use. */
export function resolveSession (ctx: Context, sessions: SessionStore, cookie: CookieOptions): Session | undefined {
  if (resolved.has(ctx)) return resolved.get(ctx)
  const token = ctx.cookies.get(SESSION_COOKIE, { signed: false })
  const session = token === undefined ? undefined : sessions.lookup(token)
  // An unknown or expired cookie is cleared, so the browser stops sending it.
  if (token !== undefined && session === undefined) ctx.append('Set-Cookie', sessionCookie('', cookie))
  resolved.set(ctx, session)
  if (session !== undefined) ctx.state.user = session.user
  return session
}

/** Forgets the resolved session of a request (after sign-in or sign-out changed it). */
export function setRequestSession (ctx: Context, session: Session | undefined): void {
  resolved.set(ctx, session)
  if (session === undefined) delete ctx.state.user
  else ctx.state.user = session.user
}

/** The session of a request, if the session middleware (or a guard) resolved one. */
export function currentSession (ctx: Context): Session | undefined {
  return resolved.get(ctx)
}

/** The signed-in user of a request, typed (ctx.state is untyped in koa). */
export function currentUser (ctx: Context): SessionUser | undefined {
  return resolved.get(ctx)?.user
}

/**
 * Asks the home hospital whether a relayed session may go on (node/relay); false ends it here.
 * It decides itself when a question is due, so most calls answer from memory.
 */
export type RelayCheck = (session: Session) => Promise<boolean>

/**
 * Session middleware: sets `ctx.state.user` when the cookie names a live session. A relayed
 * session (issue 18) is also checked with its home hospital, and ended here when the home hospital
 * says it is over (signed out there, password changed, account locked).
 */
export function sessionMiddleware (sessions: SessionStore, cookie: CookieOptions, relayCheck: () => RelayCheck | undefined = () => undefined): Middleware {
  return async (ctx: Context, next: Next) => {
    const session = resolveSession(ctx, sessions, cookie)
    const check = session?.relay === undefined ? undefined : relayCheck()
    if (session !== undefined && check !== undefined && !(await check(session))) {
      sessions.destroy(session.id)
      setRequestSession(ctx, undefined)
      ctx.append('Set-Cookie', sessionCookie('', cookie))
    }
    await next()
  }
}

/** Guard: 401 UNAUTHENTICATED without a live session, 403 FORBIDDEN when the role is not listed (an empty list admits every role). */
export function requireUserMiddleware (sessions: SessionStore, cookie: CookieOptions, roles: readonly Role[]): Middleware {
  return async (ctx: Context, next: Next) => {
    const session = resolveSession(ctx, sessions, cookie)
    if (session === undefined) throw new UnauthenticatedError()
    if (roles.length > 0 && !roles.includes(session.user.role)) throw new ForbiddenError()
    await next()
  }
}

/**
 * True unless the browser says the request came from another site. Sec-Fetch-Site (W3C Fetch
 * Metadata) is trusted when present; otherwise an Origin (RFC 6454) must name this host. The
 * scheme is not compared: behind a TLS proxy the peer sees http while the page is https.
 */
function sameOrigin (ctx: Context): boolean {
  const site = ctx.get('sec-fetch-site')
  if (site !== '' && site !== 'same-origin' && site !== 'none') return false
  const origin = ctx.get('origin')
  if (origin === '') return true
  try {
    return new URL(origin).host === ctx.host
  } catch {
    return false
  }
}

/**
 * CSRF middleware for unsafe methods: refuses cross-site requests (403 CSRF) and, when the request
 * is authenticated by the session cookie, requires `x-csrf-token` to equal the session's token,
 * compared in constant time. Paths in `tokenExempt` (sign-in, sign-up) skip only the token check.
 */
export function csrfMiddleware (sessions: SessionStore, cookie: CookieOptions, tokenExempt: ReadonlySet<string> = new Set()): Middleware {
  return async (ctx: Context, next: Next) => {
    if (SAFE_METHODS.has(ctx.method)) return await next()
    if (!sameOrigin(ctx)) throw new CsrfError('cross-site request refused')
    const session = resolveSession(ctx, sessions, cookie)
    if (session !== undefined && !tokenExempt.has(ctx.path)) {
      const sent = ctx.get(CSRF_HEADER)
      if (sent === '' || !tokensEqual(sent, session.csrfToken)) throw new CsrfError(`missing or wrong ${CSRF_HEADER} header`)
    }
    await next()
  }
}
