// Accounts and sessions of one hospital peer (issue 3): `createAuth(init)(components)` gives the
// koa router of `/api/auth/*` and `/api/accounts/*` plus the middleware later routes build on
// (`session`, `requireUser`, `csrf`), over a local account database at `<data>/accounts`.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { Router } from '@koa/router'
import type Koa from 'koa'
import type { Middleware } from 'koa'
import type { Logger } from 'pino'
import { toHex } from '../../protocol/bytes.ts'
import type { Role } from '../../protocol/chain/tx.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import { accountView, Accounts } from './accounts/accounts.ts'
import { AccountStore } from './accounts/store.ts'
import { ACCOUNTS_DIR, AUTH_DEFAULTS, SIGN_IN_LIMITS, SWEEP_INTERVAL_MS } from './constants.ts'
import type { SignInLimits } from './constants.ts'
import { Credentials } from './accounts/credentials.ts'
import { AUTH_STATUS_BY_CODE, RateLimitedError } from './errors.ts'
import { csrfMiddleware, requireUserMiddleware, resolveSession, sessionCookie, sessionMiddleware, setRequestSession } from './http/middleware.ts'
import type { RelayCheck } from './http/middleware.ts'
import { createPasswordHasher } from './accounts/password.ts'
import { SlidingWindow } from './sessions/rate-limit.ts'
import { addAccountRoutes } from './http/routes-accounts.ts'
import { addSetupRoutes } from './http/routes-setup.ts'
import { addAuthRoutes } from './http/routes-auth.ts'
import { SessionStore } from './sessions/sessions.ts'
import type { RelayState, Session } from './sessions/sessions.ts'
import { SignIn } from './sessions/sign-in.ts'
import type { RelayedSignIn } from './accounts/store.ts'
import type { Account, AccountRecord, RandomBytes, SessionUser } from './types.ts'

export { AUTH_STATUS_BY_CODE } from './errors.ts'
export { currentSession, currentUser } from './http/middleware.ts'
export type { Account, AccountStatus, SessionUser, RemoteHome } from './types.ts'
export type { RelayState, Session } from './sessions/sessions.ts'
export type { RelayCheck } from './http/middleware.ts'
export type { RelayedSignIn } from './accounts/store.ts'
export { SESSIONS_ENDED } from './accounts/credentials.ts'
export type { SessionsEnded, SessionsEndedReason } from './accounts/credentials.ts'

/** Path of the account database for a data folder. */
export function accountsPath (data: string): string {
  return join(data, ACCOUNTS_DIR)
}

/** Options of createAuth; the tunables are the config's `auth` block (node/config/auth.ts). */
export interface AuthInit {
  /** Data folder; the accounts live in `<data>/accounts`. */
  data: string
  /** scrypt cost N (power of two, 2^14..2^20); default 2^17. */
  scryptN?: number
  /** Idle timeout of a session (ms); default 30 minutes. */
  sessionIdleMs?: number
  /** Absolute lifetime of a session (ms); default 12 hours. */
  sessionMaxMs?: number
  /** Mark the session cookie `Secure` (set when the peer is served over TLS). */
  secureCookies?: boolean
  /** Sign-in and sign-up throttling; defaults to SIGN_IN_LIMITS (config file: `auth.limits`). */
  limits?: Partial<SignInLimits>
}

/** What auth uses from the peer. */
export interface AuthComponents {
  /** Appends `account.register` and answers key lookups of other hospitals' users. */
  ledger: Ledger
  logger: Logger
  clock: Clock
  /** CSPRNG for salts and tokens; default node:crypto randomBytes. */
  random?: RandomBytes
}

