// The secrets that make a project's de-identification consistent inside the project and unlinkable
// across projects: one HKDF key per project from the exporting hospital's seed, then HMACs of it
// for the UID key, each patient's pseudonym and each patient's date shift. Nobody without the
// hospital's seed can compute a pseudonym from a patient id, so pseudonyms of two projects (or a
// pseudonym and the ledger's patient id) cannot be joined.
import { createHmac, hkdfSync } from 'node:crypto'
import type { DeidKeys } from './deidentify.ts'

/** HKDF info label of project keys (docs/design.md §10). */
const PROJECT_KEY_INFO = 'medichain/research/project-key/v1'

/** Alphabet of pseudonyms: RFC 4648 base32 without padding, upper case. */
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** Days the Modified Dates option moves a patient's dates back: between 365 and 3,650 (never 0). */
export const DATE_SHIFT_MIN_DAYS = 365
export const DATE_SHIFT_SPAN_DAYS = 3286

function hmac (key: Uint8Array, label: string, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(label).update('\0').update(data).digest()
}

/** The project key: HKDF-SHA256 of the hospital seed, salted with the project id. */
export function projectKey (hospitalSeed: Uint8Array, project: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', hospitalSeed, project, PROJECT_KEY_INFO, 32))
}

/** A patient's pseudonym in a project: 'RP-' and 16 base32 characters (80 bits). */
export function pseudonymOf (key: Uint8Array, patient: Uint8Array): string {
  const h = hmac(key, 'pseudonym', patient)
  let bits = 0n
  for (const b of h.subarray(0, 10)) bits = (bits << 8n) | BigInt(b)
  let out = ''
  for (let i = 0; i < 16; i++) out = BASE32[Number(bits & 31n)] + out, bits >>= 5n
  return `RP-${out}`
}

/** The keys to de-identify one patient's files in one project. */
export function deidKeysFor (key: Uint8Array, patient: Uint8Array): DeidKeys {
  const shift = hmac(key, 'date-shift', patient).readUInt32BE(0) % DATE_SHIFT_SPAN_DAYS
  return {
    uidKey: new Uint8Array(hmac(key, 'uid', new Uint8Array(0))),
    pseudonym: pseudonymOf(key, patient),
    dateShiftDays: -(DATE_SHIFT_MIN_DAYS + shift)
  }
}
