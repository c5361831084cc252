// Seals an image card (protocol/image-meta.ts) on the peer with node:crypto: the same key
// derivation (HKDF-SHA256 of the raw data key under IMAGE_META_KEY_INFO) and the same content
// format as the protocol's WebCrypto sealImageMeta, which every reader opens, at a fraction of its
// main-thread cost (one per stored image; docs/benchmarks.md "DICOM ingest").
import { hkdfSync } from 'node:crypto'
import { assertContentKey } from '../../protocol/crypto/content-crypto.ts'
import { encodeImageMeta, IMAGE_META_KEY_INFO } from '../../protocol/image-meta.ts'
import type { ImageMeta } from '../../protocol/image-meta.ts'
import { encryptContentSync } from '../storage/seal/content-crypto-node.ts'

/** The card key of an image whose raw data key is `rawKey` (protocol/image-meta.ts imageMetaKey). */
export function nodeImageMetaKey (rawKey: Uint8Array): Uint8Array {
  assertContentKey(rawKey)
  return new Uint8Array(hkdfSync('sha256', rawKey, new Uint8Array(0), IMAGE_META_KEY_INFO, 32))
}

/** Seals `meta` under the card key of `rawKey`; protocol/image-meta.ts openImageMeta opens it. */
export function nodeSealImageMeta (rawKey: Uint8Array, meta: ImageMeta): Uint8Array {
  const plain = encodeImageMeta(meta)
  const key = nodeImageMetaKey(rawKey)
  try {
    return encryptContentSync(key, plain)
  } finally {
    key.fill(0)
  }
}
