// The sealed image card (protocol/image-meta.ts): it round-trips under the image's raw key, opens
// under no other key (the raw key itself included), refuses every malformed field, and the
// `meta` CID of image.add and image.rekey is optional with one encoding.
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { utf8 } from '../../protocol/bytes.ts'
import { encode } from '../../protocol/codec.ts'
import { decryptBytes, encryptBytes } from '../../protocol/crypto/content-crypto.ts'
import { nobleIdentity } from '../../protocol/crypto/ed25519.ts'
import { sha256 } from '../../protocol/crypto/hash.ts'
import {
  cleanMetaText, decodeImageMeta, encodeImageMeta, imageMetaKey, isMetaDate, MAX_META_NAME, MAX_SEALED_META_BYTES,
  MAX_THUMBNAIL_BYTES, openImageMeta, sealImageMeta, toMetaDate
} from '../../protocol/image-meta.ts'
import type { ImageMeta } from '../../protocol/image-meta.ts'
import { decodeTx, encodeTx, patientIdOf, signTx } from '../../protocol/chain/tx.ts'
import type { TxBodies } from '../../protocol/chain/tx.ts'
import { rejects, throwsCode } from '../helpers/assert.ts'

const rawKey = new Uint8Array(32).fill(7)
const otherKey = new Uint8Array(32).fill(8)
const card: ImageMeta = {
  name: 'knee left.dcm',
  date: '2026-12-06T14:15',
  description: 'Knee, left — axial',
  modality: 'CT',
  thumbnail: { type: 'image/jpeg', width: 160, height: 120, bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xd9]) }
}

test('a card round-trips under the raw key, and every field is optional', async () => {
  assert.equal(await openImageMeta(rawKey, await sealImageMeta(rawKey, card)), card)
  assert.equal(await openImageMeta(rawKey, await sealImageMeta(rawKey, {})), {})
  assert.equal(decodeImageMeta(encodeImageMeta({ name: 'a.png' })), { name: 'a.png' })
})

test('the card key is derived (RFC 5869), never the raw key itself; another key opens nothing', async () => {
  const sealed = await sealImageMeta(rawKey, card)
  const metaKey = await imageMetaKey(rawKey)
  assert.not.equal(metaKey, rawKey)
  assert.equal(metaKey, await imageMetaKey(rawKey), 'deterministic')
  assert.not.equal(metaKey, await imageMetaKey(otherKey))
  await rejects(async () => await decryptBytes(rawKey, sealed), 'BAD_CIPHERTEXT')
  await rejects(async () => await openImageMeta(otherKey, sealed), 'BAD_CIPHERTEXT')
  await rejects(async () => await imageMetaKey(new Uint8Array(16)), 'BAD_KEY')
})

test('a flipped bit, a truncation or an oversized card is refused', async () => {
  const sealed = await sealImageMeta(rawKey, card)
  const flipped = sealed.slice()
  flipped[sealed.length - 20] ^= 1
  await rejects(async () => await openImageMeta(rawKey, flipped), 'BAD_CIPHERTEXT')
  await rejects(async () => await openImageMeta(rawKey, sealed.subarray(0, sealed.length - 1)), 'BAD_CIPHERTEXT')
  await rejects(async () => await openImageMeta(rawKey, new Uint8Array(MAX_SEALED_META_BYTES + 1)), 'BAD_IMAGE_META')
})

test('a card that decrypts but breaks the format is BAD_IMAGE_META', async () => {
  const key = await imageMetaKey(rawKey)
  const bad: unknown[] = [
    { v: 2 },
    { v: 1, extra: 1 },
    { name: 'no version' },
    { v: 1, name: '' },
    { v: 1, name: 'x'.repeat(MAX_META_NAME + 1) },
    { v: 1, name: 'tab\there' },
    { v: 1, date: '2026-02-30' },
    { v: 1, date: '06/12/2026' },
    { v: 1, thumbnail: { ...card.thumbnail, type: 'image/gif' } },
    { v: 1, thumbnail: { ...card.thumbnail, width: 161 } },
    { v: 1, thumbnail: { ...card.thumbnail, height: 0 } },
    { v: 1, thumbnail: { ...card.thumbnail, bytes: new Uint8Array(MAX_THUMBNAIL_BYTES + 1) } }
  ]
  for (const value of bad) {
    await rejects(async () => await openImageMeta(rawKey, await encryptBytes(key, encode(value))), 'BAD_IMAGE_META')
  }
  await rejects(async () => await openImageMeta(rawKey, await encryptBytes(key, utf8('not cbor at all'))), 'BAD_IMAGE_META')
  throwsCode(() => encodeImageMeta({ date: 'yesterday' }), 'BAD_IMAGE_META')
})

test('dates from DICOM DA/TM and ISO, cut to the minute; malformed ones are dropped', () => {
  assert.is(toMetaDate('20261206', '141503.123'), '2026-12-06T14:15')
  assert.is(toMetaDate('20261206'), '2026-12-06')
  assert.is(toMetaDate('20261206', 'garbage'), '2026-12-06')
  assert.is(toMetaDate('2026-12-06T09:30:12.000Z'), '2026-12-06T09:30')
  assert.is(toMetaDate('2026-12-06'), '2026-12-06')
  assert.is(toMetaDate('20260230'), undefined)
  assert.is(toMetaDate('2026-12-06T25:00'), '2026-12-06')
  assert.is(toMetaDate(''), undefined)
  assert.is(toMetaDate(undefined), undefined)
  assert.ok(isMetaDate('2024-02-29'))
  assert.not.ok(isMetaDate('2023-02-29'))
})

test('text from files and forms is cleaned: control characters, runs of space, length', () => {
  assert.is(cleanMetaText('  a\u0000b\n\n c  ', 10), 'a b c')
  assert.is(cleanMetaText('   ', 10), undefined)
  assert.is(cleanMetaText(undefined, 10), undefined)
  assert.is(cleanMetaText('abcdefghijkl', 5), 'abcde')
})

const hospital = nobleIdentity(new Uint8Array(32).fill(1))
const ledger = sha256(utf8('test ledger'))
const cid = (n: number): CID => CID.create(1, 0x55, Digest.create(0x12, sha256(new Uint8Array([n]))))
const imageAdd: TxBodies['image.add'] = {
  patient: patientIdOf(nobleIdentity(new Uint8Array(32).fill(2)).publicKey), record: null, raw: cid(1), result: null,
  modality: 'CT', size: 10, model: null, score: null, keys: [{ to: new Uint8Array(32).fill(6), raw: new Uint8Array(80), result: null }]
}
const signed = (body: unknown): Uint8Array => encodeTx(signTx(ledger, { type: 'image.add', body: body as TxBodies['image.add'], signer: hospital.publicKey, seq: 1, time: 1 }, hospital)).bytes

test('image.add: meta is an optional CID; absent, the encoding is the one from before cards', () => {
  const withMeta = decodeTx(signed({ ...imageAdd, meta: cid(9) }))
  assert.ok(withMeta.tx.type === 'image.add' && withMeta.tx.body.meta?.equals(cid(9)))
  const without = decodeTx(signed(imageAdd))
  assert.ok(without.tx.type === 'image.add' && !('meta' in without.tx.body))
  throwsCode(() => decodeTx(signed({ ...imageAdd, meta: null })), 'BAD_SCHEMA')
  throwsCode(() => decodeTx(signed({ ...imageAdd, meta: 'bafy' })), 'BAD_SCHEMA')
})

test.run()
