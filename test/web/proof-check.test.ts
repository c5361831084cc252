// The ledger explorer's in-browser proof check (web/src/lib/proof-check.ts) on real proofs from a
// real ledger: a good proof verifies; a flipped path hash, signature or tx byte, another ledger,
// a stranger's key, a malformed proof and a proof of a different transaction are each refused.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../protocol/bytes.ts'
import { proofToJson } from '../../protocol/chain/proof-json.ts'
import type { InclusionProofJson } from '../../protocol/chain/proof-json.ts'
import type { Ledger } from '../../ledger/types.ts'
import { checkTxProof } from '../../web/src/lib/proof-check.ts'
import { cleanup, openLedger, recordBody, testConsortium, testIdentity } from '../helpers/ledger/fixture.ts'

const { genesis, hospitals } = testConsortium(2)
let ledger: Ledger
let ids: string[] = []
/** A transaction in a block with others, so its proof has a non-empty audit path. */
let shared = ''

test.before(async () => {
  ledger = await openLedger(genesis, hospitals[0], { verifyWorkers: 0 })
  // Submitted together, most share a block (group commit: the first may be written alone while
  // the rest queue behind its fsync, so the test picks one that shares).
  const locs = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(async n => await ledger.submitOwn('record.create', recordBody(n))))
  ids = locs.map(l => toHex(l.txId))
  const sizes = new Map<string, number>()
  for (const l of locs) sizes.set(toHex(l.blockHash), (sizes.get(toHex(l.blockHash)) ?? 0) + 1)
  shared = toHex(locs.find(l => (sizes.get(toHex(l.blockHash)) ?? 0) >= 3)?.txId ?? new Uint8Array(0))
})

test.after(async () => { await cleanup() })

async function proofOf (id: string): Promise<InclusionProofJson> {
  const found = await ledger.tx(Uint8Array.from(Buffer.from(id, 'hex')))
  if (found === undefined) throw new Error('no such tx')
  return proofToJson(found.proof)
}

const anchors = (): { ledgerId: string, members: string[] } => ({ ledgerId: toHex(ledger.id), members: hospitals.map(h => toHex(h.publicKey)) })
const flip = (hex: string, at = 0): string => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1)

test('a real proof verifies and says where the transaction is', async () => {
  const proof = await proofOf(shared)
  assert.ok(proof.path.length > 0, 'the block holds several transactions')
  const r = checkTxProof(shared, proof, anchors())
  assert.ok(r.ok)
  if (r.ok) {
    assert.is(r.type, 'record.create')
    assert.is(r.author, toHex(hospitals[0].publicKey))
    assert.is(r.txId, shared)
  }
})

test('tampering, another ledger and a stranger\'s signature are refused with BAD_PROOF', async () => {
  const proof = await proofOf(shared)
  const code = (p: unknown, a = anchors()): string => {
    const r = checkTxProof(shared, p, a)
    return r.ok ? 'OK' : r.code
  }
  assert.is(code({ ...proof, path: [flip(proof.path[0]), ...proof.path.slice(1)] }), 'BAD_PROOF')
  assert.is(code({ ...proof, sig: flip(proof.sig, 10) }), 'BAD_PROOF')
  assert.is(code({ ...proof, tx: flip(proof.tx, proof.tx.length - 2) }), 'BAD_PROOF')
  assert.is(code({ ...proof, index: (proof.index + 1) % 3 }), 'BAD_PROOF')
  assert.is(code(proof, { ...anchors(), ledgerId: flip(toHex(ledger.id)) }), 'BAD_PROOF')
  assert.is(code(proof, { ...anchors(), members: [toHex(testIdentity(9).publicKey)] }), 'BAD_PROOF')
})

test('a malformed proof is BAD_SCHEMA; a proof of another transaction is WRONG_TX', async () => {
  const proof = await proofOf(ids[0])
  const r1 = checkTxProof(ids[0], { ...proof, sig: 'zz' }, anchors())
  assert.is(r1.ok ? 'OK' : r1.code, 'BAD_SCHEMA')
  const r2 = checkTxProof(ids[0], null, anchors())
  assert.is(r2.ok ? 'OK' : r2.code, 'BAD_SCHEMA')
  const r3 = checkTxProof(ids[2], proof, anchors())
  assert.is(r3.ok ? 'OK' : r3.code, 'WRONG_TX')
})

test.run()
