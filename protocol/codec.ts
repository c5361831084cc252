// Deterministic dag-cbor encoding. Decoding re-encodes and compares, so only the one canonical
// encoding of a value is ever accepted: two peers can never disagree on a hash over "the same"
// block written two ways.
import * as dagCbor from '@ipld/dag-cbor'
import { decode as cborDecode } from 'cborg'
import { equals } from './bytes.ts'
import { EncodingError } from './errors.ts'

/** Canonical dag-cbor bytes of a value. */
export function encode (value: unknown): Uint8Array {
  return dagCbor.encode(value)
}

/** dag-cbor's decoder without the minimal-length rule (`strict`), to tell non-canonical from garbage. */
const LENIENT = { ...dagCbor.decodeOptions, strict: false }

function parsesLeniently (bytes: Uint8Array): boolean {
  try {
    cborDecode(bytes, LENIENT)
    return true
  } catch {
    return false
  }
}

/**
 * Decodes canonical dag-cbor. Throws `EncodingError` with code BAD_ENCODING for bytes that do
 * not parse and NON_CANONICAL for bytes that parse but are not the canonical form.
 */
export function decode (bytes: Uint8Array): unknown {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    // The strict decoder also refuses well-formed CBOR whose integers or lengths use more bytes
    // than needed; that is a non-canonical encoding, not garbage.
    const code = parsesLeniently(bytes) ? 'NON_CANONICAL' : 'BAD_ENCODING'
    throw new EncodingError(`not valid dag-cbor: ${(err as Error).message}`, code, { cause: err })
  }
  if (!equals(dagCbor.encode(value), bytes)) {
    throw new EncodingError('dag-cbor is not in canonical form', 'NON_CANONICAL')
  }
  return value
}

/**
 * Decodes dag-cbor this peer wrote itself with `encode` (its own ledger store's records and
 * indexes), without `decode`'s canonical check: that check guards what other peers send, and
 * costs a second encoding of every value read (a third of a listing's decoding).
 */
export function decodeOwn (bytes: Uint8Array): unknown {
  try {
    return dagCbor.decode(bytes)
  } catch (err) {
    throw new EncodingError(`not valid dag-cbor: ${(err as Error).message}`, 'BAD_ENCODING', { cause: err })
  }
}
