// The one error middleware of the HTTP API (koa's model): every failure becomes `{code, message}`
// with a status chosen by the error's stable `code`. Only our own typed errors expose their
// message; anything unexpected is a 500 `INTERNAL` whose stack goes to the log, never the client.
import type { Middleware } from 'koa'
import type { Logger } from 'pino'
import { MedichainError } from '../../../protocol/errors.ts'
import { LogThrottle } from './log-throttle.ts'
import { isClientAbort } from './methods.ts'

/** HTTP status for each error code the API exposes. Codes not listed here are answered as 500. */
export const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  // Malformed or rule-breaking input (protocol/errors.ts and the ledger's RejectCode).
  INVALID: 400,
  BAD_SCHEMA: 400,
  BAD_ENCODING: 400,
  NON_CANONICAL: 400,
  BAD_SIGNATURE: 400,
  BAD_PROOF: 400,
  WRONG_LEDGER: 400,
  NOT_MEMBER: 400,
  BAD_HEIGHT: 400,
  BAD_PREV: 400,
  BAD_LINKS: 400,
  BAD_TX_ROOT: 400,
  FUTURE_TIME: 400,
  BAD_TIME: 400,
  BAD_MODALITY: 400,
  BAD_IMAGE_META: 400,
  UNAUTHORISED_SIGNER: 400,
  FLAGGED_MEMBER: 400,
  NOT_TASK_COORDINATOR: 400,
  TX_TIME: 400,
  CONSENT_SELF: 400,
  CONSENT_EXPIRED: 400,
  UNKNOWN_GRANTEE: 400,
  FOREIGN_IMAGE: 400,
  FOREIGN_RECORD: 400,
  BAD_STUDY: 400,
  BAD_STUDY_KEY: 400,
  STUDY_KEY_EXISTS: 409,
  BAD_STUDY_SEAL: 400,
  NO_STUDY_KEY: 400,
  CONSENT_TOO_LARGE: 413,
  MISSING_DEPENDENCY: 400,
  CONSENT_KEYS_UNBOUND: 400,
  REKEY_NOT_CUSTODIAN: 400,
  BAD_REKEY: 400,
  REKEY_UNKNOWN: 404,
  EMERGENCY_ROLE: 403,
  BAD_EMERGENCY: 400,
  EMERGENCY_UNKNOWN: 404,
  REKEY_VETO_SIGNER: 403,
  BAD_REWRAP: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  DUPLICATE_TX: 409,
  REPLAYED_SEQ: 409,
  EQUIVOCATION: 409,
  TOO_LARGE: 413,
  RATE_LIMITED: 429,
  NOT_IMPLEMENTED: 501,
  UNAVAILABLE: 503,
  // A write that could not be made durable (ledger/store/storage-error.ts): never acknowledged.
  STORE_FAILED: 503,
  STORAGE_FULL: 507,
  // Writes held by the ledger's write gate (ledger/store/write-gate.ts), answered with Retry-After.
  SYNCING: 503,
  CLOCK_SKEW: 503
}

/** Codes for errors that koa or its middleware raise with an HTTP status (http-errors). */
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'CONFLICT',
  413: 'TOO_LARGE',
  415: 'INVALID',
  429: 'RATE_LIMITED',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE'
}

/** The matched route template (paths carry usernames and patient ids, which stay out of logs). */
function routeOf (ctx: object): string {
  const route = (ctx as { _matchedRoute?: unknown })._matchedRoute
  return typeof route === 'string' ? route : '(unmatched)'
}

/** Log lines that clients can cause: per kind, 20 a minute, then one line saying how many were dropped. */
export const CLIENT_NOISE_LOG = { perWindow: 20, windowMs: 60_000 }

/** Requests whose client abort is logged already (koa's own 'error' event may report it again). */
const abortsLogged = new WeakSet<object>()

