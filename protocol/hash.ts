// SHA-256 for protocol hashes (block ids, tx ids, patient ids, ledger id). @noble/hashes runs
// unchanged in the browser, so a patient's page computes exactly what the peer computes.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'

/** SHA-256 digest of bytes (FIPS 180-4). */
export function sha256 (bytes: Uint8Array): Uint8Array {
  return nobleSha256(bytes)
}
