// Domain separation for signatures: a signature made for one purpose (a block) can never be
// replayed as another (a transaction), because the signed bytes start with a different tag.
import { concat, utf8 } from './bytes.ts'
import type { DOMAIN } from './constants.ts'

/** A domain tag from constants.DOMAIN. */
export type DomainTag = typeof DOMAIN[keyof typeof DOMAIN]

/** The exact bytes a signature covers: `utf8(tag) || 0x00 || payload`. */
export function domainBytes (tag: DomainTag, payload: Uint8Array): Uint8Array {
  return concat(utf8(tag), new Uint8Array([0]), payload)
}
