// Transactions: every type signs, encodes, decodes and verifies; every schema rule has a negative
// case; and a signature never survives a change of bit, signer, ledger or domain.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex, utf8 } from '../../../protocol/bytes.ts'
import { decode, encode } from '../../../protocol/codec.ts'
import { DOMAIN, MAX_TX_BYTES } from '../../../protocol/constants.ts'
import { domainBytes } from '../../../protocol/domain.ts'
import { nobleVerify } from '../../../protocol/crypto/ed25519.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { decodeTx, encodeTx, signTx, TX_TYPES, txSigningBytes, verifyTx } from '../../../protocol/chain/tx.ts'
import type { Tx, TxBodies, TxOf, TxType, UnsignedTxOf } from '../../../protocol/chain/tx.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { throwsCode } from '../../helpers/assert.ts'
import { bodies, bytes, cid, hospital, ledger, otherLedger, patient, stranger } from '../../helpers/ledger/tx-samples.ts'

function unsigned<T extends TxType> (type: T, seq = 1): UnsignedTxOf<T> {
  const signer = type.startsWith('consent.') ? patient.publicKey : hospital.publicKey
  return { type, body: bodies[type], signer, seq, time: 1_700_000_000_000 }
}

function signed<T extends TxType> (type: T): TxOf<T> {
  return signTx(ledger, unsigned(type), type.startsWith('consent.') ? patient : hospital)
}

/** `signed` for a type known only at run time; TxOf of a union is one member of Tx. */
function signedAny (type: TxType): Tx {
  return signed(type) as Tx
}

/** The decoded plain-object form of a transaction, to mutate and re-encode as an attacker would. */
function plain (tx: Tx): Record<string, unknown> {
  return decode(encodeTx(tx).bytes) as Record<string, unknown>
}

/** Decodes a mutated transaction, mutating its body (or the tx itself) first. */
function decodeMutated (type: TxType, mutate: (tx: Record<string, unknown>, body: Record<string, unknown>) => void): unknown {
  const raw = plain(signedAny(type))
  mutate(raw, raw.body as Record<string, unknown>)
  return decodeTx(encode(raw))
}

test('round trip: every type signs, encodes, decodes byte-identically and verifies (noble and node:crypto)', () => {
  assert.is(Object.keys(bodies).length, TX_TYPES.length)
  for (const type of TX_TYPES) {
    const tx = signedAny(type)
    const encoded = encodeTx(tx)
    const decoded = decodeTx(encoded.bytes)
    assert.is(toHex(encodeTx(decoded.tx).bytes), toHex(encoded.bytes), type)
    assert.is(toHex(decoded.id), toHex(sha256(encoded.bytes)))
    assert.is(decoded.tx.type, type)
    verifyTx(ledger, decoded.tx, nobleVerify)
    verifyTx(ledger, decoded.tx, nodeVerify)
  }
})

test('round trip: optional shapes (nulls, scopes, empty lists) are accepted', () => {
  const variants: Array<[TxType, (b: Record<string, unknown>) => void]> = [
    ['image.add', b => { b.record = null; b.result = null; b.model = null; b.score = null; b.keys = [] }],
    ['consent.grant', b => { b.scope = { kind: 'all' }; b.keys = [] }],
    ['consent.grant', b => { b.scope = { kind: 'record', record: bytes(16, 1) } }],
    ['consent.revoke', b => { b.purpose = 'training' }],
    ['access.log', b => { b.consent = null; b.basis = 'emergency' }],
    ['member.propose', b => { b.action = 'remove'; b.name = ''; b.addrs = [] }],
    ['model.publish', b => { b.metrics = {}; b.participants = [] }]
  ]
  for (const [type, mutate] of variants) decodeMutated(type, (_tx, body) => mutate(body))
})

