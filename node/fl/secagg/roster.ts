// Who takes part in one secure-aggregation round: the key list the coordinator relays (U1), each
// entry signed by its own hospital so the coordinator cannot swap in keys of its own, the order
// that fixes every hospital's Shamir x-coordinate, and the threshold t.
import { toHex } from '../../../protocol/bytes.ts'
import type { Verifier } from '../../../protocol/crypto/ed25519.ts'
import { MAX_PARTIES } from './constants.ts'
import { SecAggError } from './errors.ts'
import { verifySecAgg } from './messages.ts'
import type { AdvertiseKeys } from './messages.ts'

/** The hospitals of a round by hex member key, in x-coordinate order (ascending key). */
export interface Roster {
  parties: Map<string, AdvertiseKeys>
  order: string[]
  /** Σ samples over the key list: the quantiser's bound is this times the clip norm. */
  totalSamples: number
}

/**
 * Shamir threshold for n hospitals: a strict majority, ⌊n/2⌋ + 1 (Bonawitz §4 needs t > n/2 so
 * that two disjoint groups cannot each reconstruct a different secret of one hospital). With 3
 * hospitals one may drop after sharing.
 */
export function thresholdOf (n: number): number {
  return Math.floor(n / 2) + 1
}

/** Checks a key list (signatures, round, no repeats, size) and orders it. Throws BAD_SIGNATURE, SECAGG_*. */
export function checkKeyList (ledgerId: Uint8Array, task: string, round: number, list: readonly AdvertiseKeys[], verify: Verifier): Roster {
  if (list.length === 0 || list.length > MAX_PARTIES) throw new SecAggError('SECAGG_TOO_FEW', `a key list needs 1 to ${MAX_PARTIES} hospitals, got ${list.length}`)
  const parties = new Map<string, AdvertiseKeys>()
  let totalSamples = 0
  for (const entry of list) {
    verifySecAgg(ledgerId, entry, verify)
    if (entry.task !== task || entry.round !== round) throw new SecAggError('SECAGG_WRONG_ROUND', 'a key list entry is for another round')
    const h = toHex(entry.hospital)
    if (parties.has(h)) throw new SecAggError('SECAGG_DUPLICATE', 'a hospital appears twice in the key list')
    if (!Number.isSafeInteger(entry.samples) || entry.samples <= 0) throw new SecAggError('SECAGG_BAD_INPUT', 'a sample count must be a positive integer')
    parties.set(h, entry)
    totalSamples += entry.samples
  }
  return { parties, order: [...parties.keys()].sort(), totalSamples }
}
