// The FL wire format (issue 4): round-start, update and round-end round-trip through canonical
// dag-cbor; signatures bind the signer, the ledger and the kind (domain tag); every schema rule
// and every tampering is refused with its code; weights flatten and unflatten exactly.
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { concat, utf8 } from '../../../protocol/bytes.ts'
import { encode } from '../../../protocol/codec.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { FL_MESSAGE_MAX_BYTES, FL_ROUND_TAG, FL_UPDATE_TAG, INLINE_MAX_BYTES } from '../../../node/fl/constants.ts'
import {
  decodeFlMessage, encodeFlMessage, flattenWeights, flSigningBytes, signRoundEnd, signRoundStart, signUpdate, unflattenWeights, verifyFlMessage
} from '../../../node/fl/transport/messages.ts'
import type { FlMessage, RoundStart, Update } from '../../../node/fl/transport/messages.ts'
import { throwsCode } from '../../helpers/assert.ts'
import { testIdentity } from '../../helpers/ledger/fixture.ts'

const ledger = new Uint8Array(32).fill(1)
const other = new Uint8Array(32).fill(2)
const hospital = testIdentity(1)
const coordinator = testIdentity(2)
const model = CID.create(1, raw.code, await sha256.digest(utf8('model')))

function update (over: Partial<Update> = {}): Update {
  return signUpdate(ledger, {
    kind: 'update', task: 'detect-strange-0011223344556677', round: 3, hospital: hospital.publicKey, samples: 40, loss: 0.25, trainMs: 812, weights: new Uint8Array(16), ...over
  }, hospital)
}

function roundStart (global: Uint8Array | CID = new Uint8Array(8)): RoundStart {
  return signRoundStart(ledger, {
    kind: 'round-start', task: 'detect-strange-0011223344556677', round: 1, deadline: 1_800_000_000_000, global, model,
    config: { epochs: 2, batchSize: 8, learningRate: 0.005, learningRateEnd: 0.0025, mu: 0.01 }, coordinator: coordinator.publicKey
  }, coordinator)
}

/** Re-encodes a decoded message with one field changed (for schema tests, signatures left as they are). */
function edited (message: FlMessage, field: string, value: unknown): Uint8Array {
  return encode({ ...message, [field]: value })
}

test('each kind round-trips through canonical dag-cbor and verifies', () => {
  const end = signRoundEnd(ledger, {
    kind: 'round-end', task: 'detect-strange-0011223344556677', round: 3, status: 'aggregated', participants: [hospital.publicKey], loss: 0.5, dice: 0.75, done: true, published: model, coordinator: coordinator.publicKey
  }, coordinator)
  // The cosine schedule ends at 0 on the task's last local step: a legitimate end rate.
  const last = roundStart()
  const { sig: _sig, ...unsignedLast } = last
  const lastRound = signRoundStart(ledger, { ...unsignedLast, config: { ...last.config, learningRateEnd: 0 } }, coordinator)
  for (const m of [update(), update({ weights: model }), roundStart(), roundStart(model), lastRound, end]) {
    const back = decodeFlMessage(encodeFlMessage(m))
    assert.equal(back, m)
    verifyFlMessage(ledger, back, nodeVerify)
  }
})

