// HTTP routes of the shared portal (issue 18): the member list the sign-in page picks a home
// hospital from, the relayed sign-in itself, and the patient's sign-ins at other hospitals (kept by
// the home hospital, asked for over the relay when the session is itself relayed).
import { Router } from '@koa/router'
import type { Middleware } from 'koa'
import { toBase64 } from '../../protocol/base64.ts'
import { equals, toHex } from '../../protocol/bytes.ts'
import { hospitalShortName, proofFromBase64 } from '../../protocol/crypto/relay-sign-in.ts'
import { expectFields } from '../../protocol/schema.ts'
import type { Ledger } from '../../ledger/types.ts'
import { readJson } from '../auth/http/body.ts'
import { currentSession, currentUser } from '../auth/index.ts'
import type { AuthRelay } from '../auth/index.ts'
import { RateLimitedError, UnauthenticatedError } from '../auth/errors.ts'
import { expectQueryKeys } from '../http/query.ts'
import { AccountSyncingError, HomeUnreachableError } from './errors.ts'
import type { VisitedSide } from './visited.ts'

/** What the routes use. */
export interface RelayRoutesComponents {
  auth: AuthRelay
  ledger: Pick<Ledger, 'self' | 'members'>
  visited: VisitedSide
  /** Guard admitting patients only. */
  requirePatient: Middleware
}

/** Adds `Retry-After` (RFC 9110 §10.2.3) to the answers that carry one; the error middleware writes the body. */
const retryAfter: Middleware = async (ctx, next) => {
  try {
    await next()
  } catch (err) {
    if (err instanceof HomeUnreachableError || err instanceof RateLimitedError || err instanceof AccountSyncingError) ctx.set('Retry-After', String(err.retryAfter))
    throw err
  }
}

/** Builds the router; mount it after the auth middleware (session, CSRF). */
export function relayRoutes (c: RelayRoutesComponents): Router {
  const router = new Router({ prefix: '/api' })
  const { ledger, visited } = c
  const nameOf = (key: Uint8Array): string => ledger.members().find(m => equals(m.key, key))?.name ?? toHex(key).slice(0, 12)

  // Public like the sign-in page itself: the names of member hospitals are not secret.
  router.get('/auth/homes', async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const homes = ledger.members().filter(m => m.status === 'active').map(m => ({ key: toHex(m.key), name: m.name, short: hospitalShortName(m.name), self: equals(m.key, ledger.self) }))
    ctx.body = { self: toHex(ledger.self), homes }
  })

  router.post('/auth/remote-sign-in', retryAfter, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const f = expectFields(await readJson(ctx), 'body', ['home', 'proof'])
    const home = visited.homeOf(f.home)
    const { session, reply } = await visited.signIn(ctx, home, proofFromBase64(f.proof))
    ctx.body = { user: session.user, csrfToken: session.csrfToken, reply: toBase64(reply) }
  })

  router.get('/me/sign-ins', c.requirePatient, retryAfter, async (ctx) => {
    expectQueryKeys(ctx.query, [])
    const session = currentSession(ctx)
    const user = currentUser(ctx)
    if (session === undefined || user === undefined) throw new UnauthenticatedError()
    const entries = session.relay === undefined
      ? (await c.auth.signIns(user.username)).map(e => ({ via: Buffer.from(e.via, 'hex'), time: e.time }))
      : await visited.signIns(session.relay)
    ctx.body = { entries: entries.map(e => ({ hospital: toHex(e.via), hospitalName: nameOf(e.via), time: e.time })) }
  })
  return router
}
