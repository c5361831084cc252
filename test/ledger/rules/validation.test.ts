// Every block and transaction rule of the ledger, each with a negative case: the rejected input
// gets its typed code and leaves the ledger exactly as it was (size and state root).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, openLedger, recordBody, registerBody, tempDir, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'
import type { Ledger } from '../../../ledger/types.ts'

const { genesis, hospitals: [A, B, C] } = testConsortium(3)
const id = ledgerIdOf(genesis)
const NOW = 1_700_000_010_000
const clock = (): number => NOW

test.after.each(cleanup)

/** Asserts a rejection with `code` and that nothing was written. */
async function rejectsCleanly (ledger: Ledger, bytes: Uint8Array, code: string): Promise<void> {
  const [size, root] = [ledger.size(), toHex(await ledger.stateRoot())]
  await rejects(async () => await ledger.receive(bytes), code)
  assert.is(ledger.size(), size, 'no block was appended')
  assert.is(toHex(await ledger.stateRoot()), root, 'state root unchanged')
}

test('a valid block by a member is appended and a second copy is known', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const block = makeBlock(id, B, { height: 0, prev: null, txs: [makeTx(id, B, 'record.create', recordBody(1), 0)] })
  assert.is(await ledger.receive(block.bytes), 'appended')
  assert.is(await ledger.receive(block.bytes), 'known')
  assert.ok(await ledger.queries.patientHashExists(new Uint8Array(32).fill(1)))
})

test('a block by a key that is not a member is refused', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const stranger = testIdentity(99)
  await rejectsCleanly(ledger, makeBlock(id, stranger, { height: 0, prev: null }).bytes, 'NOT_MEMBER')
})

test('a block for another ledger is refused', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  await rejectsCleanly(ledger, makeBlock(new Uint8Array(32).fill(9), B, { height: 0, prev: null }).bytes, 'WRONG_LEDGER')
})

test('a block signed by another member than its author is refused', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const forged = makeBlock(id, { publicKey: B.publicKey, sign: C.sign }, { height: 0, prev: null })
  await rejectsCleanly(ledger, forged.bytes, 'BAD_SIGNATURE')
})

test('every flipped bit of a block is rejected, never silently accepted', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const block = makeBlock(id, B, { height: 0, prev: null, txs: [makeTx(id, B, 'record.create', recordBody(1), 0)] })
  for (let bit = 0; bit < block.bytes.length * 8; bit += 7) {
    const bytes = block.bytes.slice()
    bytes[bit >> 3] ^= 1 << (bit & 7)
    await ledger.receive(bytes).then(
      (status) => assert.unreachable(`bit ${bit} flipped was accepted as ${status}`),
      (err: { code?: string }) => assert.type(err.code, 'string', `bit ${bit}: untyped error ${String(err)}`)
    )
  }
  assert.is(ledger.size(), 0)
})

test('truncated block bytes are a BAD_ENCODING', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const block = makeBlock(id, B, { height: 0, prev: null })
  await rejectsCleanly(ledger, block.bytes.subarray(0, block.bytes.length - 3), 'BAD_ENCODING')
})

test('a transaction with a forged signature inside a validly signed block is refused', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const tx = makeTx(id, B, 'record.create', recordBody(1), 0)
  const bad = { ...tx, sig: tx.sig.slice() }
  bad.sig[5] ^= 1
  await rejectsCleanly(ledger, makeBlock(id, B, { height: 0, prev: null, txs: [bad] }).bytes, 'BAD_SIGNATURE')
})

