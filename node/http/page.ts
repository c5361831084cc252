// Paging of list routes that grow with the ledger. A page holds at most `limit` items and a
// `next` cursor; the cursor is opaque to clients (base64url of the last item's sort key), so a
// page is defined by position, not offset, and items written meanwhile never shift or repeat.
import type { ParsedUrlQuery } from 'node:querystring'
import { InvalidRequestError } from '../../protocol/errors.ts'
import { parseUintParam, queryValue } from './query.ts'

/** What a paged route reads from its query: the page size and where the previous page ended. */
export interface PageRequest { limit: number, cursor: Array<string | number> | undefined }

/** A page of items and the cursor of the next, or null after the last. */
export interface Page<T> { items: T[], next: string | null }

/** Longest cursor accepted: far above any sort key, small enough to refuse junk at once. */
const MAX_CURSOR_CHARS = 512

/** Encodes a sort key (strings and integers) as an opaque cursor. */
export function encodeCursor (key: ReadonlyArray<string | number>): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url')
}

/**
 * Decodes a cursor made by encodeCursor whose key has the `shape` given ('s' string, 'n'
 * non-negative integer, in order); throws INVALID naming `name` otherwise.
 */
export function decodeCursor (v: string, name: string, shape: string): Array<string | number> {
  const bad = (): InvalidRequestError => new InvalidRequestError(`${name}: not a cursor this route returned`)
  if (v.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(v)) throw bad()
  let key: unknown
  try {
    key = JSON.parse(Buffer.from(v, 'base64url').toString('utf8'))
  } catch {
    throw bad()
  }
  if (!Array.isArray(key) || key.length !== shape.length) throw bad()
  key.forEach((x: unknown, i) => {
    const ok = shape[i] === 's' ? typeof x === 'string' && x.length <= 256 : typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
    if (!ok) throw bad()
  })
  return key as Array<string | number>
}

/** Reads `limit` (default `fallback`, 1..`max`) and `cursor` (of `shape`, see decodeCursor) from a query. */
export function parsePage (query: ParsedUrlQuery, shape: string, fallback: number, max: number): PageRequest {
  const limit = parseUintParam(queryValue(query, 'limit'), 'limit', fallback, max)
  if (limit === 0) throw new InvalidRequestError('limit: expected at least 1')
  const raw = queryValue(query, 'cursor')
  return { limit, cursor: raw === undefined ? undefined : decodeCursor(raw, 'cursor', shape) }
}

/**
 * Compares two sort keys element by element (numbers numerically, strings by code unit), as the
 * routes order their items; negative when `a` sorts first.
 */
export function compareKeys (a: ReadonlyArray<string | number>, b: ReadonlyArray<string | number>): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]
    const y = b[i]
    if (x === y) continue
    if (typeof x === 'number' && typeof y === 'number') return x - y
    return String(x) < String(y) ? -1 : 1
  }
  return a.length - b.length
}

/**
 * One page of `items` already sorted by `keyOf` in `order`: those strictly after `cursor`, at
 * most `limit`, with the cursor of the next page when more remain.
 */
export function pageOf<T> (items: readonly T[], keyOf: (item: T) => Array<string | number>, req: PageRequest, order: 'asc' | 'desc'): Page<T> {
  const sign = order === 'asc' ? 1 : -1
  const { cursor } = req
  const after = cursor === undefined ? items : items.filter(x => sign * compareKeys(keyOf(x), cursor) > 0)
  const page = after.slice(0, req.limit)
  const more = after.length > req.limit
  return { items: page, next: more ? encodeCursor(keyOf(page[page.length - 1])) : null }
}
