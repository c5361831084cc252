// Rendezvous hashing of pinners (docs/design.md §5 Availability): the choice is a pure function of the
// CID and the member list, never the custodian, spreads evenly, and moves little when the
// membership changes.
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { compare, equals, toHex } from '../../../protocol/bytes.ts'
import { choosePinners, rendezvousWeight, shouldPin } from '../../../node/storage/rendezvous.ts'
import { testIdentity } from '../../helpers/ledger/fixture.ts'

const members = Array.from({ length: 8 }, (_, i) => testIdentity(i + 1).publicKey)

/** CIDv1 raw of a small number: a stand-in for an image's CID. */
async function cidOf (n: number): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(`image ${n}`)))
}

test('the k highest SHA-256(cid ‖ key) win, custodian excluded, and input order does not matter', async () => {
  const cid = await cidOf(1)
  const custodian = members[0]
  const expected = members.slice(1)
    .map(key => ({ key, w: rendezvousWeight(cid.bytes, key) }))
    .sort((a, b) => compare(b.w, a.w))
    .slice(0, 2).map(r => toHex(r.key))
  const chosen = choosePinners(cid.bytes, members, custodian, 2).map(toHex)
  assert.equal(chosen, expected)
  assert.equal(choosePinners(cid.bytes, [...members].reverse(), custodian, 2).map(toHex), expected)
  assert.not.ok(chosen.includes(toHex(custodian)))
  assert.ok(equals(rendezvousWeight(cid.bytes, members[1]), rendezvousWeight(cid.bytes, members[1])))
})

test('shouldPin: the custodian always, chosen members yes, the others no', async () => {
  const cid = await cidOf(2)
  const custodian = members[3]
  const [chosen] = choosePinners(cid.bytes, members, custodian, 1)
  assert.ok(shouldPin(cid.bytes, members, custodian, 1, custodian))
  assert.ok(shouldPin(cid.bytes, members, custodian, 1, chosen))
  const others = members.filter(m => !equals(m, custodian) && !equals(m, chosen))
  assert.ok(others.every(m => !shouldPin(cid.bytes, members, custodian, 1, m)))
  assert.ok(shouldPin(cid.bytes, members, custodian, 0, custodian), 'k = 0 leaves the custodian alone')
  assert.not.ok(shouldPin(cid.bytes, members, custodian, 0, chosen))
})

test('few candidates: all of them; duplicates count once; a lone custodian pins alone', async () => {
  const cid = await cidOf(3)
  assert.is(choosePinners(cid.bytes, members.slice(0, 3), members[0], 5).length, 2)
  assert.is(choosePinners(cid.bytes, [members[1], members[1], members[2]], members[0], 5).length, 2)
  assert.equal(choosePinners(cid.bytes, [members[0]], members[0], 1), [])
})

test('a bad k is refused', async () => {
  const cid = await cidOf(4)
  for (const k of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => choosePinners(cid.bytes, members, members[0], k), RangeError)
  }
})

test('choices spread over members and move little when a member joins', async () => {
  const counts = new Map<string, number>()
  const cids = await Promise.all(Array.from({ length: 800 }, async (_, i) => await cidOf(100 + i)))
  const custodian = members[0]
  for (const cid of cids) {
    const [k] = choosePinners(cid.bytes, members, custodian, 1)
    counts.set(toHex(k), (counts.get(toHex(k)) ?? 0) + 1)
  }
  // 800 images over 7 candidates: 114 each on average; a fair hash stays well inside 60..170.
  assert.is(counts.size, 7)
  for (const n of counts.values()) assert.ok(n > 60 && n < 170, `unbalanced: ${[...counts.values()].join(', ')}`)
  // A ninth member takes about 1/8 of the images; every other image keeps its pinner.
  const joined = [...members, testIdentity(9).publicKey]
  let moved = 0
  for (const cid of cids) {
    const before = choosePinners(cid.bytes, members, custodian, 1)[0]
    const after = choosePinners(cid.bytes, joined, custodian, 1)[0]
    if (!equals(before, after)) {
      moved++
      assert.ok(equals(after, testIdentity(9).publicKey), 'an image moves only to the new member')
    }
  }
  assert.ok(moved > 40 && moved < 170, `moved ${moved} of 800`)
})

test.run()
