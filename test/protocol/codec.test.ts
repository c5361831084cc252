// The canonical dag-cbor codec: values round-trip byte for byte, any other encoding of the same
// value is NON_CANONICAL, and bytes that are not dag-cbor at all are BAD_ENCODING.
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../protocol/bytes.ts'
import { decode, decodeOwn, encode } from '../../protocol/codec.ts'
import { sha256 } from '../../protocol/crypto/hash.ts'
import { throwsCode } from '../helpers/assert.ts'

const cid = CID.create(1, 0x55, Digest.create(0x12, sha256(new Uint8Array([1, 2, 3]))))

const values: unknown[] = [
  0, 1, 23, 24, 255, 256, 65535, 65536, 2 ** 32, Number.MAX_SAFE_INTEGER, -1, -24, -25, -(2 ** 40),
  1.5, -0.25, 1e300, '', 'héllo', 'x'.repeat(300), true, false, null,
  new Uint8Array(0), new Uint8Array([0, 255]), new Uint8Array(70000),
  [], [1, [2, [3]]], {}, { b: 1, a: 2, aa: 3 }, { nested: { list: [cid, null, new Uint8Array([7])] } }, cid
]

test('round trip: decode(encode(v)) re-encodes to the same bytes', () => {
  for (const v of values) {
    const bytes = encode(v)
    const back = decode(bytes)
    assert.is(toHex(encode(back)), toHex(bytes))
    if (v instanceof CID) assert.ok(CID.asCID(back)?.equals(cid))
    else assert.equal(back, v)
  }
})

test('round trip: map keys are sorted length-first, then bytewise (dag-cbor canonical order)', () => {
  assert.is(toHex(encode({ b: 2, aa: 1 })), 'a261620262616101')
  assert.is(toHex(encode({ aa: 1, b: 2 })), 'a261620262616101')
})

test('NON_CANONICAL: map keys out of order', () => {
  throwsCode(() => decode(fromHex('a2616201616102')), 'NON_CANONICAL') // {b:1, a:2}
  throwsCode(() => decode(fromHex('a262616101616202')), 'NON_CANONICAL') // {aa:1, b:2}: bytewise, not length-first
})

test('NON_CANONICAL: integers and lengths in more bytes than needed', () => {
  throwsCode(() => decode(fromHex('1801')), 'NON_CANONICAL') // 1 as uint8
  throwsCode(() => decode(fromHex('190001')), 'NON_CANONICAL') // 1 as uint16
  throwsCode(() => decode(fromHex('1a00000001')), 'NON_CANONICAL') // 1 as uint32
  throwsCode(() => decode(fromHex('3800')), 'NON_CANONICAL') // -1 as int8
  throwsCode(() => decode(fromHex('5801ff')), 'NON_CANONICAL') // 1-byte string, length as uint8
  throwsCode(() => decode(fromHex('a178016101')), 'NON_CANONICAL') // map key length as uint8
})

test('NON_CANONICAL: floats not in 64-bit form, undefined', () => {
  throwsCode(() => decode(fromHex('f93e00')), 'NON_CANONICAL') // 1.5 as float16
  throwsCode(() => decode(fromHex('fa3fc00000')), 'NON_CANONICAL') // 1.5 as float32
  throwsCode(() => decode(fromHex('fb3ff0000000000000')), 'NON_CANONICAL') // 1.0 as float, not int
  throwsCode(() => decode(fromHex('f7')), 'NON_CANONICAL') // undefined decodes to null
})

test('BAD_ENCODING: garbage, empty, truncated, trailing bytes', () => {
  throwsCode(() => decode(new Uint8Array(0)), 'BAD_ENCODING')
  throwsCode(() => decode(fromHex('ff')), 'BAD_ENCODING')
  throwsCode(() => decode(fromHex('ffffffff')), 'BAD_ENCODING')
  throwsCode(() => decode(fromHex('0100')), 'BAD_ENCODING')
  const bytes = encode({ a: [1, 2, 3], b: new Uint8Array(40) })
  for (let n = 0; n < bytes.length; n++) throwsCode(() => decode(bytes.subarray(0, n)), 'BAD_ENCODING')
})

test('BAD_ENCODING: indefinite lengths, duplicate keys, NaN, Infinity, unknown tags, bad CIDs', () => {
  throwsCode(() => decode(fromHex('9f01ff')), 'BAD_ENCODING')
  throwsCode(() => decode(fromHex('a2616101616102')), 'BAD_ENCODING')
  throwsCode(() => decode(fromHex('fb7ff8000000000000')), 'BAD_ENCODING')
  throwsCode(() => decode(fromHex('fb7ff0000000000000')), 'BAD_ENCODING')
  throwsCode(() => decode(fromHex('c101')), 'BAD_ENCODING')
  throwsCode(() => decode(fromHex('d82a4100')), 'BAD_ENCODING')
  throwsCode(() => decode(fromHex('d82a450001020304')), 'BAD_ENCODING')
})

test('every flipped bit of an encoding is either rejected with a code or a different valid value', () => {
  const bytes = encode({ list: [1, -2, 'abc', new Uint8Array([1, 2, 3]), null, true], n: 2 ** 40, f: 0.5, cid })
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const bad = bytes.slice()
    bad[bit >> 3] ^= 1 << (bit & 7)
    let value: unknown
    try {
      value = decode(bad)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      assert.ok(code === 'BAD_ENCODING' || code === 'NON_CANONICAL', `bit ${bit}: ${String(err)}`)
      continue
    }
    // A flip that still decodes must be canonical for what it decodes to.
    assert.is(toHex(encode(value)), toHex(bad), `bit ${bit}`)
  }
})

test('decodeOwn (a peer\'s own store): the same value as decode for canonical bytes, BAD_ENCODING for garbage, no canonical check', () => {
  const bytes = encode({ a: 1, b: [new Uint8Array([1, 2]), 'x'] })
  assert.equal(decodeOwn(bytes), decode(bytes))
  throwsCode(() => decodeOwn(fromHex('ff00')), 'BAD_ENCODING')
  // Map keys out of order: decode refuses them, decodeOwn (only for bytes this peer encoded) does not look.
  throwsCode(() => decode(fromHex('a2616201616102')), 'NON_CANONICAL')
  assert.equal(decodeOwn(fromHex('a2616201616102')), { b: 1, a: 2 })
})

test.run()
