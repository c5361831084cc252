// Standard base64 (RFC 4648 §4, with padding) that behaves the same in Node and in browsers.
// Decoding is strict: only the one canonical encoding of some bytes is accepted, so a value sent
// inside JSON (a sealed vault, a signed transaction) has exactly one text form.
import { EncodingError } from './errors.ts'

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const DECODE = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i

/** The base64 text of bytes, padded to a multiple of 4 characters (RFC 4648 §4). */
export function toBase64 (bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2]
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63]
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i] << 16
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + '=='
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8)
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + ALPHABET[(n >> 6) & 63] + '='
  }
  return out
}

/** The 6-bit value of one base64 character, or -1. */
function sextet (s: string, i: number): number {
  const c = s.charCodeAt(i)
  return c < 128 ? DECODE[c] : -1
}

/**
 * The bytes of padded base64 text. Throws EncodingError (BAD_ENCODING) on a wrong length, a
 * character outside the alphabet, misplaced padding, or non-zero padding bits: RFC 4648 §3.5
 * lets a decoder reject those, and rejecting them keeps the encoding canonical.
 */
export function fromBase64 (s: string): Uint8Array<ArrayBuffer> {
  if (typeof s !== 'string' || s.length % 4 !== 0) {
    throw new EncodingError(`expected padded base64, got ${typeof s === 'string' ? `${s.length} characters` : typeof s}`)
  }
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0
  const out = new Uint8Array((s.length / 4) * 3 - pad)
  let o = 0
  for (let i = 0; i < s.length; i += 4) {
    const last = i + 4 === s.length
    const a = sextet(s, i)
    const b = sextet(s, i + 1)
    const c = last && pad === 2 ? 0 : sextet(s, i + 2)
    const d = last && pad >= 1 ? 0 : sextet(s, i + 3)
    if ((a | b | c | d) < 0) throw new EncodingError(`not base64: bad character near offset ${i}`)
    const n = (a << 18) | (b << 12) | (c << 6) | d
    out[o++] = n >> 16
    if (o < out.length) out[o++] = (n >> 8) & 255
    if (o < out.length) out[o++] = n & 255
    if (last && ((pad === 2 && (n & 0xffff) !== 0) || (pad === 1 && (n & 0xff) !== 0))) {
      throw new EncodingError('not canonical base64: non-zero padding bits')
    }
  }
  return out
}
