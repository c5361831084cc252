// The genesis document: canonical bytes and JSON both round-trip to the same ledger id, members
// are sorted and unique, and quorum sizes follow the published table.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { compare, toHex } from '../../../protocol/bytes.ts'
import { decode, encode } from '../../../protocol/codec.ts'
import { nobleIdentity } from '../../../protocol/crypto/ed25519.ts'
import { createGenesis, decodeGenesis, DEFAULT_RECOVERY_RULE, encodeGenesis, genesisFromJson, genesisToJson, ledgerIdOf, parseGenesis, quorumSize, recoveryRuleOf } from '../../../protocol/chain/genesis.ts'
import type { Genesis, GenesisMember } from '../../../protocol/chain/genesis.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { throwsCode } from '../../helpers/assert.ts'

const members: GenesisMember[] = [5, 1, 9, 3].map(n => ({
  name: `Hospital ${n}`,
  key: nobleIdentity(new Uint8Array(32).fill(n)).publicKey,
  addrs: [`/ip4/127.0.0.1/tcp/${4000 + n}`]
}))

const genesis = createGenesis({ name: 'Test consortium', created: 1_700_000_000_000, members, quorum: 'two-thirds' })

/** The decoded plain-object form, to mutate as a hand-edited or hostile file would be. */
function plain (g: Genesis): Record<string, unknown> {
  return decode(encodeGenesis(g)) as Record<string, unknown>
}

test('createGenesis sorts members by key; the default quorum is majority', () => {
  const keys = genesis.members.map(m => m.key)
  for (let i = 1; i < keys.length; i++) assert.ok(compare(keys[i - 1], keys[i]) < 0)
  assert.is(createGenesis({ name: 'x', created: 0, members }).quorum, 'majority')
  assert.is(toHex(ledgerIdOf(createGenesis({ name: 'Test consortium', created: 1_700_000_000_000, members: [...members].reverse(), quorum: 'two-thirds' }))), toHex(ledgerIdOf(genesis)))
})

test('round trip: canonical bytes, and the ledger id is their SHA-256', () => {
  const bytes = encodeGenesis(genesis)
  const back = decodeGenesis(bytes)
  assert.is(toHex(encodeGenesis(back)), toHex(bytes))
  assert.is(toHex(ledgerIdOf(back)), toHex(sha256(bytes)))
})

test('the assisted-recovery rule: absent means the defaults and leaves the bytes as before; present, it is checked and part of the id', () => {
  assert.not.ok('recovery' in plain(genesis))
  assert.equal(recoveryRuleOf(genesis), DEFAULT_RECOVERY_RULE)
  const ruled = createGenesis({ name: 'Test consortium', created: 1_700_000_000_000, members, quorum: 'two-thirds', recovery: { cosigners: 3, delayMs: 5000 } })
  assert.equal(recoveryRuleOf(decodeGenesis(encodeGenesis(ruled))), { cosigners: 3, delayMs: 5000 })
  assert.equal(recoveryRuleOf(genesisFromJson(JSON.parse(JSON.stringify(genesisToJson(ruled))))), { cosigners: 3, delayMs: 5000 })
  assert.is.not(toHex(ledgerIdOf(ruled)), toHex(ledgerIdOf(genesis)))
  for (const recovery of [{ cosigners: 0, delayMs: 1 }, { cosigners: 2 }, { cosigners: 2, delayMs: -1 }, { cosigners: 2, delayMs: 1, extra: 1 }]) {
    throwsCode(() => parseGenesis({ ...plain(genesis), recovery }), 'BAD_SCHEMA')
  }
})

test('round trip: JSON with hex keys gives the same ledger id', () => {
  const json = JSON.parse(JSON.stringify(genesisToJson(genesis))) as unknown
  const back = genesisFromJson(json)
  assert.is(toHex(ledgerIdOf(back)), toHex(ledgerIdOf(genesis)))
  assert.is(toHex(encodeGenesis(back)), toHex(encodeGenesis(genesis)))
})

test('BAD_SCHEMA: unsorted, repeated or missing members', () => {
  const g = plain(genesis)
  const list = g.members as unknown[]
  throwsCode(() => parseGenesis({ ...g, members: [...list].reverse() }), 'BAD_SCHEMA')
  throwsCode(() => parseGenesis({ ...g, members: [list[0], list[0]] }), 'BAD_SCHEMA')
  throwsCode(() => parseGenesis({ ...g, members: [] }), 'BAD_SCHEMA')
  throwsCode(() => createGenesis({ name: 'x', created: 0, members: [members[0], members[0]] }), 'BAD_SCHEMA')
  throwsCode(() => decodeGenesis(encode({ ...g, members: [...list].reverse() })), 'BAD_SCHEMA')
})

test('BAD_SCHEMA: wrong version, quorum, key length, unknown and missing fields', () => {
  const g = plain(genesis)
  const first = (g.members as Array<Record<string, unknown>>)[0]
  throwsCode(() => parseGenesis({ ...g, v: 2 }), 'BAD_SCHEMA')
  throwsCode(() => parseGenesis({ ...g, quorum: 'most' }), 'BAD_SCHEMA')
  throwsCode(() => parseGenesis({ ...g, members: [{ ...first, key: new Uint8Array(31) }] }), 'BAD_SCHEMA')
  throwsCode(() => parseGenesis({ ...g, members: [{ ...first, role: 'lead' }] }), 'BAD_SCHEMA')
  throwsCode(() => parseGenesis({ ...g, extra: true }), 'BAD_SCHEMA')
  const noName = { ...g }
  delete noName.name
  throwsCode(() => parseGenesis(noName), 'BAD_SCHEMA')
  throwsCode(() => parseGenesis({ ...g, name: '' }), 'BAD_SCHEMA')
})

test('BAD_SCHEMA: JSON keys must be 64 lower-case hex digits', () => {
  const json = genesisToJson(genesis) as { members: Array<Record<string, unknown>> }
  const withKey = (key: unknown): unknown => ({ ...json, members: [{ ...json.members[0], key }] })
  throwsCode(() => genesisFromJson(withKey(String(json.members[0].key).toUpperCase())), 'BAD_SCHEMA')
  throwsCode(() => genesisFromJson(withKey(String(json.members[0].key).slice(2))), 'BAD_SCHEMA')
  throwsCode(() => genesisFromJson(withKey('zz'.repeat(32))), 'BAD_SCHEMA')
  throwsCode(() => genesisFromJson(withKey(7)), 'BAD_SCHEMA')
})

test('quorumSize: majority, two-thirds and all for 1..7 members', () => {
  const table: Record<string, number[]> = {
    majority: [1, 2, 2, 3, 3, 4, 4],
    'two-thirds': [1, 2, 2, 3, 4, 4, 5],
    all: [1, 2, 3, 4, 5, 6, 7]
  }
  for (const rule of ['majority', 'two-thirds', 'all'] as const) {
    assert.equal([1, 2, 3, 4, 5, 6, 7].map(n => quorumSize(rule, n)), table[rule], rule)
  }
  for (let n = 1; n <= 256; n++) {
    assert.ok(quorumSize('majority', n) * 2 > n)
    assert.ok(quorumSize('two-thirds', n) * 3 >= n * 2)
    assert.ok((quorumSize('two-thirds', n) - 1) * 3 < n * 2)
  }
})

test.run()