/** Accounts and sessions, started and stopped with the peer. */
export interface Auth {
  start(): Promise<void>
  stop(): Promise<void>
  /** Router of `/api/auth/*` and `/api/accounts/*` (prefix `/api`). */
  readonly router: Router
  /** Sets `ctx.state.user` (a SessionUser) when the cookie names a live session. */
  readonly session: Middleware
  /** Refuses cross-site writes, and cookie-authenticated writes without `x-csrf-token`. */
  readonly csrf: Middleware
  /** Guard: 401 UNAUTHENTICATED without a session, 403 FORBIDDEN for other roles (an empty list admits every role). */
  requireUser(...roles: Role[]): Middleware
  /** Mounts `session`, `csrf` and the router on an app, in that order (before start of the HTTP server). */
  mount(app: Koa): void
  /** Local accounts, for other features: no password hash, no vault. */
  readonly accounts: {
    get(username: string): Promise<Account | undefined>
    byKey(signPub: Uint8Array): Promise<Account | undefined>
  }
  /**
   * The account's session epoch: bumped whenever every session of the account is ended (password
   * change or reset, admin "end sessions", lock). A session relayed to another hospital records
   * the epoch it was made under and ends once the epoch moves. Throws NOT_FOUND.
   */
  sessionEpoch(username: string): Promise<number>
  /** Emits `sessions:ended` (detail: SessionsEnded) as soon as an account's sessions are ended. */
  readonly events: EventTarget
  /** The one-time admin setup link under `base` while no admin exists, else undefined. */
  setupLink(base: string): string | undefined
  /** Error code → HTTP status for createHttpServer's `statusByCode`. */
  readonly statusByCode: Readonly<Record<string, number>>
  /** What relayed sign-in (node/relay, issue 18) uses: the home side's checks, the visited side's sessions. */
  readonly relay: AuthRelay
}

/** The auth operations relayed sign-in builds on; nothing here hands out a hash or stores a vault elsewhere. */
export interface AuthRelay {
  /**
   * Home side: the active account whose authentication secret this is, under the same windows and
   * lockout as a sign-in here (`client` is the throttling key of the relaying hospital and its
   * client). Throws BAD_CREDENTIALS, RATE_LIMITED, ACCOUNT_LOCKED or ACCOUNT_PENDING.
   */
  verify(username: string, secretHex: string, client: string): Promise<AccountRecord>
  /** Home side: the stored account, for the liveness check of a grant. */
  record(username: string): Promise<AccountRecord | undefined>
  /** Home side: records a sign-in at another hospital (durable), and lists them, newest first. */
  addSignIn(username: string, entry: RelayedSignIn): Promise<void>
  signIns(username: string): Promise<RelayedSignIn[]>
  /** Visited side: starts a local session for a relayed patient, replacing the request's own, and sets the cookie. */
  startSession(ctx: Koa.Context, user: SessionUser, relay: RelayState): Session
  /** Visited side: the check every request of a relayed session goes through. */
  setCheck(check: RelayCheck): void
  /** Visited side: told when a relayed session ends here. */
  onEnd(fn: (relay: RelayState) => void): void
  /** Visited side: ends the relayed sessions `match` picks (the home hospital said so); returns how many. */
  endSessions(match: (relay: RelayState) => boolean): number
  /** Absolute lifetime of a session (ms): a home hospital's grant lasts no longer. */
  readonly sessionMaxMs: number
}

/** Adds `Retry-After` (RFC 9110 §10.2.3) to a RATE_LIMITED answer; the error middleware writes the body. */
const retryAfter: Middleware = async (ctx, next) => {
  try {
    await next()
  } catch (err) {
    if (err instanceof RateLimitedError) ctx.set('Retry-After', String(err.retryAfter))
    throw err
  }
}

