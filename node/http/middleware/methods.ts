// Requests the peer cannot serve by their nature: methods no route implements (WebDAV's PROPFIND,
// MKCOL, LOCK…, TRACE, CONNECT) and requests whose client hung up mid-body. Both are ordinary
// internet noise, so they get a typed answer and at most a rate-limited line without a stack.
import { Router } from '@koa/router'
import type Koa from 'koa'
import type { Middleware } from 'koa'
import { MedichainError } from '../../../protocol/errors.ts'

/**
 * Methods some route of the peer implements (@koa/router's own list). Another method on a path
 * that some route serves is 405 with `Allow` (RFC 9110 §15.5.6); elsewhere the method is unknown
 * to the whole server, which RFC 9110 §15.6.2 answers with 501.
 */
export const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** Thrown when a request uses a method no route of this peer implements. */
export class MethodNotImplementedError extends MedichainError {
  constructor () {
    super('NOT_IMPLEMENTED', 'this server implements GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS only')
    this.name = 'MethodNotImplementedError'
  }
}

/** Thrown when a path exists but not for this method; `allow` lists the methods it has. */
export class MethodNotAllowedError extends MedichainError {
  readonly allow: string[]
  constructor (allow: string[]) {
    super('METHOD_NOT_ALLOWED', `this path answers ${allow.join(', ')} only`)
    this.name = 'MethodNotAllowedError'
    this.allow = allow
  }
}

/** Methods the routers mounted on `app` serve at `path` (empty when no route has this path). */
export function methodsAt (app: Koa, path: string): string[] {
  const allowed = new Set<string>()
  for (const mw of app.middleware) {
    const router = (mw as { router?: unknown }).router
    if (!(router instanceof Router)) continue
    for (const layer of router.match(path, 'GET').path) for (const m of layer.methods) allowed.add(m)
  }
  return [...allowed].sort()
}

/**
 * Refuses unknown methods before any session, CSRF or route code runs: 405 with `Allow` where a
 * route serves the path, else 501. Reads the routers of `app` at request time, so it sees routers
 * mounted after it.
 */
export function unknownMethods (app: Koa): Middleware {
  return async (ctx, next) => {
    if (KNOWN_METHODS.has(ctx.method)) return await next()
    const allow = methodsAt(app, ctx.path)
    if (allow.length === 0) throw new MethodNotImplementedError()
    ctx.set('Allow', allow.join(', '))
    throw new MethodNotAllowedError(allow)
  }
}

const ABORT_CODES = new Set(['CLIENT_ABORTED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED', 'HPE_INVALID_EOF_STATE'])

/**
 * True when `err` comes from the client going away mid-request (the socket closed or reset before
 * the body was read or the answer written), not from a fault of the peer.
 */
export function isClientAbort (err: unknown, req?: { destroyed: boolean, complete: boolean }): boolean {
  if (!(err instanceof Error)) return false
  const code = 'code' in err && typeof err.code === 'string' ? err.code : ''
  if (ABORT_CODES.has(code)) return true
  if (err.message === 'aborted' || err.message === 'Parse Error') return req === undefined || req.destroyed
  return req !== undefined && req.destroyed && !req.complete && err.name === 'AbortError'
}
