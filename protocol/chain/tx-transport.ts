// Signed transactions inside JSON: a browser signs a transaction (a consent, say) and POSTs its
// canonical dag-cbor bytes as base64, so the peer verifies exactly the bytes that were signed and
// no JSON re-encoding can change them.
import { fromBase64, toBase64 } from '../base64.ts'
import { MAX_TX_BYTES } from '../constants.ts'
import { EncodingError, TooLargeError } from '../errors.ts'
import { decodeTx, encodeTx } from './tx.ts'
import type { DecodedTx, Tx } from './tx.ts'

/** Longest base64 text of a transaction of MAX_TX_BYTES bytes (RFC 4648 §4: 4 chars per 3 bytes). */
const MAX_TX_BASE64 = Math.ceil(MAX_TX_BYTES / 3) * 4

/** Base64 of the signed transaction's canonical bytes. Throws TOO_LARGE past MAX_TX_BYTES. */
export function txToBase64 (tx: Tx): string {
  return toBase64(encodeTx(tx).bytes)
}

/**
 * Decodes a transaction from its base64 text (for instance a JSON body field). Throws
 * TooLargeError (TOO_LARGE) before decoding anything over the limit, EncodingError
 * (BAD_ENCODING or NON_CANONICAL) for bad base64 or dag-cbor, and SchemaError (BAD_SCHEMA) for a
 * wrong shape. The signature is not checked here: call `verifyTx`.
 */
export function txFromBase64 (text: unknown): DecodedTx {
  if (typeof text !== 'string') throw new EncodingError(`expected a base64 string, got ${text === null ? 'null' : typeof text}`)
  if (text.length > MAX_TX_BASE64) throw new TooLargeError(`a transaction may be at most ${MAX_TX_BYTES} bytes (${MAX_TX_BASE64} base64 characters), got ${text.length} characters`)
  return decodeTx(fromBase64(text))
}