test('the signature covers tag, ledger, signer and every field', () => {
  const u = update()
  const { sig, ...unsigned } = u
  assert.equal(flSigningBytes(ledger, unsigned), concat(utf8(FL_UPDATE_TAG), new Uint8Array([0]), encode({ ...unsigned, ledger })))
  assert.ok(nodeVerify(hospital.publicKey, flSigningBytes(ledger, unsigned), sig))
  throwsCode(() => verifyFlMessage(other, u, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyFlMessage(ledger, { ...u, sig: u.sig.map((b, i) => i === 5 ? b ^ 1 : b) }, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyFlMessage(ledger, { ...u, samples: 41 }, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyFlMessage(ledger, { ...u, weights: new Uint8Array(16).fill(1) }, nodeVerify), 'BAD_SIGNATURE')
  // Claiming another hospital's name, or signing with the wrong key.
  throwsCode(() => verifyFlMessage(ledger, { ...u, hospital: coordinator.publicKey }, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyFlMessage(ledger, signUpdate(ledger, { ...unsigned, hospital: coordinator.publicKey }, hospital), nodeVerify), 'BAD_SIGNATURE')
  // Domain separation: the same fields signed under the round tag are not an update signature.
  const underRoundTag = hospital.sign(concat(utf8(FL_ROUND_TAG), new Uint8Array([0]), encode({ ...unsigned, ledger })))
  throwsCode(() => verifyFlMessage(ledger, { ...u, sig: underRoundTag }, nodeVerify), 'BAD_SIGNATURE')
})

test('schema rules: every field is checked and refused with BAD_SCHEMA', () => {
  const u = update()
  const s = roundStart()
  const cases: Array<[string, Uint8Array]> = [
    ['unknown kind', edited(u, 'kind', 'hello')],
    ['unknown field', encode({ ...u, extra: 1 })],
    ['missing field', encode(Object.fromEntries(Object.entries(u).filter(([k]) => k !== 'loss')))],
    ['zero samples', edited(u, 'samples', 0)],
    ['fractional samples', edited(u, 'samples', 1.5)],
    ['negative loss', edited(u, 'loss', -1)],
    ['task with capitals', edited(u, 'task', 'Detect')],
    ['task with a slash', edited(u, 'task', 'a/b')],
    ['short hospital key', edited(u, 'hospital', new Uint8Array(31))],
    ['short signature', edited(u, 'sig', new Uint8Array(63))],
    ['weights neither bytes nor CID', edited(u, 'weights', 'abc')],
    ['inline weights over 1 MiB', edited(u, 'weights', new Uint8Array(INLINE_MAX_BYTES + 1))],
    ['zero epochs', edited(s, 'config', { ...s.config, epochs: 0 })],
    ['zero learning rate', edited(s, 'config', { ...s.config, learningRate: 0 })],
    ['negative end learning rate', edited(s, 'config', { ...s.config, learningRateEnd: -0.001 })],
    ['non-numeric end learning rate', edited(s, 'config', { ...s.config, learningRateEnd: '0.001' })],
    ['missing end learning rate', edited(s, 'config', { epochs: 2, batchSize: 8, learningRate: 0.005, mu: 0.01 })],
    ['negative mu', edited(s, 'config', { ...s.config, mu: -0.1 })],
    ['extra config key', edited(s, 'config', { ...s.config, lr: 1 })],
    ['model not a CID', edited(s, 'model', new Uint8Array(4))],
    ['not a map', encode([1, 2])]
  ]
  for (const [name, bytes] of cases) {
    try {
      throwsCode(() => decodeFlMessage(bytes), 'BAD_SCHEMA')
    } catch (err) {
      assert.unreachable(`${name}: ${String(err)}`)
    }
  }
})

test('encoding rules: garbage, non-canonical and oversized messages are refused', () => {
  throwsCode(() => decodeFlMessage(new Uint8Array([0xff, 0x00])), 'BAD_ENCODING')
  // A uint 5 written in two bytes: well-formed CBOR, not the canonical form.
  throwsCode(() => decodeFlMessage(new Uint8Array([0xa1, 0x61, 0x61, 0x18, 0x05])), 'NON_CANONICAL')
  throwsCode(() => decodeFlMessage(new Uint8Array(FL_MESSAGE_MAX_BYTES + 1)), 'TOO_LARGE')
  const big = update({ weights: new Uint8Array(INLINE_MAX_BYTES) })
  assert.ok(encodeFlMessage(big).length <= FL_MESSAGE_MAX_BYTES, 'a full inline payload still fits')
})

test('weights flatten to float32 little-endian and back, and a wrong length is BAD_SHAPE', () => {
  const weights = [Float32Array.from([1, -2.5]), Float32Array.from([Number.NaN]), Float32Array.from([3e38])]
  const bytes = flattenWeights(weights)
  assert.is(bytes.length, 16)
  assert.equal(Array.from(bytes.subarray(0, 4)), [0x00, 0x00, 0x80, 0x3f], '1.0 in IEEE 754 little-endian')
  const back = unflattenWeights(bytes, [2, 1, 1])
  assert.equal(back.map(t => Array.from(t)), weights.map(t => Array.from(t)))
  throwsCode(() => unflattenWeights(bytes, [2, 1]), 'BAD_SHAPE')
  throwsCode(() => unflattenWeights(bytes.subarray(1), [2, 1, 1]), 'BAD_SHAPE')
})

test.run()