/** Creates the auth service (libp2p-style factory: init, then components). */
export function createAuth (init: AuthInit): (components: AuthComponents) => Auth {
  return (components) => {
    const { ledger, clock } = components
    const logger = components.logger.child({ component: 'auth' })
    const random: RandomBytes = components.random ?? ((n) => new Uint8Array(randomBytes(n)))
    const limits: SignInLimits = { ...SIGN_IN_LIMITS, ...init.limits }
    const cookie = { secure: init.secureCookies ?? AUTH_DEFAULTS.secureCookies }
    const store = new AccountStore(accountsPath(init.data))
    const hasher = createPasswordHasher({ scryptN: init.scryptN ?? AUTH_DEFAULTS.scryptN })({ random })
    const sessions = new SessionStore({ idleMs: init.sessionIdleMs ?? AUTH_DEFAULTS.sessionIdleMs, maxMs: init.sessionMaxMs ?? AUTH_DEFAULTS.sessionMaxMs }, clock, random)
    const accounts = new Accounts({ store, hasher, ledger, clock, random, logger })
    const signIn = new SignIn({ store, hasher, clock, limits, logger })
    const events = new EventTarget()
    const credentials = new Credentials({ store, hasher, sessions, signIn, limits, clock, logger, events })
    const signUps = new SlidingWindow({ limit: limits.signUpsPerClient, windowMs: limits.windowMs }, clock)
    const signUpFailures = new SlidingWindow({ limit: limits.signUpFailuresPerClient, windowMs: limits.windowMs }, clock)

    let relayCheck: RelayCheck | undefined
    const session = sessionMiddleware(sessions, cookie, () => relayCheck)
    // The setup-link request carries its own signature by the hospital key and no cookie.
    const csrf = csrfMiddleware(sessions, cookie, new Set(['/api/auth/sign-in', '/api/auth/remote-sign-in', '/api/auth/sign-up', '/api/setup/link', '/api/auth/recovery/vault', '/api/auth/recovery/reset']))
    const requireUser = (...roles: Role[]): Middleware => requireUserMiddleware(sessions, cookie, roles)

    const router = new Router({ prefix: '/api' })
    router.use(session, csrf, retryAfter)
    addAuthRoutes(router, { accounts, signIn, credentials, store, sessions, signUps, signUpFailures, cookie, requireUser: requireUser() })
    addSetupRoutes(router, { accounts, ledger, clock })
    addAccountRoutes(router, { accounts, store, sessions, signIn, credentials, ledger, requireUser: requireUser(), requireAdmin: requireUser('admin') })

    let sweeper: NodeJS.Timeout | undefined
    let started = false

    return {
      router,
      session,
      csrf,
      requireUser,
      statusByCode: AUTH_STATUS_BY_CODE,
      mount (app) {
        app.use(session)
        app.use(csrf)
        app.use(router.routes())
        app.use(router.allowedMethods({ throw: true }))
      },
      accounts: {
        async get (username) {
          const r = await store.get(username.toLowerCase())
          return r === undefined ? undefined : accountView(r)
        },
        async byKey (signPub) {
          const r = await store.byKey(toHex(signPub))
          return r === undefined ? undefined : accountView(r)
        }
      },
      setupLink: (base) => accounts.setupLink(base),
      relay: {
        verify: async (username, secretHex, client) => await signIn.signInFrom({ username, password: secretHex }, client),
        record: async (username) => await store.get(username),
        addSignIn: async (username, entry) => await store.addSignIn(username, entry),
        signIns: async (username) => await store.signIns(username),
        startSession (ctx, user, relay) {
          const previous = resolveSession(ctx, sessions, cookie)
          if (previous !== undefined) sessions.destroy(previous.id)
          const { token, session: created } = sessions.create(user, relay)
          ctx.append('Set-Cookie', sessionCookie(token, cookie))
          setRequestSession(ctx, created)
          return created
        },
        setCheck (check) {
          relayCheck = check
        },
        onEnd (fn) {
          sessions.onRelayEnd = fn
        },
        endSessions: (match) => sessions.destroyRelayed(match),
        sessionMaxMs: init.sessionMaxMs ?? AUTH_DEFAULTS.sessionMaxMs
      },
      sessionEpoch: async (username) => await credentials.sessionEpoch(username.toLowerCase()),
      events,
      async start () {
        if (started) return
        await store.open()
        try {
          await accounts.prepareSetup()
        } catch (err) {
          await store.close()
          throw err
        }
        sweeper = setInterval(() => {
          sessions.sweep()
          signIn.sweep()
          signUps.sweep()
          signUpFailures.sweep()
          credentials.sweep()
        }, SWEEP_INTERVAL_MS)
        sweeper.unref()
        started = true
      },
      async stop () {
        if (!started) return
        started = false
        clearInterval(sweeper)
        sessions.clear()
        await store.close()
      }
    }
  }
}
