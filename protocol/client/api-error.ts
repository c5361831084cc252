// The errors of the client SDK: an error answer of the API (its stable code and HTTP status) and a
// peer that could not be reached at all, with the two small readings of a response they rest on:
// `Retry-After` and a pooled connection the peer had already closed.
import { MedichainError } from '../errors.ts'

/** An error answer of the API: its stable code, its message and the HTTP status. */
export class ApiError extends MedichainError {
  readonly status: number
  /** Seconds to wait before retrying, from `Retry-After` (RFC 9110 §10.2.3) on 429 and 503; else null. */
  readonly retryAfter: number | null
  constructor (status: number, code: string, message: string, retryAfter: number | null = null) {
    super(code, message)
    this.name = 'ApiError'
    this.status = status
    this.retryAfter = retryAfter
  }
}

/** Socket errors of a reused connection that the other side had closed before it answered. */
const STALE_CONNECTION_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])

/** True when `err` (or an error in its cause chain) is a connection closed before any answer. */
export function isStaleConnection (err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && STALE_CONNECTION_CODES.has(code)) return true
  }
  return false
}

/** Thrown when the peer cannot be reached at all (fetch rejected: offline, refused, aborted). */
export class NetworkError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('NETWORK', message, options)
    this.name = 'NetworkError'
  }
}

/** Seconds of a `Retry-After` header in its delay-seconds form; null when absent or an HTTP date. */
export function parseRetryAfter (value: string | null): number | null {
  if (value === null || !/^\d{1,9}$/.test(value.trim())) return null
  return Number(value.trim())
}
