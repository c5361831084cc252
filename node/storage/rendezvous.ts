// Who pins an image besides its custodian (docs/design.md §5 Availability): rendezvous hashing, also
// called highest random weight (Thaler & Ravishankar, 1998). Every member ranks by
// SHA-256(cid bytes ‖ member key) and the k highest win, so every peer computes the same choice
// from the same member list with no coordination, load spreads evenly, and a member joining or
// leaving moves only the images it wins or held.
import { compare, concat, equals } from '../../protocol/bytes.ts'
import { sha256 } from '../../protocol/crypto/hash.ts'

/** The weight of `member` for content `cidBytes`: SHA-256(cid bytes ‖ member key). */
export function rendezvousWeight (cidBytes: Uint8Array, member: Uint8Array): Uint8Array {
  return sha256(concat(cidBytes, member))
}

/**
 * The `k` members that pin content `cidBytes` besides its custodian: the highest weights among
 * `members` other than the custodian (a member listed twice counts once). Ties, which need a
 * SHA-256 collision, fall to the lower key. Fewer than `k` candidates gives them all.
 */
export function choosePinners (cidBytes: Uint8Array, members: readonly Uint8Array[], custodian: Uint8Array, k: number): Uint8Array[] {
  if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`expected k to be a whole number ≥ 0, got ${k}`)
  const ranked: Array<{ key: Uint8Array, weight: Uint8Array }> = []
  for (const key of members) {
    if (equals(key, custodian) || ranked.some(r => equals(r.key, key))) continue
    ranked.push({ key, weight: rendezvousWeight(cidBytes, key) })
  }
  ranked.sort((a, b) => compare(b.weight, a.weight) || compare(a.key, b.key))
  return ranked.slice(0, k).map(r => r.key)
}

/** True when `self` should hold content `cidBytes`: it is the custodian or one of the k chosen. */
export function shouldPin (cidBytes: Uint8Array, members: readonly Uint8Array[], custodian: Uint8Array, k: number, self: Uint8Array): boolean {
  if (equals(self, custodian)) return true
  return choosePinners(cidBytes, members, custodian, k).some(key => equals(key, self))
}
