// Image records as the store holds them, decoded once: a listing reads the same records page after
// page (issue 14), and decoding one (dag-cbor with CIDs) cost more than the rest of its reading.
// A record is kept with the bytes it came from and reused only while the store holds the very
// same bytes, so a re-keyed record is never served stale. Kept records are frozen: a caller that
// tried to change one would change every later reader's copy, so it throws instead.
import { equals } from '../../protocol/bytes.ts'
import { decodeOwn } from '../../protocol/codec.ts'
import type { ImageRecord } from '../data-types.ts'

/** Decoded records kept (least recently used go first): ten patients of 1,000 images, about 10 MB (measured with two key wraps each, 743 bytes stored). */
export const IMAGE_RECORDS_KEPT = 10_000

/** Decodes image records from their store bytes, reusing the decoding of identical bytes. */
export interface ImageRecords {
  /** The record stored under `key` as `bytes`. */
  decode(key: string, bytes: Uint8Array): ImageRecord
}

/** Freezes plain objects and arrays all the way down; CIDs and byte arrays are left as they are. */
function freeze<T> (value: T): T {
  if (Array.isArray(value)) {
    for (const v of value) freeze(v)
    return Object.freeze(value)
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) freeze(v)
    return Object.freeze(value)
  }
  return value
}

/** A cache of decoded image records of one store, by store key. */
export function createImageRecords (kept = IMAGE_RECORDS_KEPT): ImageRecords {
  const cache = new Map<string, { bytes: Uint8Array, image: ImageRecord }>()
  return {
    decode (key, bytes) {
      const hit = cache.get(key)
      if (hit !== undefined && equals(hit.bytes, bytes)) {
        // Most recently used last: the Map's order is the eviction order.
        cache.delete(key)
        cache.set(key, hit)
        return hit.image
      }
      const image = freeze(decodeOwn(bytes) as ImageRecord)
      cache.delete(key)
      if (cache.size >= kept) cache.delete(cache.keys().next().value as string)
      cache.set(key, { bytes, image })
      return image
    }
  }
}
