// Hands a reader their own copy of an image's data keys (docs/design.md §5 "Access": the peer hands out
// ciphertext plus the requester's own wrapped key; decryption happens in the browser). Only the
// patient's own keys pass through untouched. Every other key is held by this hospital (as the
// custodian, or bound to the image in a consent to the hospital or to one of its users) and is
// unwrapped here, after the live consent check, and re-wrapped for the reader: no key a grantee
// could use sits on the ledger, so none outlives a revoke or an expiry (issue 11.3).
import { equals } from '../../protocol/bytes.ts'
import { MedichainError } from '../../protocol/errors.ts'
import type { ImageRecord } from '../../ledger/queries.ts'
import type { KeySource } from './access.ts'
import { nodeBoxKeyOf, nodeUnwrapBoundKey, nodeUnwrapKey, nodeWrapKey } from './node-box.ts'

/** The reader's wrapped data keys for one image. */
export interface ReaderKeys { raw: Uint8Array, result: Uint8Array | null }

/** The hospital's X25519 box key pair (derived from its member key, protocol/user-keys.ts). */
export interface HospitalBox { publicKey: Uint8Array, secretKey: Uint8Array }

/** Thrown when the keys for an image are not available to this peer for this reader. */
export class KeysUnavailableError extends MedichainError {
  constructor (message: string) {
    super('KEYS_UNAVAILABLE', message)
    this.name = 'KeysUnavailableError'
  }
}

/** Wraps an unwrapped data key for the reader and zeroes it. */
function handOver (dataKey: Uint8Array, readerBoxPub: Uint8Array): Uint8Array {
  try {
    return nodeWrapKey(dataKey, readerBoxPub)
  } finally {
    dataKey.fill(0)
  }
}

/** Produces `readerBoxPub`'s wrapped keys for `image` from the source the access decision chose. */
export function readerKeys (image: ImageRecord, source: KeySource, readerBoxPub: Uint8Array, box: HospitalBox): ReaderKeys {
  if (source.from === 'patient') {
    if (source.wrapped !== undefined) return { raw: source.wrapped.raw, result: source.wrapped.result }
    const entry = image.keys.find(k => equals(k.to, readerBoxPub))
    if (entry === undefined) throw new KeysUnavailableError('the image carries no key wrapped for this patient')
    return { raw: entry.raw, result: entry.result }
  }
  const key = nodeBoxKeyOf(box)
  if (source.from === 'hospital') {
    const entry = image.keys.find(k => equals(k.to, box.publicKey))
    if (entry === undefined) throw new KeysUnavailableError('this hospital holds no key for the image')
    const open = (wrapped: Uint8Array): Uint8Array => handOver(nodeUnwrapKey(wrapped, key), readerBoxPub)
    return { raw: open(entry.raw), result: entry.result === null ? null : open(entry.result) }
  }
  const granted = source.consent.keys?.find(k => k.image.equals(image.raw))
  if (granted === undefined) throw new KeysUnavailableError('the consent carries no key for this image; the patient must grant it again')
  // Consent keys, to a hospital or to one of its users, are wrapped for the hospital and bound to
  // this very image: a key wrapped for this hospital for someone else's image must stay shut.
  // BAD_WRAPPED_KEY when they are not: the peer is never a key oracle.
  const open = (wrapped: Uint8Array, part: 'raw' | 'result'): Uint8Array => handOver(nodeUnwrapBoundKey(wrapped, part, image.raw.bytes, key), readerBoxPub)
  return { raw: open(granted.raw, 'raw'), result: granted.result === null ? null : open(granted.result, 'result') }
}