test('large blocks checked on worker threads: forgeries, bad roots and flipped bits are refused the same way', async () => {
  const ledger = await openLedger(genesis, A, { clock, verifyWorkers: 1 })
  // Twenty transactions make a block big enough to go to the pool (POOL_MIN_BYTES).
  const txs = Array.from({ length: 20 }, (_, i) => makeTx(id, B, 'record.create', recordBody(i), i))
  const bad = { ...txs[7], sig: txs[7].sig.slice() }
  bad.sig[5] ^= 1
  const withBad = makeBlock(id, B, { height: 0, prev: null, txs: [...txs.slice(0, 7), bad, ...txs.slice(8)] })
  assert.ok(withBad.bytes.length >= 4096, 'the test block takes the pool path')
  await rejectsCleanly(ledger, withBad.bytes, 'BAD_SIGNATURE')
  await rejectsCleanly(ledger, makeBlock(id, { publicKey: B.publicKey, sign: C.sign }, { height: 0, prev: null, txs }).bytes, 'BAD_SIGNATURE')
  const good = makeBlock(id, B, { height: 0, prev: null, txs })
  for (let bit = 0; bit < good.bytes.length * 8; bit += 997) {
    const flipped = good.bytes.slice()
    flipped[bit >> 3] ^= 1 << (bit & 7)
    await ledger.receive(flipped).then(
      (status) => assert.unreachable(`bit ${bit} flipped was accepted as ${status}`),
      (err: { code?: string }) => assert.type(err.code, 'string', `bit ${bit}: untyped error ${String(err)}`)
    )
  }
  const next = makeBlock(id, B, { height: 1, prev: good.hash, txs: txs.map((t, i) => makeTx(id, B, 'record.create', recordBody(i + 40), i + 20)) })
  const racing = await Promise.all([next, good].map(async b => await ledger.receive(b.bytes)))
  assert.equal(racing, ['buffered', 'appended'])
  assert.is(ledger.size(), 2)
})

test('a hospital transaction signed by another hospital is an UNAUTHORISED_SIGNER', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const txByC = makeTx(id, C, 'record.create', recordBody(1), 0)
  await rejectsCleanly(ledger, makeBlock(id, B, { height: 0, prev: null, txs: [txByC] }).bytes, 'UNAUTHORISED_SIGNER')
})

test('a consent signed by a key that is not a registered patient is refused', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const patient = testIdentity(50)
  const grant = makeTx(id, patient, 'consent.revoke', { grantee: C.publicKey }, 0)
  await rejectsCleanly(ledger, makeBlock(id, B, { height: 0, prev: null, txs: [grant] }).bytes, 'UNAUTHORISED_SIGNER')
  const reg = makeTx(id, B, 'account.register', registerBody(id, patient, B), 0)
  assert.is(await ledger.receive(makeBlock(id, B, { height: 0, prev: null, txs: [reg, grant] }).bytes), 'appended')
})

test('an account registration whose proof of possession is forged is refused', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const body = registerBody(id, testIdentity(50), B)
  const forged = { ...body, pop: testIdentity(51).sign(new Uint8Array(8)) }
  await rejectsCleanly(ledger, makeBlock(id, B, { height: 0, prev: null, txs: [makeTx(id, B, 'account.register', forged, 0)] }).bytes, 'BAD_SIGNATURE')
})

test('a replayed transaction (twice in a block, or again in the author chain) is a DUPLICATE_TX', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const tx = makeTx(id, B, 'record.create', recordBody(1), 0)
  await rejectsCleanly(ledger, makeBlock(id, B, { height: 0, prev: null, txs: [tx, tx] }).bytes, 'DUPLICATE_TX')
  const b0 = makeBlock(id, B, { height: 0, prev: null, txs: [tx] })
  await ledger.receive(b0.bytes)
  await rejectsCleanly(ledger, makeBlock(id, B, { height: 1, prev: b0.hash, txs: [tx] }).bytes, 'DUPLICATE_TX')
})

test('submitting a known transaction or reusing a seq is refused before it reaches a block', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const loc = await ledger.submitOwn('record.create', recordBody(1))
  const tx = (await ledger.tx(loc.txId))
  assert.ok(tx)
  const again = makeTx(id, A, 'record.create', recordBody(2), 0, NOW)
  await rejects(async () => await ledger.submit(again), 'REPLAYED_SEQ')
  const block = await ledger.block(A.publicKey, 0)
  await rejects(async () => await ledger.submit(block?.txs[0].tx as never), 'DUPLICATE_TX')
  assert.is(ledger.size(), 1)
})

