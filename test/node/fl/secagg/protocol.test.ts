// The secure-aggregation protocol (node/fl/secagg) end to end in one process, with real X25519,
// AES and Ed25519: a masked update looks uniformly random, the unmasked sum is FedAvg of the
// clipped updates, a hospital that drops after sharing is unmasked by the others and one that drops
// before sharing is left out, and forged shares or signatures are refused with codes.
import { randomBytes } from 'node:crypto'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex, utf8 } from '../../../../protocol/bytes.ts'
import { nobleIdentity, nobleVerify } from '../../../../protocol/crypto/ed25519.ts'
import type { Identity } from '../../../../protocol/crypto/ed25519.ts'
import { createPrng } from '../../../../node/ai/model/prng.ts'
import { clipDelta, fedAvg } from '../../../../node/fl/round/aggregate.ts'
import type { Delta } from '../../../../node/fl/round/aggregate.ts'
import { createSecAggClient } from '../../../../node/fl/secagg/client.ts'
import type { SecAggClient } from '../../../../node/fl/secagg/client.ts'
import { secureAverage, secureContribution } from '../../../../node/fl/secagg/contribution.ts'
import type { SecureRoundParams } from '../../../../node/fl/secagg/contribution.ts'
import { signSecAgg } from '../../../../node/fl/secagg/messages.ts'
import type { ShareKeys } from '../../../../node/fl/secagg/messages.ts'
import { createSecAggServer } from '../../../../node/fl/secagg/server.ts'
import type { SecAggSum } from '../../../../node/fl/secagg/server.ts'
import { decodeFlMessage, encodeFlMessage, isCoordinatorMessage, signSecAggEnvelope, verifyFlMessage } from '../../../../node/fl/transport/messages.ts'
import { decodeStep, encodeStep } from '../../../../node/fl/secagg/wire.ts'
import { encode } from '../../../../protocol/codec.ts'
import { throwsCode } from '../../../helpers/assert.ts'

const ledgerId = utf8('secagg-test-ledger')
const task = 'seg-abc'
const round = 2

interface Party { identity: Identity, key: Uint8Array, hex: string, client: SecAggClient }

function parties (n: number): Party[] {
  return Array.from({ length: n }, () => {
    const identity = nobleIdentity(randomBytes(32))
    const client = createSecAggClient({ ledgerId, task, round, identity, hospital: identity.publicKey, verify: nobleVerify })
    return { identity, key: identity.publicKey, hex: toHex(identity.publicKey), client }
  })
}

/** The inputs each hospital would send, given the round's parameters (known after the key list). */
type Inputs = (p: Party, i: number) => Uint32Array

/**
 * Runs a round among `ps`; `dropBeforeSharing` send keys but no shares, `dropAfterSharing` send
 * shares but no masked input. Returns the unmasked sum and the masked inputs sent.
 */
function runRound (ps: Party[], length: number, samples: number[], inputs: Inputs, drop: { before?: number[], after?: number[] } = {}): { result: SecAggSum, masked: Map<string, Uint32Array> } {
  const server = createSecAggServer({ ledgerId, task, round, length, verify: nobleVerify })
  ps.forEach((p, i) => server.takeKeys(p.client.advertise(samples[i])))
  const list = server.keyList()
  ps.forEach((p, i) => { if (!(drop.before ?? []).includes(i)) server.takeShares(p.client.shareKeys(list)) })
  const relayed = server.sharesToRelay()
  const masked = new Map<string, Uint32Array>()
  const sent = ps.filter((_, i) => !(drop.before ?? []).includes(i) && !(drop.after ?? []).includes(i))
  for (const p of sent) {
    const m = p.client.maskedInput(relayed, inputs(p, ps.indexOf(p)))
    masked.set(p.hex, new Uint32Array(m.masked.slice().buffer))
    server.takeMasked(m)
  }
  const survivors = server.survivors()
  for (const p of sent) server.takeUnmask(p.client.unmask(survivors))
  return { result: server.result(), masked }
}

function randomDelta (prng: ReturnType<typeof createPrng>, sizes: number[], scale: number): Delta {
  return sizes.map(n => Float64Array.from({ length: n }, () => scale * prng.normal()))
}

/** Pearson's χ² of the byte histogram of `bytes` against the uniform distribution (255 degrees of freedom). */
function byteChiSquare (bytes: Uint8Array): number {
  const counts = new Float64Array(256)
  for (const b of bytes) counts[b]++
  const expected = bytes.length / 256
  let chi = 0
  for (const c of counts) chi += (c - expected) ** 2 / expected
  return chi
}

