// A member caught equivocating (issue 11.2): once the evidence is held its later blocks are
// refused with FLAGGED_MEMBER, honest members' blocks linking them are not held hostage, and a
// quorum-approved `member.resolve` naming the block kept lets its chain continue from that block.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import type { Block } from '../../../protocol/chain/block.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { rejects } from '../../helpers/assert.ts'
import { evaluateMembership } from '../../../ledger/state/membership.ts'
import { cleanup, makeBlock, makeTx, openLedger, recordBody, tempDir, testConsortium } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B, C] } = testConsortium(3)
const id = ledgerIdOf(genesis)
const NOW = 1_700_000_010_000
const clock = (): number => NOW

test.after.each(cleanup)

const rec = (n: number, seq: number): ReturnType<typeof makeTx> => makeTx(id, B, 'record.create', recordBody(n), seq, NOW)

/** B's chain: b0, then two different blocks at height 1, and b2 on top of the first. */
const b0 = makeBlock(id, B, { height: 0, prev: null, time: NOW, txs: [rec(1, 0)] })
const b1 = makeBlock(id, B, { height: 1, prev: b0.hash, time: NOW, txs: [rec(2, 1)] })
const b1x = makeBlock(id, B, { height: 1, prev: b0.hash, time: NOW, txs: [rec(3, 1)] })
const b2 = makeBlock(id, B, { height: 2, prev: b1.hash, time: NOW, txs: [rec(4, 2)] })

/** A ledger for `self` that saw `first` at height 1, then the other variant: evidence held. */
async function witnessed (first: Block, second: Block, self = A): Promise<Ledger> {
  const ledger = await openLedger(genesis, self, { clock })
  for (const b of [b0, first]) assert.is(await ledger.receive(b.bytes), 'appended')
  assert.is(await ledger.receive(second.bytes), 'evidence')
  return ledger
}

const memberB = (ledger: Ledger): ReturnType<Ledger['members']>[number] | undefined => ledger.members().find(m => toHex(m.key) === toHex(B.publicKey))

test('after evidence of two blocks at height 1, the member\'s block 2 is FLAGGED_MEMBER', async () => {
  const ledger = await witnessed(b1, b1x)
  const [size, root] = [ledger.size(), toHex(await ledger.stateRoot())]
  await rejects(async () => await ledger.receive(b2.bytes), 'FLAGGED_MEMBER')
  assert.is(ledger.size(), size)
  assert.is(toHex(await ledger.stateRoot()), root)
  const m = memberB(ledger)
  assert.equal([m?.flagged, m?.equivocations, m?.refusedAbove, m?.resolutions], [true, [1], 1, []])
})

test('the flag survives a restart', async () => {
  const path = await tempDir()
  const ledger = await openLedger(genesis, A, { clock, path })
  for (const b of [b0, b1]) await ledger.receive(b.bytes)
  assert.is(await ledger.receive(b1x.bytes), 'evidence')
  await ledger.stop()
  const again = await openLedger(genesis, A, { clock, path })
  await rejects(async () => await again.receive(b2.bytes), 'FLAGGED_MEMBER')
  assert.is(memberB(again)?.refusedAbove, 1)
})

test('an honest block linking the flagged member\'s refused block is appended, also when it waited', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  for (const b of [b0, b1]) await ledger.receive(b.bytes)
  // C took b2 before any evidence reached it; A has not seen b2 yet, so C's block waits for it.
  const c0 = makeBlock(id, C, { height: 0, prev: null, time: NOW, links: [{ author: B.publicKey, height: 2, hash: b2.hash }], txs: [makeTx(id, C, 'record.create', recordBody(9), 0, NOW)] })
  assert.is(await ledger.receive(c0.bytes), 'buffered')
  const appended = new Promise<void>(resolve => ledger.addEventListener('block:appended', () => resolve(), { once: true }))
  assert.is(await ledger.receive(b1x.bytes), 'evidence')
  await appended
  assert.ok(await ledger.block(C.publicKey, 0), 'C\'s block no longer waits for a block A refuses')
  const c1 = makeBlock(id, C, { height: 1, prev: c0.hash, time: NOW, links: [{ author: B.publicKey, height: 2, hash: b2.hash }] })
  assert.is(await ledger.receive(c1.bytes), 'appended')
})

test('the flagged member cannot write on its own ledger either', async () => {
  const own = await openLedger(genesis, B, { clock })
  await own.submitOwn('record.create', recordBody(1))
  const mine = await own.submitOwn('record.create', recordBody(2))
  const held = await own.block(B.publicKey, 0)
  const twin = makeBlock(id, B, { height: mine.height, prev: held?.hash ?? null, time: NOW, txs: [rec(7, 5)] })
  assert.is(await own.receive(twin.bytes), 'evidence')
  await rejects(async () => await own.submitOwn('record.create', recordBody(3)), 'FLAGGED_MEMBER')
})

test('a quorum-approved resolution keeping one block lets the chain go on from it, only from it', async () => {
  const ledger = await witnessed(b1, b1x)
  const abandoned = await witnessed(b1x, b1, C)
  // A proposes keeping b1; C approves. B, the member judged, has no vote: A and C are the quorum.
  const proposal = await ledger.submitOwn('member.resolve', { member: B.publicKey, height: 1, keep: b1.hash })
  const a0 = await ledger.block(A.publicKey, 0)
  assert.ok(a0)
  assert.is(memberB(ledger)?.refusedAbove, 1, 'a proposal alone changes nothing')
  await rejects(async () => await ledger.receive(b2.bytes), 'FLAGGED_MEMBER')
  const approval = makeBlock(id, C, { height: 0, prev: null, time: NOW, links: [{ author: A.publicKey, height: 0, hash: a0.hash }, { author: B.publicKey, height: 1, hash: b1.hash }], txs: [makeTx(id, C, 'member.approve', { proposal: proposal.txId }, 0, NOW)] })
  assert.is(await ledger.receive(approval.bytes), 'appended')
  const m = memberB(ledger)
  assert.is(m?.refusedAbove, null)
  assert.equal(m?.resolutions.map(r => [r.height, toHex(r.keep)]), [[1, toHex(b1.hash)]])
  assert.is(await ledger.receive(b2.bytes), 'appended')

  // A peer that holds the abandoned block refuses to extend it, before and after the resolution.
  for (const bytes of await ledger.blocksAfter(abandoned.heads(), 100)) await abandoned.receive(bytes).catch(() => 'refused')
  assert.is(memberB(abandoned)?.refusedAbove, 1)
  const onAbandoned = makeBlock(id, B, { height: 2, prev: b1x.hash, time: NOW, txs: [rec(8, 2)] })
  await rejects(async () => await abandoned.receive(onAbandoned.bytes), 'FLAGGED_MEMBER')
})

test('a resolution needs a quorum of the other members: the member judged has no vote', () => {
  const resolve = { id: 'aa', action: 'resolve' as const, member: B.publicKey, name: '', addrs: [], proposer: A.publicKey, time: 1, height: 1, keep: b1.hash }
  const votes = (...keys: Uint8Array[]): Map<string, Set<string>> => new Map([['aa', new Set(keys.map(k => toHex(k)))]])
  const resolutions = (approvals: Map<string, Set<string>>): number | undefined =>
    evaluateMembership(genesis, [resolve], approvals).get(toHex(B.publicKey))?.resolutions.length
  assert.is(resolutions(new Map()), 0, 'the proposer alone')
  assert.is(resolutions(votes(B.publicKey)), 0, 'the judged member\'s approval does not count')
  assert.is(resolutions(votes(C.publicKey)), 1)
})

test.run()
