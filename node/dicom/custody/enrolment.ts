// Printed enrolment codes (issue 13 item 4): the desk hands a patient who is not enrolled yet a
// code for the MRN their images arrived under; the patient enters it in their portal once signed
// up, and the images held in custody for that MRN are attached to them. A code is 60 random bits
// in Crockford base32 (12 characters, printed in groups of four), kept only under an HMAC in the
// sealed patient index, single use, and valid for ENROLMENT_CODE_TTL_MS.
import { randomBytes } from 'node:crypto'
import { MedichainError } from '../../../protocol/errors.ts'

/** How long a printed code stays valid: a month to sign up and enter it. */
export const ENROLMENT_CODE_TTL_MS = 30 * 24 * 60 * 60 * 1000

/** Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or misread still parses. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** Characters of a code (12 × 5 bits = 60 bits). */
export const ENROLMENT_CODE_CHARS = 12

/** Thrown when a code is unknown, already used or expired (one answer for all three). */
export class UnknownEnrolmentCodeError extends MedichainError {
  constructor () {
    super('UNKNOWN_ENROLMENT_CODE', 'this enrolment code is unknown, used or expired; ask the hospital for a new one')
    this.name = 'UnknownEnrolmentCodeError'
  }
}

/** Thrown when an MRN is already linked to another patient: a link is never moved silently. */
export class MrnLinkedError extends MedichainError {
  constructor () {
    super('MRN_LINKED', 'this MRN is already linked to another patient')
    this.name = 'MrnLinkedError'
  }
}

/** A fresh code, grouped for print: `XXXX-XXXX-XXXX`. */
export function newEnrolmentCode (): string {
  const bytes = randomBytes(ENROLMENT_CODE_CHARS)
  let out = ''
  for (let i = 0; i < ENROLMENT_CODE_CHARS; i++) out += ALPHABET[bytes[i] & 31]
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8)}`
}

/**
 * The canonical form of a typed code: upper case, separators and spaces dropped, O read as 0 and
 * I or L as 1 (Crockford). Undefined when it cannot be a code.
 */
export function normaliseEnrolmentCode (typed: unknown): string | undefined {
  if (typeof typed !== 'string' || typed.length > 40) return undefined
  const s = typed.toUpperCase().replace(/[\s-]+/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
  if (s.length !== ENROLMENT_CODE_CHARS || [...s].some(c => !ALPHABET.includes(c))) return undefined
  return s
}