// χ²(255) upper 0.1 % point is 330.5; a uniform source exceeds it one time in a thousand.
const CHI_0_001 = 330.5

test('a masked update is indistinguishable from uniform bytes, the quantised update is not', () => {
  const ps = parties(3)
  const sizes = [4096, 4096, 8192]
  const length = sizes.reduce((a, b) => a + b, 0)
  const prng = createPrng(7)
  const p: SecureRoundParams = { clip: 5, parties: 3, totalSamples: 30 }
  const plain = new Map<string, Uint32Array>()
  const { masked } = runRound(ps, length, [10, 10, 10], (party) => {
    const x = secureContribution(randomDelta(prng, sizes, 0.01), 10, p).encoded
    plain.set(party.hex, x)
    return x
  })
  for (const party of ps) {
    const x = plain.get(party.hex) as Uint32Array
    const y = masked.get(party.hex) as Uint32Array
    // The plain quantised update is far from uniform (small values around 0 and 2^32): the test can fail.
    assert.ok(byteChiSquare(new Uint8Array(x.buffer)) > 10 * CHI_0_001)
    assert.ok(byteChiSquare(new Uint8Array(y.buffer)) < CHI_0_001, `masked χ² ${byteChiSquare(new Uint8Array(y.buffer))}`)
    // And word-level: the top bit is set about half the time (±5σ of a binomial over 16384 words).
    let high = 0
    for (const v of y) high += v >>> 31
    assert.ok(Math.abs(high - length / 2) < 5 * Math.sqrt(length / 4))
  }
})

test('the unmasked sum equals FedAvg of the clipped updates to float tolerance', () => {
  const ps = parties(4)
  const sizes = [17, 300, 5]
  const length = sizes.reduce((a, b) => a + b, 0)
  const samples = [3, 11, 7, 20]
  const prng = createPrng(11)
  const deltas = ps.map((_, i) => randomDelta(prng, sizes, i === 1 ? 1 : 0.05)) // hospital 1 gets clipped
  const params: SecureRoundParams = { clip: 2, parties: 4, totalSamples: samples.reduce((a, b) => a + b, 0) }
  const { result } = runRound(ps, length, samples, (_, i) => secureContribution(deltas[i], samples[i], params).encoded)
  assert.is(result.survivors.length, 4)
  assert.is(result.samples, params.totalSamples)
  const secure = secureAverage(result.sum, result.samples, params, sizes)
  const plain = fedAvg(deltas.map(d => clipDelta(d, params.clip).delta), samples)
  let worst = 0
  for (let i = 0; i < sizes.length; i++) for (let j = 0; j < sizes[i]; j++) worst = Math.max(worst, Math.abs(secure[i][j] - plain[i][j]))
  assert.ok(worst < 1e-6, `max error ${worst}`)
  assert.ok(clipDelta(deltas[1], params.clip).clipped)
})

test('a hospital that drops after sharing is unmasked by the survivors; the sum is theirs', () => {
  const ps = parties(3)
  const sizes = [64]
  const samples = [5, 5, 10]
  const prng = createPrng(3)
  const deltas = ps.map(() => randomDelta(prng, sizes, 0.1))
  const params: SecureRoundParams = { clip: 10, parties: 3, totalSamples: 20 }
  const { result } = runRound(ps, 64, samples, (_, i) => secureContribution(deltas[i], samples[i], params).encoded, { after: [2] })
  assert.equal(result.dropped, [ps[2].hex])
  assert.equal(result.survivors, [ps[0].hex, ps[1].hex].sort())
  assert.is(result.samples, 10)
  const secure = secureAverage(result.sum, result.samples, params, sizes)[0]
  const plain = fedAvg([deltas[0], deltas[1]], [5, 5])[0]
  for (let j = 0; j < 64; j++) assert.ok(Math.abs(secure[j] - plain[j]) < 1e-6)
})