test('consent.revoke: a purpose is optional, and a revoke without one encodes as before (grantee only)', () => {
  const all = signed('consent.revoke')
  assert.equal(Object.keys((plain(all).body as Record<string, unknown>)), ['grantee'], 'no purpose key in the canonical bytes')
  assert.equal(decodeTx(encodeTx(all).bytes).tx.body, { grantee: stranger.publicKey })
  for (const purpose of ['treatment', 'research', 'training'] as const) {
    const one = signTx(ledger, { ...unsigned('consent.revoke'), body: { grantee: stranger.publicKey, purpose } }, patient)
    const back = decodeTx(encodeTx(one).bytes)
    assert.equal(back.tx.body, { grantee: stranger.publicKey, purpose })
    verifyTx(ledger, back.tx, nodeVerify)
    assert.is.not(toHex(back.id), toHex(encodeTx(all).id), 'the purpose is signed')
  }
})

test('BAD_SCHEMA: missing fields', () => {
  throwsCode(() => decodeMutated('member.propose', (_t, b) => { delete b.name }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('image.add', (_t, b) => { delete b.keys }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('consent.grant', (_t, b) => { b.scope = { kind: 'record' } }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('record.create', t => { delete t.seq }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('record.create', t => { delete t.sig }), 'BAD_SCHEMA')
})

test('BAD_SCHEMA: unknown fields', () => {
  throwsCode(() => decodeMutated('consent.revoke', (_t, b) => { b.extra = 1 }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('consent.revoke', (_t, b) => { b.purpose = 'training'; b.scope = { kind: 'all' } }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('consent.revoke', (_t, b) => { delete b.grantee; b.purpose = 'training' }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('record.create', t => { t.extra = 1 }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('consent.grant', (_t, b) => { b.scope = { kind: 'all', images: [] } }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('image.add', (_t, b) => { b.keys = [{ to: bytes(32, 1), raw: bytes(8, 1), result: null, x: 1 }] }), 'BAD_SCHEMA')
})

test('BAD_SCHEMA: wrong byte lengths', () => {
  throwsCode(() => decodeMutated('member.propose', (_t, b) => { b.member = bytes(31, 1) }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('record.create', (_t, b) => { b.record = bytes(17, 1) }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('account.register', (_t, b) => { b.pop = bytes(63, 1) }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('record.create', t => { t.signer = bytes(33, 1) }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('record.create', t => { t.sig = bytes(63, 1) }), 'BAD_SCHEMA')
})

test('BAD_SCHEMA: wrong types', () => {
  throwsCode(() => decodeMutated('record.create', t => { t.seq = '1' }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('record.create', t => { t.time = 1.5 }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('record.create', t => { t.seq = -1 }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('record.create', t => { t.body = [] }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('member.propose', (_t, b) => { b.name = 5 }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('member.propose', (_t, b) => { b.addrs = '/ip4/1.2.3.4' }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('image.add', (_t, b) => { b.raw = bytes(36, 1) }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('model.publish', (_t, b) => { b.metrics = { dice: 'high' } }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('member.propose', (_t, b) => { b.name = 'tab\there' }), 'BAD_SCHEMA')
})

test('access.log: a use is optional; without one the entry encodes as before and must name an image', () => {
  const old = signed('access.log')
  assert.equal(Object.keys(plain(old).body as Record<string, unknown>).sort(), ['accessor', 'basis', 'consent', 'image', 'patient'], 'no use key in the canonical bytes')
  assert.not.ok('use' in decodeTx(encodeTx(old).bytes).tx.body)
  for (const use of ['list', 'open', 'train', 'validate'] as const) {
    const body = (decodeMutated('access.log', (_t, b) => { b.use = use }) as { tx: Tx }).tx.body as TxBodies['access.log']
    assert.is(body.use, use)
  }
  // A listing names no image: only the form with a use may carry a null image.
  assert.is(((decodeMutated('access.log', (_t, b) => { b.use = 'list'; b.image = null }) as { tx: Tx }).tx.body as TxBodies['access.log']).image, null)
  throwsCode(() => decodeMutated('access.log', (_t, b) => { b.image = null }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('access.log', (_t, b) => { b.use = 'peek' }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('access.log', (_t, b) => { b.use = null }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('access.log', (_t, b) => { b.use = 1 }), 'BAD_SCHEMA')
})

test('BAD_SCHEMA: values outside their enums', () => {
  throwsCode(() => decodeMutated('record.create', t => { t.type = 'record.delete' }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('account.register', (_t, b) => { b.role = 'surgeon' }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('consent.grant', (_t, b) => { b.purpose = 'marketing' }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('consent.revoke', (_t, b) => { b.purpose = 'marketing' }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('consent.revoke', (_t, b) => { b.purpose = null }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('consent.revoke', (_t, b) => { b.purpose = 1 }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('consent.grant', (_t, b) => { b.scope = { kind: 'everything' } }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('access.log', (_t, b) => { b.basis = 'curiosity' }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('member.propose', (_t, b) => { b.action = 'promote' }), 'BAD_SCHEMA')
})

test('oversize: long strings and lists, too many metrics, too many bytes', () => {
  throwsCode(() => decodeMutated('member.propose', (_t, b) => { b.name = 'x'.repeat(129) }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('member.propose', (_t, b) => { b.addrs = Array(9).fill('/ip4/1.2.3.4') }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('image.add', (_t, b) => { b.score = 10001 }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('image.add', (_t, b) => { b.keys = [{ to: bytes(32, 1), raw: bytes(257, 1), result: null }] }), 'BAD_SCHEMA')
  throwsCode(() => decodeMutated('model.publish', (_t, b) => {
    b.metrics = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`m${i}`, i]))
  }), 'TOO_LARGE')
  const huge = { ...unsigned('member.propose'), sig: bytes(64, 0), body: { ...bodies['member.propose'], name: 'x'.repeat(MAX_TX_BYTES) } }
  throwsCode(() => encodeTx(huge), 'TOO_LARGE')
  throwsCode(() => decodeTx(new Uint8Array(MAX_TX_BYTES + 1)), 'TOO_LARGE')
})

test('BAD_SIGNATURE: any flipped signature bit', () => {
  const tx = signed('image.add')
  for (let bit = 0; bit < 512; bit += 7) {
    const sig = tx.sig.slice()
    sig[bit >> 3] ^= 1 << (bit & 7)
    throwsCode(() => verifyTx(ledger, { ...tx, sig }, nodeVerify), 'BAD_SIGNATURE')
    throwsCode(() => verifyTx(ledger, { ...tx, sig }, nobleVerify), 'BAD_SIGNATURE')
  }
})

test('BAD_SIGNATURE: wrong signer, wrong ledger id, changed field', () => {
  const tx = signed('record.create')
  throwsCode(() => verifyTx(ledger, { ...tx, signer: stranger.publicKey }, nodeVerify), 'BAD_SIGNATURE')
  const forged = signTx(ledger, unsigned('record.create'), stranger) // signer field still says hospital
  throwsCode(() => verifyTx(ledger, forged, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyTx(otherLedger, tx, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyTx(otherLedger, tx, nobleVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyTx(ledger, { ...tx, seq: tx.seq + 1 }, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyTx(ledger, { ...tx, time: tx.time + 1 }, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyTx(ledger, { ...tx, body: { ...tx.body, record: bytes(16, 6) } }, nodeVerify), 'BAD_SIGNATURE')
})

test('domains: consent uses its own tag, so a signature cannot be transplanted between domains', () => {
  const consent = signed('consent.revoke')
  const other = signed('record.create')
  const consentBytes = txSigningBytes(ledger, consent)
  const otherBytes = txSigningBytes(ledger, other)
  assert.ok(toHex(consentBytes).startsWith(toHex(utf8(`${DOMAIN.consent}\0`))))
  assert.ok(toHex(otherBytes).startsWith(toHex(utf8(`${DOMAIN.tx}\0`))))
  // The same fields signed under the generic tx tag do not make a valid consent.
  const { type, body, signer, seq, time } = consent
  const payload = encode({ ledger, type, body, signer, seq, time })
  const transplanted = { ...consent, sig: patient.sign(domainBytes(DOMAIN.tx, payload)) }
  throwsCode(() => verifyTx(ledger, transplanted, nodeVerify), 'BAD_SIGNATURE')
  assert.ok(nodeVerify(patient.publicKey, domainBytes(DOMAIN.consent, payload), consent.sig))
  // A proof of possession (account domain) is no transaction signature either.
  const pop = bodies['account.register'].pop
  throwsCode(() => verifyTx(ledger, { ...signed('consent.revoke'), sig: pop }, nodeVerify), 'BAD_SIGNATURE')
})

test.run()
