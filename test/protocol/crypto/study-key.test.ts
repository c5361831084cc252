// Study keys (protocol/crypto/study-key.ts): a data key sealed under a study key opens only with that key,
// for its own part and image; a study key wrapped for a hospital opens only as its own study's
// key (patient, study, custodian, key id), never as another study's or as an image key; the
// peer's node:crypto opening (node/records/node-box.ts) agrees with the browser's.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { unwrapBound, wrapBoundKey } from '../../../protocol/crypto/key-wrap.ts'
import { newStudyKey, openUnderStudyKey, sealUnderStudyKey, STUDY_SEALED_KEY_BYTES, studyKeyBinding, unwrapStudyKey, wrapStudyKey } from '../../../protocol/crypto/study-key.ts'
import { BOUND_STUDY_KEY_BYTES } from '../../../protocol/chain/study-tx.ts'
import { hospitalBoxPublicKey, hospitalBoxSecretKey } from '../../../protocol/crypto/user-keys.ts'
import { nobleIdentity } from '../../../protocol/crypto/ed25519.ts'
import { nodeBoxKey, nodeUnwrapBound } from '../../../node/records/node-box.ts'
import { throwsCode } from '../../helpers/assert.ts'

const cid = (n: number): Uint8Array => CID.create(1, 0x55, Digest.create(0x12, sha256(new Uint8Array([n])))).bytes
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill)
const hospitalSeed = bytes(32, 41)
const hospitalPub = hospitalBoxPublicKey(nobleIdentity(hospitalSeed).publicKey)
const hospitalSecret = hospitalBoxSecretKey(hospitalSeed)
const study = { patient: bytes(32, 1), record: bytes(16, 2), custodian: bytes(32, 3), kid: bytes(16, 4) }

test('a data key sealed under the study key opens with it, for its own part and image only', () => {
  const { key } = newStudyKey()
  const dataKey = bytes(32, 9)
  const sealed = sealUnderStudyKey(dataKey, 'raw', cid(1), key)
  assert.is(sealed.length, STUDY_SEALED_KEY_BYTES)
  assert.equal(openUnderStudyKey(sealed, 'raw', cid(1), key), dataKey)
  throwsCode(() => openUnderStudyKey(sealed, 'result', cid(1), key), 'BAD_WRAPPED_KEY')
  throwsCode(() => openUnderStudyKey(sealed, 'raw', cid(2), key), 'BAD_WRAPPED_KEY')
  throwsCode(() => openUnderStudyKey(sealed, 'raw', cid(1), newStudyKey().key), 'BAD_WRAPPED_KEY')
  for (const at of [0, 30, sealed.length - 1]) {
    const flipped = sealed.slice()
    flipped[at] ^= 1
    throwsCode(() => openUnderStudyKey(flipped, 'raw', cid(1), key), 'BAD_WRAPPED_KEY')
  }
  throwsCode(() => openUnderStudyKey(sealed.subarray(1), 'raw', cid(1), key), 'BAD_WRAPPED_KEY')
  throwsCode(() => sealUnderStudyKey(bytes(31, 1), 'raw', cid(1), key), 'BAD_KEY')
  throwsCode(() => sealUnderStudyKey(dataKey, 'raw', cid(1), bytes(16, 1)), 'BAD_KEY')
})

test('a study key wrapped for a hospital opens only as its own study\'s key', () => {
  const { key } = newStudyKey()
  const box = wrapStudyKey(key, study, hospitalPub)
  assert.is(box.length, BOUND_STUDY_KEY_BYTES)
  assert.equal(unwrapStudyKey(box, study, hospitalSecret), key)
  for (const field of ['patient', 'record', 'custodian', 'kid'] as const) {
    const other = { ...study, [field]: study[field].map(b => b ^ 0xff) }
    throwsCode(() => unwrapStudyKey(box, other, hospitalSecret), 'BAD_WRAPPED_KEY')
  }
  // Another hospital's secret opens nothing.
  throwsCode(() => unwrapStudyKey(box, study, hospitalBoxSecretKey(bytes(32, 42))), 'BAD_WRAPPED_KEY')
  // A bound image key of the same size is no study key, and a study key box no image key.
  const imageBox = wrapBoundKey(key, 'raw', cid(1), hospitalPub)
  assert.is(imageBox.length, box.length)
  throwsCode(() => unwrapStudyKey(imageBox, study, hospitalSecret), 'BAD_WRAPPED_KEY')
  // The peer (node:crypto) opens what the browser made, and refuses the same forgeries.
  const node = nodeBoxKey(hospitalSecret, hospitalPub)
  assert.equal(nodeUnwrapBound(box, studyKeyBinding(study), node), key)
  assert.equal(unwrapBound(box, studyKeyBinding(study), hospitalSecret), key)
  throwsCode(() => nodeUnwrapBound(box, studyKeyBinding({ ...study, kid: bytes(16, 5) }), node), 'BAD_WRAPPED_KEY')
  throwsCode(() => nodeUnwrapBound(imageBox, studyKeyBinding(study), node), 'BAD_WRAPPED_KEY')
})

test.run()