test('a height gap waits in the buffer, then completes when the missing block arrives', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const b0 = makeBlock(id, B, { height: 0, prev: null })
  const b1 = makeBlock(id, B, { height: 1, prev: b0.hash })
  const b2 = makeBlock(id, B, { height: 2, prev: b1.hash })
  assert.is(await ledger.receive(b2.bytes), 'buffered')
  assert.is(await ledger.receive(b1.bytes), 'buffered')
  assert.is(ledger.size(), 0)
  assert.is(await ledger.receive(b0.bytes), 'appended')
  assert.is(ledger.size(), 3)
})

test('a block whose prev is not the author head is a BAD_PREV', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const b0 = makeBlock(id, B, { height: 0, prev: null })
  await ledger.receive(b0.bytes)
  await rejectsCleanly(ledger, makeBlock(id, B, { height: 1, prev: new Uint8Array(32).fill(3) }).bytes, 'BAD_PREV')
})

test('block time far in the future, or before its prev, is refused', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  await rejectsCleanly(ledger, makeBlock(id, B, { height: 0, prev: null, time: NOW + 10 * 60_000 }).bytes, 'FUTURE_TIME')
  const b0 = makeBlock(id, B, { height: 0, prev: null, time: NOW })
  await ledger.receive(b0.bytes)
  await rejectsCleanly(ledger, makeBlock(id, B, { height: 1, prev: b0.hash, time: NOW - 1 }).bytes, 'BAD_TIME')
})

test('a block that keeps its prev\'s time passes after the clock went back; one that advances it does not', async () => {
  // The receiver accepted b0 while its clock read 10 minutes later, then its clock was corrected.
  let now = NOW + 10 * 60_000
  const ledger = await openLedger(genesis, A, { clock: () => now })
  const b0 = makeBlock(id, B, { height: 0, prev: null, time: NOW + 10 * 60_000 })
  await ledger.receive(b0.bytes)
  now = NOW
  await rejectsCleanly(ledger, makeBlock(id, B, { height: 1, prev: b0.hash, time: NOW + 10 * 60_000 + 1 }).bytes, 'FUTURE_TIME')
  assert.is(await ledger.receive(makeBlock(id, B, { height: 1, prev: b0.hash, time: NOW + 10 * 60_000 }).bytes), 'appended')
})

test('links must name held blocks truthfully, never a non-member, and never go backwards', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const c0 = makeBlock(id, C, { height: 0, prev: null })
  const c1 = makeBlock(id, C, { height: 1, prev: c0.hash })
  await ledger.receive(c0.bytes)
  await ledger.receive(c1.bytes)
  const lie = makeBlock(id, B, { height: 0, prev: null, links: [{ author: C.publicKey, height: 0, hash: new Uint8Array(32) }] })
  assert.is(await ledger.receive(lie.bytes), 'buffered', 'a link to a block that does not exist is never appended')
  assert.is(ledger.size(), 2)
  const stranger = makeBlock(id, B, { height: 0, prev: null, links: [{ author: testIdentity(77).publicKey, height: 0, hash: new Uint8Array(32) }] })
  await rejectsCleanly(ledger, stranger.bytes, 'BAD_LINKS')
  const b0 = makeBlock(id, B, { height: 0, prev: null, links: [{ author: C.publicKey, height: 1, hash: c1.hash }] })
  assert.is(await ledger.receive(b0.bytes), 'appended')
  const back = makeBlock(id, B, { height: 1, prev: b0.hash, links: [{ author: C.publicKey, height: 0, hash: c0.hash }] })
  await rejectsCleanly(ledger, back.bytes, 'BAD_LINKS')
})

test('a block linking a block not yet held waits for it', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const c0 = makeBlock(id, C, { height: 0, prev: null })
  const b0 = makeBlock(id, B, { height: 0, prev: null, links: [{ author: C.publicKey, height: 0, hash: c0.hash }] })
  assert.is(await ledger.receive(b0.bytes), 'buffered')
  assert.is(await ledger.receive(c0.bytes), 'appended')
  assert.is(ledger.size(), 2)
})