/**
 * Logs a client that hung up mid-request: one line per request, no stack, rate-limited. Returns
 * false when `err` is not a client abort (the caller logs it as usual).
 */
export function logClientAbort (logger: Logger, throttle: LogThrottle, err: unknown, req: { destroyed: boolean, complete: boolean } | undefined, fields: object): boolean {
  if (!isClientAbort(err, req)) return false
  if (req !== undefined) {
    if (abortsLogged.has(req)) return true
    abortsLogged.add(req)
  }
  // The upload route names its own abort (ClientAbortedError, with the bytes received) in its line.
  const ownLine = err instanceof MedichainError && err.code === 'CLIENT_ABORTED'
  const t = ownLine ? { write: false, suppressed: 0 } : throttle.take('client-abort')
  if (t.write) logger.info({ ...fields, ...(t.suppressed > 0 ? { suppressed: t.suppressed } : {}) }, 'client aborted the request')
  return true
}

/** The body of every error response. */
export interface ErrorBody { code: string, message: string }

/** What a thrown value becomes on the wire. */
export interface ErrorResponse { status: number, body: ErrorBody }

function httpErrorStatus (err: unknown): number | undefined {
  if (!(err instanceof Error) || !('status' in err) || !('expose' in err)) return undefined
  return typeof err.status === 'number' && err.expose === true ? err.status : undefined
}

/**
 * Maps a thrown value to a response. `extra` adds codes (later features register theirs).
 * Messages of our typed errors are written for clients and carry no PHI or secrets.
 */
export function errorResponse (err: unknown, extra: Readonly<Record<string, number>> = {}): ErrorResponse {
  if (err instanceof MedichainError) {
    const status = extra[err.code] ?? STATUS_BY_CODE[err.code]
    if (status !== undefined) return { status, body: { code: err.code, message: err.message } }
  }
  const status = httpErrorStatus(err)
  if (status !== undefined && CODE_BY_STATUS[status] !== undefined && err instanceof Error) {
    return { status, body: { code: CODE_BY_STATUS[status], message: err.message } }
  }
  return { status: 500, body: { code: 'INTERNAL', message: 'internal error' } }
}

/**
 * Koa middleware: catches everything below it, answers `{code, message}`, logs 5xx with the
 * stack, and turns "no route matched" into 404 `NOT_FOUND`.
 */
export function errorMiddleware (logger: Logger, extra: Readonly<Record<string, number>> = {}, throttle = new LogThrottle(CLIENT_NOISE_LOG)): Middleware {
  return async (ctx, next) => {
    try {
      await next()
      if (ctx.status === 404 && ctx.body == null) {
        ctx.status = 404
        ctx.body = { code: 'NOT_FOUND', message: 'no such route' } satisfies ErrorBody
      }
    } catch (err) {
      const res = errorResponse(err, extra)
      const fields = { method: ctx.method, route: routeOf(ctx), status: res.status }
      if (logClientAbort(logger, throttle, err, ctx.req, fields)) {
        // Nobody is listening for an answer; the line above is all that is left to do.
      } else if (res.body.code === 'INTERNAL') {
        logger.error({ err, ...fields }, 'request failed')
      } else if (res.status >= 500) {
        // A typed 5xx (an unknown method, overload, a full disk) is expected: one line, no stack.
        const t = throttle.take(res.body.code)
        if (t.write) logger.warn({ ...fields, code: res.body.code, ...(t.suppressed > 0 ? { suppressed: t.suppressed } : {}) }, 'request refused')
      } else {
        logger.debug({ method: ctx.method, route: routeOf(ctx), status: res.status, code: res.body.code }, 'request rejected')
      }
      // An error that knows when a retry makes sense says so (RFC 9110 §10.2.3).
      if (err instanceof MedichainError && 'retryAfter' in err && typeof err.retryAfter === 'number') ctx.set('Retry-After', String(err.retryAfter))
      ctx.status = res.status
      ctx.body = res.body
    }
  }
}
