// The request with which the hospital's IT team asks a running peer for a new admin setup link
// (`medichain admin setup-link`). Whoever can read the hospital key on the peer's host may ask:
// the request is the current time signed with that key under its own domain tag, so it can be
// neither forged without the key nor replayed as any other signature, and it goes stale quickly.
import { concat } from '../../../protocol/bytes.ts'
import { DOMAIN } from '../../../protocol/constants.ts'
import { domainBytes } from '../../../protocol/domain.ts'
import type { Identity, Verifier } from '../../../protocol/crypto/ed25519.ts'

/** How old (or how far ahead) a setup-link request may be: enough for a slow CLI, too little to hoard. */
export const SETUP_REQUEST_MAX_AGE_MS = 60_000

function payload (ledgerId: Uint8Array, time: number): Uint8Array {
  const t = new Uint8Array(8)
  new DataView(t.buffer).setBigUint64(0, BigInt(time))
  return domainBytes(DOMAIN.setupLink, concat(ledgerId, t))
}

/** Signs a setup-link request at `time` with the hospital's identity. */
export function signSetupRequest (identity: Identity, ledgerId: Uint8Array, time: number): Uint8Array {
  return identity.sign(payload(ledgerId, time))
}

/** True when `sig` is the hospital's own signature over a request made within the allowed age. */
export function checkSetupRequest (verify: Verifier, hospital: Uint8Array, ledgerId: Uint8Array, time: number, sig: Uint8Array, now: number): boolean {
  if (!Number.isSafeInteger(time) || time < 0 || Math.abs(now - time) > SETUP_REQUEST_MAX_AGE_MS) return false
  return verify(hospital, payload(ledgerId, time), sig)
}
