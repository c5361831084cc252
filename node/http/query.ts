// Validation of URL parameters at the HTTP boundary. Each check throws InvalidRequestError
// (code INVALID, status 400) naming the parameter, what was expected and what arrived.
import type { ParsedUrlQuery } from 'node:querystring'
import { fromHex } from '../../protocol/bytes.ts'
import { InvalidRequestError } from '../../protocol/errors.ts'

function shown (v: string): string {
  return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
}

/** Rejects parameters outside `allowed` (a typo such as `limt` should not be silently ignored). */
export function expectQueryKeys (query: ParsedUrlQuery, allowed: readonly string[]): void {
  for (const k of Object.keys(query)) {
    if (!allowed.includes(k)) throw new InvalidRequestError(`unknown query parameter ${shown(k)} (allowed: ${allowed.join(', ')})`)
  }
}

/** A single-valued query parameter, or undefined when absent. */
export function queryValue (query: ParsedUrlQuery, name: string): string | undefined {
  const v = query[name]
  if (Array.isArray(v)) throw new InvalidRequestError(`${name}: expected one value, got ${v.length}`)
  return v
}

/** Bytes from exactly `bytes` bytes of hex (either case). */
export function parseHexParam (v: string | undefined, name: string, bytes: number): Uint8Array {
  if (v === undefined) throw new InvalidRequestError(`${name}: required, ${bytes * 2} hex digits`)
  if (v.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(v)) {
    throw new InvalidRequestError(`${name}: expected ${bytes * 2} hex digits, got ${shown(v)}`)
  }
  return fromHex(v.toLowerCase())
}

/** A non-negative integer no larger than `max`; `fallback` when absent. */
export function parseUintParam (v: string | undefined, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback
  if (!/^\d{1,16}$/.test(v)) throw new InvalidRequestError(`${name}: expected a non-negative integer, got ${shown(v)}`)
  const n = Number(v)
  if (!Number.isSafeInteger(n) || n > max) throw new InvalidRequestError(`${name}: expected at most ${max}, got ${shown(v)}`)
  return n
}
