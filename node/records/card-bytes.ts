// Reads an image's sealed card (protocol/image-meta.ts) from storage: a few KiB, gathered in memory
// with a hard cap, so a custodian that recorded something huge as a card cannot make a reader's
// peer buffer it.
import type { CID } from 'multiformats/cid'
import { concat } from '../../protocol/bytes.ts'
import { ImageMetaError, MAX_SEALED_META_BYTES } from '../../protocol/image-meta.ts'
import type { Storage } from '../storage/index.ts'

/** The sealed card's bytes; BAD_IMAGE_META once they pass MAX_SEALED_META_BYTES. */
export async function readSealedCard (storage: Pick<Storage, 'cat'>, cid: CID): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  for await (const part of storage.cat(cid)) {
    n += part.length
    if (n > MAX_SEALED_META_BYTES) throw new ImageMetaError(`a sealed image card is at most ${MAX_SEALED_META_BYTES} bytes`)
    parts.push(part)
  }
  return concat(...parts)
}
