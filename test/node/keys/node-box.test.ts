// The peer's node:crypto sealed boxes against the published format: they open the boxes libsodium
// 1.0.18 sealed and the fixed-ephemeral ones libsodium opened (test/vectors/key-wrap.json), and
// interoperate both ways with protocol/crypto/key-wrap.ts, bound keys included; every bad input fails
// with a code, small-order keys too.
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex, utf8 } from '../../../protocol/bytes.ts'
import { unwrapKey, wrapBoundKey, wrapKey } from '../../../protocol/crypto/key-wrap.ts'
import { generateUserKeys, secureRandomBytes } from '../../../protocol/crypto/user-keys.ts'
import { nodeBoxKey, nodeUnwrapBoundKey, nodeUnwrapKey, nodeWrapKey } from '../../../node/records/node-box.ts'
import { throwsCode } from '../../helpers/assert.ts'

interface Sodium { recipientSecret: string, recipientPub: string, dataKey: string, wrapped: string }
const vectors = JSON.parse(readFileSync(new URL('../../vectors/key-wrap.json', import.meta.url), 'utf8')) as { fixedEphemeral: Sodium[], libsodium: Sodium[] }

/** X25519 points of small order (libsodium's blacklist), as in test/protocol/crypto/key-wrap.test.ts. */
const SMALL_ORDER = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'
].map(fromHex)

test('opens the boxes libsodium sealed and the fixed-ephemeral boxes libsodium opened', () => {
  for (const v of [...vectors.libsodium, ...vectors.fixedEphemeral]) {
    const box = nodeBoxKey(fromHex(v.recipientSecret), fromHex(v.recipientPub))
    assert.is(toHex(nodeUnwrapKey(fromHex(v.wrapped), box)), v.dataKey)
  }
})

test('interoperates with protocol/crypto/key-wrap.ts both ways, bound keys included', () => {
  const r = generateUserKeys()
  const box = nodeBoxKey(r.boxSecret, r.boxPub)
  const dataKey = secureRandomBytes(32)
  assert.equal(nodeUnwrapKey(wrapKey(dataKey, r.boxPub), box), dataKey)
  assert.equal(unwrapKey(nodeWrapKey(dataKey, r.boxPub), r.boxSecret), dataKey)
  const image = utf8('an image CID')
  assert.equal(nodeUnwrapBoundKey(wrapBoundKey(dataKey, 'result', image, r.boxPub), 'result', image, box), dataKey)
})

test('every bad input fails with a code', () => {
  const r = generateUserKeys()
  const other = generateUserKeys()
  const box = nodeBoxKey(r.boxSecret, r.boxPub)
  const dataKey = secureRandomBytes(32)
  const wrapped = nodeWrapKey(dataKey, r.boxPub)
  throwsCode(() => nodeUnwrapKey(wrapped, nodeBoxKey(other.boxSecret, other.boxPub)), 'BAD_WRAPPED_KEY')
  throwsCode(() => nodeUnwrapKey(wrapped.map((b, i) => i === 50 ? b ^ 1 : b), box), 'BAD_WRAPPED_KEY')
  throwsCode(() => nodeUnwrapKey(wrapped.subarray(0, 79), box), 'BAD_WRAPPED_KEY')
  throwsCode(() => nodeWrapKey(dataKey.subarray(0, 31), r.boxPub), 'BAD_KEY')
  throwsCode(() => nodeWrapKey(dataKey, r.boxPub.subarray(0, 31)), 'BAD_KEY')
  const image = utf8('an image CID')
  const bound = wrapBoundKey(dataKey, 'raw', image, r.boxPub)
  throwsCode(() => nodeUnwrapBoundKey(bound, 'result', image, box), 'BAD_WRAPPED_KEY')
  throwsCode(() => nodeUnwrapBoundKey(bound, 'raw', utf8('another image'), box), 'BAD_WRAPPED_KEY')
  throwsCode(() => nodeUnwrapBoundKey(wrapped, 'raw', image, box), 'BAD_WRAPPED_KEY')
  for (const point of SMALL_ORDER) {
    throwsCode(() => nodeWrapKey(dataKey, point), 'BAD_KEY')
    const forged = new Uint8Array(wrapped)
    forged.set(point, 0)
    throwsCode(() => nodeUnwrapKey(forged, box), 'BAD_WRAPPED_KEY')
  }
})

test.run()
