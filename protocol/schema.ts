// Boundary checks for decoded values. Each check names the field path, what was expected and
// what arrived, and throws SchemaError; past the boundary the types are trusted.
import { CID } from 'multiformats/cid'
import { SchemaError } from './errors.ts'

/** A plain object decoded from dag-cbor or JSON. */
export type Fields = Record<string, unknown>

function describe (v: unknown): string {
  if (v === null) return 'null'
  if (v instanceof Uint8Array) return `${v.length} bytes`
  if (Array.isArray(v)) return `an array of ${v.length}`
  if (typeof v === 'string') return `a string of ${v.length}`
  return typeof v
}

/** Asserts a plain object with exactly the required keys plus any of the optional ones. */
export function expectFields (v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Fields {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || CID.asCID(v) !== null) {
    throw new SchemaError(`${path}: expected a map, got ${describe(v)}`)
  }
  const fields = v as Fields
  for (const key of required) {
    if (!(key in fields)) throw new SchemaError(`${path}.${key}: required field is missing`)
  }
  for (const key of Object.keys(fields)) {
    if (!required.includes(key) && !optional.includes(key)) throw new SchemaError(`${path}.${key}: unknown field`)
  }
  return fields
}

/** Asserts bytes, of exactly `length` if given, else at most `max`. */
export function expectBytes (v: unknown, path: string, length?: number, max = 1 << 20): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new SchemaError(`${path}: expected bytes, got ${describe(v)}`)
  if (length !== undefined && v.length !== length) throw new SchemaError(`${path}: expected ${length} bytes, got ${v.length}`)
  if (v.length > max) throw new SchemaError(`${path}: expected at most ${max} bytes, got ${v.length}`)
  return v
}

/** Asserts a non-negative safe integer no larger than `max`. */
export function expectUint (v: unknown, path: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    throw new SchemaError(`${path}: expected an integer in [0, ${max}], got ${typeof v === 'number' ? v : describe(v)}`)
  }
  return v
}

/** Asserts a finite number (metrics may be fractional). */
export function expectFinite (v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new SchemaError(`${path}: expected a finite number, got ${describe(v)}`)
  return v
}

/** Asserts a string of 1..max characters of printable text. */
export function expectString (v: unknown, path: string, max: number, min = 1): string {
  if (typeof v !== 'string') throw new SchemaError(`${path}: expected a string, got ${describe(v)}`)
  if (v.length < min || v.length > max) throw new SchemaError(`${path}: expected ${min}..${max} characters, got ${v.length}`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new SchemaError(`${path}: control characters are not allowed`)
  return v
}

/** Asserts one of the listed string values. */
export function expectEnum<T extends string> (v: unknown, path: string, values: readonly T[]): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new SchemaError(`${path}: expected one of ${values.join(', ')}, got ${typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : describe(v)}`)
  }
  return v as T
}

/** Asserts an array of at most `max` items, checking each with `item`. */
export function expectArray<T> (v: unknown, path: string, max: number, item: (x: unknown, p: string) => T): T[] {
  if (!Array.isArray(v)) throw new SchemaError(`${path}: expected an array, got ${describe(v)}`)
  if (v.length > max) throw new SchemaError(`${path}: expected at most ${max} items, got ${v.length}`)
  return v.map((x, i) => item(x, `${path}[${i}]`))
}

/** Asserts a CID (dag-cbor tag 42). */
export function expectCid (v: unknown, path: string): CID {
  const cid = CID.asCID(v)
  if (cid === null) throw new SchemaError(`${path}: expected a CID, got ${describe(v)}`)
  return cid
}

/** Applies `check` unless the value is null. */
export function nullable<T> (v: unknown, path: string, check: (x: unknown, p: string) => T): T | null {
  return v === null ? null : check(v, path)
}
