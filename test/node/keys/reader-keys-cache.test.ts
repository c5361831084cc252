// The peer keeps the boxes it re-wrapped for a reader (node/records/reader-keys.ts), so a reader
// listing the same images again costs no X25519. A kept box is reused only for the same image
// part: a consent key bound to one image, copied into a consent for another, stays shut even after
// the first image's box was made and kept (the peer is never a key oracle).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { equals } from '../../../protocol/bytes.ts'
import { unwrapKey, wrapBoundKey, wrapKey } from '../../../protocol/crypto/key-wrap.ts'
import { generateUserKeys, secureRandomBytes } from '../../../protocol/crypto/user-keys.ts'
import type { ConsentRecord, ImageRecord } from '../../../ledger/queries/queries.ts'
import { readerKeys } from '../../../node/records/reader-keys.ts'
import { throwsCode } from '../../helpers/assert.ts'

const hospital = generateUserKeys()
const box = { publicKey: hospital.boxPub, secretKey: hospital.boxSecret }
const reader = generateUserKeys()

async function imageOf (n: number, dataKey: Uint8Array): Promise<ImageRecord> {
  const cid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`image ${n}`)))
  return {
    patient: new Uint8Array(32).fill(1), record: null, raw: cid, result: null, modality: 'CT', size: 1, model: null, score: null,
    keys: [{ to: hospital.boxPub, raw: wrapKey(dataKey, hospital.boxPub), result: null }],
    custodian: new Uint8Array(32).fill(2), tx: new Uint8Array(32), time: 0
  }
}

function consentWith (keys: NonNullable<ConsentRecord['keys']>): ConsentRecord {
  return { grantee: reader.signPub, purpose: 'treatment', action: 'grant', seq: 0, tx: new Uint8Array(32), time: 0, kind: 'user', scope: { kind: 'all' }, expires: Date.now() + 60_000, keys }
}

test('a second listing gets the same box; the box opens to the data key', async () => {
  const dataKey = secureRandomBytes(32)
  const image = await imageOf(1, dataKey)
  const first = readerKeys(image, { from: 'hospital' }, reader.boxPub, box)
  const second = readerKeys(image, { from: 'hospital' }, reader.boxPub, box)
  assert.ok(equals(first.raw, second.raw), 'the kept box is handed out again')
  assert.ok(equals(unwrapKey(first.raw, reader.boxSecret), dataKey))
  // Another reader gets a box of their own.
  const other = generateUserKeys()
  assert.ok(equals(unwrapKey(readerKeys(image, { from: 'hospital' }, other.boxPub, box).raw, other.boxSecret), dataKey))
})

test('a bound key copied into a consent for another image stays shut after its own image was opened', async () => {
  const keyX = secureRandomBytes(32)
  const x = await imageOf(10, keyX)
  const y = await imageOf(11, secureRandomBytes(32))
  const boundToX = wrapBoundKey(keyX, 'raw', x.raw.bytes, hospital.boxPub)
  // The honest consent opens X, and its box is kept.
  const forX = readerKeys(x, { from: 'consent', consent: consentWith([{ image: x.raw, raw: boundToX, result: null }]) }, reader.boxPub, box)
  assert.ok(equals(unwrapKey(forX.raw, reader.boxSecret), keyX))
  // A consent naming Y that carries X's key: refused, not served from the kept box.
  const forged = consentWith([{ image: y.raw, raw: boundToX, result: null }])
  throwsCode(() => readerKeys(y, { from: 'consent', consent: forged }, reader.boxPub, box), 'BAD_WRAPPED_KEY')
})

test.run()
