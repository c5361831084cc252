// The short patient code (docs/design.md §5 "Patient codes"): ten characters a patient reads out at
// a desk instead of a 64-hex id, e.g. `K7QM2-XD9HF`. The first nine are the first 45 bits of the
// patient id in Crockford's base32 (no I, L, O or U, so nothing reads as another character); the
// tenth is a Damm check character over GF(32), which catches every single wrong character, every
// swap of two neighbours and every swap around one (x·y·z for z·y·x). The code is a pure function of
// the id: nothing is stored or registered, and every peer and browser computes the same code. It
// resolves to the id through the ledger's patient accounts; two patients whose ids share their
// first 45 bits share a code, and the peer then says so instead of guessing.
import { fromHex, toHex } from './bytes.ts'
import { MedichainError } from './errors.ts'

/** Crockford's base32 alphabet (https://www.crockford.com/base32.html). */
export const PATIENT_CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
/** Characters that carry the id: 9 × 5 = 45 bits. */
export const PATIENT_CODE_PAYLOAD = 9
/** Bits of the patient id a code carries. */
export const PATIENT_CODE_BITS = PATIENT_CODE_PAYLOAD * 5
/** Characters of a code, the check character included. */
export const PATIENT_CODE_LENGTH = PATIENT_CODE_PAYLOAD + 1

/** Why a typed code was refused. */
export type PatientCodeProblem = 'length' | 'character' | 'checksum'

/** Thrown when a typed patient code is not a code: wrong length, a character outside the alphabet, or a check that fails (a typo). */
export class PatientCodeError extends MedichainError {
  readonly problem: PatientCodeProblem
  constructor (problem: PatientCodeProblem, message: string) {
    super('BAD_PATIENT_CODE', message)
    this.name = 'PatientCodeError'
    this.problem = problem
  }
}

/** Multiplies by x in GF(2^5) modulo the primitive polynomial x^5 + x^2 + 1. */
function times2 (a: number): number {
  const b = a << 1
  return b & 0x20 ? (b ^ 0x25) : b
}

/**
 * Damm's check over the quasigroup a ∘ b = 2a ⊕ b of GF(32) (H. M. Damm, "Totally anti-symmetric
 * quasigroups for all orders n ≠ 2, 6", Discrete Mathematics 307 (2007); 2 ≠ 0, 1 makes it totally
 * anti-symmetric). Returns the interim after folding `digits`: 0 for a valid code.
 */
function dammInterim (digits: readonly number[]): number {
  let interim = 0
  for (const d of digits) interim = times2(interim) ^ d
  return interim
}

/** The first PATIENT_CODE_PAYLOAD base32 digits of a patient id (its first 45 bits, big-endian). */
function payloadDigits (id: Uint8Array): number[] {
  const digits: number[] = []
  for (let i = 0; i < PATIENT_CODE_PAYLOAD; i++) {
    let v = 0
    for (let b = 0; b < 5; b++) {
      const bit = i * 5 + b
      v = (v << 1) | ((id[bit >> 3] >> (7 - (bit & 7))) & 1)
    }
    digits.push(v)
  }
  return digits
}

/** Writes a code as two groups of five, `K7QM2-XD9HF`, the way it is shown and read out. */
export function formatPatientCode (code: string): string {
  return `${code.slice(0, 5)}-${code.slice(5)}`
}

/** The code of a patient id (32 bytes, or its 64 hex characters), formatted `XXXXX-XXXXX`. */
export function patientCodeOf (id: Uint8Array | string): string {
  const bytes = typeof id === 'string' ? fromHex(id) : id
  if (bytes.length !== 32) throw new RangeError(`a patient id is 32 bytes, got ${bytes.length}`)
  const digits = payloadDigits(bytes)
  // The check digit c makes interim ∘ c = 0, i.e. c = 2·interim.
  digits.push(times2(dammInterim(digits)))
  return formatPatientCode(digits.map(d => PATIENT_CODE_ALPHABET[d]).join(''))
}

/** Crockford's decoding: case does not matter, O is 0, I and L are 1; spaces and hyphens are ignored. */
function digitOf (ch: string): number {
  const c = ch.toUpperCase()
  const mapped = c === 'O' ? '0' : c === 'I' || c === 'L' ? '1' : c
  return PATIENT_CODE_ALPHABET.indexOf(mapped)
}

/** True when `input` has the shape of a code (ten code characters, any grouping), whatever its check. */
export function looksLikePatientCode (input: string): boolean {
  const s = input.replace(/[\s-]/g, '')
  return s.length === PATIENT_CODE_LENGTH && [...s].every(ch => digitOf(ch) >= 0)
}

/**
 * Checks a typed code and returns it in canonical form (`XXXXX-XXXXX`) with the id prefix it
 * names: the first 45 bits as 11 hex characters plus the one bit left over. Throws
 * PatientCodeError (BAD_PATIENT_CODE) for a wrong length, a character outside the alphabet, or a
 * failed check: a mistyped or misheard character, or two swapped.
 */
export function parsePatientCode (input: string): { code: string, prefixHex: string, lastBit: number } {
  const s = input.replace(/[\s-]/g, '')
  if (s.length !== PATIENT_CODE_LENGTH) throw new PatientCodeError('length', `a patient code has ${PATIENT_CODE_LENGTH} characters, got ${s.length}`)
  const digits = [...s].map(digitOf)
  if (digits.some(d => d < 0)) throw new PatientCodeError('character', 'a patient code uses only 0–9 and the letters A–Z without I, L, O and U')
  if (dammInterim(digits) !== 0) throw new PatientCodeError('checksum', 'the patient code does not check: a character is wrong, or two are swapped')
  const bits = new Uint8Array(6)
  for (let bit = 0; bit < PATIENT_CODE_BITS; bit++) {
    if ((digits[Math.floor(bit / 5)] >> (4 - bit % 5)) & 1) bits[bit >> 3] |= 0x80 >> (bit & 7)
  }
  const hex = toHex(bits)
  return {
    code: formatPatientCode(digits.map(d => PATIENT_CODE_ALPHABET[d]).join('')),
    prefixHex: hex.slice(0, 11),
    lastBit: (bits[5] >> 3) & 1
  }
}

/** True when the patient id (32 bytes) carries the code's 45 bits. */
export function idMatchesCode (id: Uint8Array, parsed: { prefixHex: string, lastBit: number }): boolean {
  return toHex(id).startsWith(parsed.prefixHex) && ((id[5] >> 3) & 1) === parsed.lastBit
}