test('a hospital that drops before sharing is left out of masks and sum', () => {
  const ps = parties(3)
  const samples = [4, 4, 4]
  const prng = createPrng(5)
  const deltas = ps.map(() => randomDelta(prng, [32], 0.1))
  const params: SecureRoundParams = { clip: 10, parties: 3, totalSamples: 12 }
  const { result } = runRound(ps, 32, samples, (_, i) => secureContribution(deltas[i], samples[i], params).encoded, { before: [1] })
  assert.equal(result.dropped, [])
  assert.equal(result.survivors, [ps[0].hex, ps[2].hex].sort())
  const secure = secureAverage(result.sum, result.samples, params, [32])[0]
  const plain = fedAvg([deltas[0], deltas[2]], [4, 4])[0]
  for (let j = 0; j < 32; j++) assert.ok(Math.abs(secure[j] - plain[j]) < 1e-6)
})

test('too many dropouts fail the round with SECAGG_TOO_FEW instead of a wrong sum', () => {
  const ps = parties(3)
  const params: SecureRoundParams = { clip: 1, parties: 3, totalSamples: 3 }
  const zero = (): Uint32Array => secureContribution([new Float64Array(8)], 1, params).encoded
  throwsCode(() => runRound(ps, 8, [1, 1, 1], zero, { before: [0, 1] }), 'SECAGG_TOO_FEW')
  throwsCode(() => runRound(parties(3), 8, [1, 1, 1], zero, { after: [0, 1] }), 'SECAGG_TOO_FEW')
})

/** A round of three up to the relayed shares, for the forgery tests. */
function upToShares (): { ps: Party[], relayed: ShareKeys[] } {
  const ps = parties(3)
  const server = createSecAggServer({ ledgerId, task, round, length: 4, verify: nobleVerify })
  for (const p of ps) server.takeKeys(p.client.advertise(1))
  const list = server.keyList()
  for (const p of ps) server.takeShares(p.client.shareKeys(list))
  return { ps, relayed: server.sharesToRelay() }
}

test('a tampered share ciphertext is refused with SHARE_FORGED', () => {
  const { ps, relayed } = upToShares()
  const victim = ps[0]
  const forger = ps[1]
  // The forger re-signs its own message with one flipped ciphertext bit: the signature is good, the box is not.
  const original = relayed.find(m => toHex(m.hospital) === forger.hex) as ShareKeys
  const shares = original.shares.map(s => {
    if (toHex(s.to) !== victim.hex) return s
    const sealed = s.sealed.slice()
    sealed[20] ^= 0x01
    return { to: s.to, sealed }
  })
  const { sig: _sig, ...unsigned } = original
  const forged = signSecAgg<ShareKeys>(ledgerId, { ...unsigned, shares }, forger.identity)
  throwsCode(() => victim.client.maskedInput(relayed.map(m => m === original ? forged : m), new Uint32Array(4)), 'SHARE_FORGED')
  // A box sealed for someone else, moved into the victim's slot (and re-signed), is refused too.
  const elsewhere = original.shares.find(o => toHex(o.to) !== victim.hex) as ShareKeys['shares'][number]
  const moved = original.shares.map(s => toHex(s.to) === victim.hex ? { to: s.to, sealed: elsewhere.sealed } : s)
  const forged2 = signSecAgg<ShareKeys>(ledgerId, { ...unsigned, shares: moved }, forger.identity)
  throwsCode(() => victim.client.maskedInput(relayed.map(m => m === original ? forged2 : m), new Uint32Array(4)), 'SHARE_FORGED')
  // The untouched messages still open: the refusals above are about the forgery, not the setup.
  assert.is(victim.client.maskedInput(relayed, new Uint32Array(4)).kind, 'secagg-masked')
})

test('a share message with a bad signature is refused with BAD_SIGNATURE, by client and server', () => {
  const { ps, relayed } = upToShares()
  const original = relayed.find(m => toHex(m.hospital) === ps[1].hex) as ShareKeys
  // The coordinator (or anyone routing) swaps a box: the hospital's signature no longer covers it.
  const altered: ShareKeys = { ...original, shares: original.shares.map(s => ({ to: s.to, sealed: randomBytes(s.sealed.length) })) }
  throwsCode(() => ps[0].client.maskedInput(relayed.map(m => m === original ? altered : m), new Uint32Array(4)), 'BAD_SIGNATURE')
  const server = createSecAggServer({ ledgerId, task, round, length: 4, verify: nobleVerify })
  const qs = parties(3)
  for (const p of qs) server.takeKeys(p.client.advertise(1))
  const list = server.keyList()
  const good = qs[0].client.shareKeys(list)
  throwsCode(() => server.takeShares({ ...good, sig: new Uint8Array(64) }), 'BAD_SIGNATURE')
  // Missing a recipient: refused before it can be relayed.
  const { sig: _s, ...rest } = good
  throwsCode(() => server.takeShares(signSecAgg<ShareKeys>(ledgerId, { ...rest, shares: rest.shares.slice(1) }, qs[0].identity)), 'SHARE_FORGED')
  server.takeShares(good)
  throwsCode(() => server.takeShares(good), 'SECAGG_DUPLICATE')
})