test('equivocation is kept as evidence and flags the member; the first block stays', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const found = new Promise(resolve => ledger.addEventListener('evidence:found', resolve, { once: true }))
  const one = makeBlock(id, B, { height: 0, prev: null, txs: [makeTx(id, B, 'record.create', recordBody(1), 0)] })
  const two = makeBlock(id, B, { height: 0, prev: null, txs: [makeTx(id, B, 'record.create', recordBody(2), 0)] })
  await ledger.receive(one.bytes)
  const rootBefore = toHex(await ledger.stateRoot())
  assert.is(await ledger.receive(two.bytes), 'evidence')
  await found
  const evidence = await ledger.evidence()
  assert.is(evidence.length, 1)
  assert.is(evidence[0].height, 0)
  assert.ok(ledger.members().find(m => toHex(m.key) === toHex(B.publicKey))?.flagged)
  assert.is.not(toHex(await ledger.stateRoot()), rootBefore, 'the flag is part of the state')
  assert.is(toHex((await ledger.block(B.publicKey, 0))?.hash ?? new Uint8Array()), toHex(one.hash))
  const other = await openLedger(genesis, C, { clock })
  assert.ok(await other.receiveEvidence(evidence[0]))
  assert.ok(other.members().find(m => toHex(m.key) === toHex(B.publicKey))?.flagged)
})

test('an honest block linking the other variant of an equivocation is appended once the evidence is held', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const x = makeBlock(id, C, { height: 0, prev: null, txs: [makeTx(id, C, 'record.create', recordBody(1), 0)] })
  const xPrime = makeBlock(id, C, { height: 0, prev: null, txs: [makeTx(id, C, 'record.create', recordBody(2), 0)] })
  await ledger.receive(xPrime.bytes)
  const honest = makeBlock(id, B, { height: 0, prev: null, links: [{ author: C.publicKey, height: 0, hash: x.hash }] })
  assert.is(await ledger.receive(honest.bytes), 'buffered', 'it waits for the variant it links')
  const appended = new Promise<void>(resolve => ledger.addEventListener('block:appended', () => resolve(), { once: true }))
  assert.is(await ledger.receive(x.bytes), 'evidence')
  await appended
  assert.ok(await ledger.block(B.publicKey, 0), 'B\'s block is not held hostage by C\'s equivocation')
  assert.is(toHex((await ledger.block(C.publicKey, 0))?.hash ?? new Uint8Array()), toHex(xPrime.hash), 'the first-seen variant stays')
})

test('forged or inconsistent evidence is refused', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const one = makeBlock(id, B, { height: 0, prev: null })
  const forged = makeBlock(id, { publicKey: B.publicKey, sign: C.sign }, { height: 0, prev: null, time: NOW - 5 })
  await rejects(async () => await ledger.receiveEvidence({ author: B.publicKey, height: 0, blocks: [one.bytes, forged.bytes] }), 'BAD_SIGNATURE')
  await rejects(async () => await ledger.receiveEvidence({ author: B.publicKey, height: 0, blocks: [one.bytes, one.bytes] }), 'EQUIVOCATION')
  const c0 = makeBlock(id, C, { height: 0, prev: null })
  await rejects(async () => await ledger.receiveEvidence({ author: B.publicKey, height: 0, blocks: [one.bytes, c0.bytes] }), 'EQUIVOCATION')
  assert.is((await ledger.evidence()).length, 0)
})

test('a data folder cannot be opened under another genesis', async () => {
  const dir = await tempDir()
  const first = await openLedger(genesis, A, { path: dir, clock })
  await first.submitOwn('record.create', recordBody(1))
  await first.stop()
  await rejects(async () => await openLedger(testConsortium(2).genesis, A, { path: dir, clock }), 'WRONG_LEDGER')
})

test.run()
