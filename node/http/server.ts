// The peer's HTTP server: koa 3 with one error middleware, security headers, an access log line
// per request and the ledger routes. Listens on the configured host and port (0 picks a free one).
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import Koa from 'koa'
import type { Middleware } from 'koa'
import type { Logger } from 'pino'
import type { Clock, Ledger } from '../../ledger/types.ts'
import { clientIp, TrustedProxies } from './middleware/client-ip.ts'
import { CLIENT_NOISE_LOG, errorMiddleware, logClientAbort } from './middleware/errors.ts'
import { LogThrottle } from './middleware/log-throttle.ts'
import { unknownMethods } from './middleware/methods.ts'
import { ledgerRoutes } from './routes/routes-ledger.ts'
import type { ConnectedMembers } from './routes/routes-ledger.ts'
import { securityHeaders } from './middleware/security.ts'

/** How long `stop()` lets in-flight requests finish before cutting their connections (ms). */
export const SHUTDOWN_GRACE_MS = 2_000

/** Where to listen. */
export interface HttpServerInit {
  host: string
  port: number
  /**
   * Reverse proxies (addresses or CIDR subnets) whose X-Forwarded-For names the client; from any
   * other sender the header is ignored. Empty by default: the socket's peer is the client.
   */
  trustProxy?: readonly string[]
  /** Extra error code → status pairs for features that add their own codes. */
  statusByCode?: Record<string, number>
  /**
   * Guard for the ledger and member routes (the peer passes "any signed-in user"): the ledger is
   * pseudonymous but its consent and access graph is nobody else's business. /api/health stays open.
   */
  ledgerGuard?: Middleware
  /**
   * Guard for the explorer routes (`/api/ledger/*`: chains, blocks, transactions, state root,
   * evidence), run after `ledgerGuard`; the peer passes "admins only". Other roles read their own
   * scoped views (node/http/routes/routes-scoped.ts) instead of paging through the whole graph.
   */
  explorerGuard?: Middleware
}

/** What the HTTP server uses. */
export interface HttpServerComponents {
  ledger: Ledger
  logger: Logger
  p2p?: ConnectedMembers
  clock?: Clock
  /** More fields for /api/health from other services (AI backend, storage), no PHI. */
  health?: () => Record<string, string | number | boolean | null>
}

/** A started-and-stoppable HTTP server. `url` is known once `start()` has resolved. */
export interface HttpServer {
  start(): Promise<void>
  stop(): Promise<void>
  /** Base URL, e.g. `http://127.0.0.1:8080`; throws before start. */
  readonly url: string
  /** The koa app, for later features to mount their routers on before start. */
  readonly app: Koa
}

function formatUrl (address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}`
}

/** Creates the HTTP server (libp2p-style factory: init, then components). */
export function createHttpServer (init: HttpServerInit): (components: HttpServerComponents) => HttpServer {
  return (components) => {
    const logger = components.logger.child({ component: 'http' })
    const clock = components.clock ?? Date.now
    const app = new Koa({ proxy: false })
    const noise = new LogThrottle(CLIENT_NOISE_LOG, clock)
    app.on('error', (err: unknown, ctx?: { req?: { destroyed: boolean, complete: boolean }, method?: string }) => {
      // A client that hung up mid-request surfaces here once more as a socket error of the
      // response: expected, so at most the one line logClientAbort writes per request, no stack.
      if (logClientAbort(logger, noise, err, ctx?.req, { method: ctx?.method })) return
      logger.error({ err }, 'unhandled koa error')
    })

    app.use(securityHeaders())
    app.use(clientIp(new TrustedProxies(init.trustProxy ?? [])))
    app.use(async (ctx, next) => {
      const started = performance.now()
      try {
        await next()
      } finally {
        // The matched route template, not the path: paths carry usernames and patient ids.
        const route = (ctx as { _matchedRoute?: unknown })._matchedRoute
        logger.info({ method: ctx.method, route: typeof route === 'string' ? route : '(unmatched)', status: ctx.status, ms: Math.round(performance.now() - started) }, 'request')
      }
    })
    app.use(errorMiddleware(logger, init.statusByCode, noise))
    app.use(unknownMethods(app))
    app.use(async (ctx, next) => {
      if (ctx.path.startsWith('/api/')) ctx.set('Cache-Control', 'no-store')
      await next()
    })
    const guard = init.ledgerGuard
    if (guard !== undefined) {
      app.use(async (ctx, next) => {
        if (ctx.path.startsWith('/api/ledger') || ctx.path.startsWith('/api/members')) return await guard(ctx, next)
        await next()
      })
    }
    const explorer = init.explorerGuard
    if (explorer !== undefined) {
      app.use(async (ctx, next) => ctx.path.startsWith('/api/ledger') ? await explorer(ctx, next) : await next())
    }
    const router = ledgerRoutes({ ledger: components.ledger, p2p: components.p2p, clock, health: components.health })
    app.use(router.routes())
    app.use(router.allowedMethods({ throw: true }))

    let server: Server | undefined
    let url: string | undefined

    return {
      app,
      get url (): string {
        if (url === undefined) throw new Error('the HTTP server has not started')
        return url
      },
      async start (): Promise<void> {
        if (server !== undefined) return
        const s = createServer(app.callback())
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject)
          s.listen(init.port, init.host, () => {
            s.off('error', reject)
            resolve()
          })
        })
        server = s
        const address = s.address()
        if (address === null || typeof address === 'string') throw new Error('the HTTP server is not listening on TCP')
        url = formatUrl(address)
        logger.info({ url }, 'http listening')
      },
      async stop (): Promise<void> {
        const s = server
        if (s === undefined) return
        server = undefined
        const closed = new Promise<void>((resolve) => s.close(() => resolve()))
        s.closeIdleConnections()
        const force = setTimeout(() => s.closeAllConnections(), SHUTDOWN_GRACE_MS)
        force.unref()
        await closed
        clearTimeout(force)
        logger.info('http stopped')
      }
    }
  }
}
