// The peer's node:crypto card sealer against the protocol's WebCrypto one (protocol/image-meta.ts):
// the same card key, and a sealed card every reader opens; the wrong raw key or a flipped bit
// does not open it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { imageMetaKey, openImageMeta, sealImageMeta } from '../../../protocol/image-meta.ts'
import type { ImageMeta } from '../../../protocol/image-meta.ts'
import { nodeImageMetaKey, nodeSealImageMeta } from '../../../node/records/card-seal.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'

const card: ImageMeta = { name: 'slice-0001.dcm', date: '2026-12-07', description: 'CT chest', modality: 'CT', thumbnail: { type: 'image/png', width: 2, height: 2, bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]) } }

test('the card key is the protocol\'s HKDF of the raw key', async () => {
  const raw = new Uint8Array(randomBytes(32))
  assert.equal(nodeImageMetaKey(raw), await imageMetaKey(raw))
  assert.not.equal(nodeImageMetaKey(raw), nodeImageMetaKey(new Uint8Array(randomBytes(32))))
})

test('a card sealed on the peer opens with the protocol, and the other way round', async () => {
  const raw = new Uint8Array(randomBytes(32))
  assert.equal(await openImageMeta(raw, nodeSealImageMeta(raw, card)), card)
  // Same format both ways: the WebCrypto seal has the node seal's length.
  assert.is((await sealImageMeta(raw, card)).length, nodeSealImageMeta(raw, card).length)
})

test('the wrong raw key or a flipped bit does not open it; a short key is refused', async () => {
  const raw = new Uint8Array(randomBytes(32))
  const sealed = nodeSealImageMeta(raw, card)
  await rejects(async () => await openImageMeta(new Uint8Array(randomBytes(32)), sealed), 'BAD_CIPHERTEXT')
  const flipped = sealed.slice()
  flipped[flipped.length - 1] ^= 1
  await rejects(async () => await openImageMeta(raw, flipped), 'BAD_CIPHERTEXT')
  throwsCode(() => nodeSealImageMeta(new Uint8Array(16), card), 'BAD_KEY')
})

test.run()
