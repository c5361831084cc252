// Hands a reader their own copy of an image's data keys (DESIGN §5 "Access": the peer hands out
// ciphertext plus the requester's own wrapped key; decryption happens in the browser). Keys
// the hospital holds are unwrapped with its box key and re-wrapped for the reader; keys the
// patient wrapped for the reader in a consent pass through untouched.
import { equals } from '../../protocol/bytes.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { unwrapBoundKey, unwrapKey, wrapKey } from '../../protocol/key-wrap.ts'
import type { ImageRecord } from '../../ledger/queries.ts'
import type { KeySource } from './access.ts'

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

function rewrap (wrapped: Uint8Array, box: HospitalBox, readerBoxPub: Uint8Array): Uint8Array {
  const dataKey = unwrapKey(wrapped, box.secretKey)
  try {
    return wrapKey(dataKey, readerBoxPub)
  } finally {
    dataKey.fill(0)
  }
}

/** Produces `readerBoxPub`'s wrapped keys for `image` from the source the access decision chose. */
export function readerKeys (image: ImageRecord, source: KeySource, readerBoxPub: Uint8Array, box: HospitalBox): ReaderKeys {
  if (source.from === 'patient') {
    const entry = image.keys.find(k => equals(k.to, readerBoxPub))
    if (entry === undefined) throw new KeysUnavailableError('the image carries no key wrapped for this patient')
    return { raw: entry.raw, result: entry.result }
  }
  if (source.from === 'hospital') {
    const entry = image.keys.find(k => equals(k.to, box.publicKey))
    if (entry === undefined) throw new KeysUnavailableError('this hospital holds no key for the image')
    return { raw: rewrap(entry.raw, box, readerBoxPub), result: entry.result === null ? null : rewrap(entry.result, box, readerBoxPub) }
  }
  const granted = source.consent.keys?.find(k => k.image.equals(image.raw))
  if (granted === undefined) throw new KeysUnavailableError('the consent carries no key for this image; the patient must grant it again')
  if (source.consent.kind === 'hospital') {
    // Only a key bound to this very image is re-wrapped: the patient controls what a consent
    // carries, and a key wrapped for this hospital for someone else's image must stay shut.
    const open = (wrapped: Uint8Array, part: 'raw' | 'result'): Uint8Array => {
      const dataKey = unwrapBoundKey(wrapped, part, image.raw.bytes, box.secretKey)
      try {
        return wrapKey(dataKey, readerBoxPub)
      } finally {
        dataKey.fill(0)
      }
    }
    return { raw: open(granted.raw, 'raw'), result: granted.result === null ? null : open(granted.result, 'result') }
  }
  return { raw: granted.raw, result: granted.result }
}