test('a key list entry the coordinator forged is refused; steps out of order are refused', () => {
  const ps = parties(2)
  const server = createSecAggServer({ ledgerId, task, round, length: 4, verify: nobleVerify })
  for (const p of ps) server.takeKeys(p.client.advertise(1))
  const list = server.keyList()
  const swapped = [{ ...list[0], maskKey: randomBytes(32) }, list[1]]
  throwsCode(() => ps[0].client.shareKeys(swapped), 'BAD_SIGNATURE')
  throwsCode(() => ps[1].client.unmask([ps[1].key]), 'SECAGG_WRONG_PHASE')
  throwsCode(() => server.takeKeys(ps[0].client.advertise(1)), 'SECAGG_WRONG_PHASE')
  const other = createSecAggClient({ ledgerId, task, round: round + 1, identity: ps[0].identity, hospital: ps[0].key, verify: nobleVerify })
  throwsCode(() => server.takeShares(other.shareKeys([other.advertise(1)])), 'SECAGG_WRONG_ROUND')
})

test('a client never reveals both shares of one hospital: survivors get seed shares only', () => {
  const ps = parties(3)
  const server = createSecAggServer({ ledgerId, task, round, length: 4, verify: nobleVerify })
  for (const p of ps) server.takeKeys(p.client.advertise(1))
  const list = server.keyList()
  for (const p of ps) server.takeShares(p.client.shareKeys(list))
  const relayed = server.sharesToRelay()
  for (const p of ps.slice(0, 2)) server.takeMasked(p.client.maskedInput(relayed, new Uint32Array(4)))
  const survivors = server.survivors()
  const u = ps[0].client.unmask(survivors)
  assert.equal(u.seedShares.map(s => toHex(s.of)).sort(), [ps[0].hex, ps[1].hex].sort())
  assert.equal(u.keyShares.map(s => toHex(s.of)), [ps[2].hex])
  // Unmask from the dropped hospital is not admitted.
  throwsCode(() => server.takeUnmask({ ...u, hospital: ps[2].key }), 'BAD_SIGNATURE')
  server.takeUnmask(u)
  // A corrupted key share (re-signed by its sender) reconstructs a key that does not match: SECAGG_BAD_SHARES.
  const v = ps[1].client.unmask(survivors)
  const { sig: _sig, ...rest } = v
  const bad = signSecAgg<typeof v>(ledgerId, { ...rest, keyShares: rest.keyShares.map(s => ({ ...s, y: randomBytes(s.y.length) })) }, ps[1].identity)
  server.takeUnmask(bad)
  throwsCode(() => server.result(), 'SECAGG_BAD_SHARES')
})

test('step envelopes travel as FL messages: signed by their sender, list steps only from a coordinator, bodies schema-checked', () => {
  const [p] = parties(1)
  const keys = p.client.advertise(4)
  const envelope = signSecAggEnvelope(ledgerId, { kind: 'secagg', task, round, step: 'keys', from: p.key, body: encodeStep('keys', keys) }, p.identity)
  const back = decodeFlMessage(encodeFlMessage(envelope))
  assert.equal(encodeFlMessage(back), encodeFlMessage(envelope))
  verifyFlMessage(ledgerId, back, nobleVerify)
  assert.is(isCoordinatorMessage(back), false)
  assert.is(isCoordinatorMessage({ ...envelope, step: 'key-list' }), true)
  throwsCode(() => verifyFlMessage(ledgerId, { ...envelope, step: 'shares' }, nobleVerify), 'BAD_SIGNATURE')
  assert.equal(encode(decodeStep('keys', envelope.body)), encode(keys))
  throwsCode(() => decodeStep('keys', encode({ ...keys, samples: 0 })), 'BAD_SCHEMA')
  throwsCode(() => decodeStep('keys', encode({ ...keys, maskKey: new Uint8Array(31) })), 'BAD_SCHEMA')
  throwsCode(() => decodeStep('shares', envelope.body), 'BAD_SCHEMA')
  throwsCode(() => decodeFlMessage(encode({ ...envelope, step: 'bogus' })), 'BAD_SCHEMA')
})

test.run()
