// Membership by quorum (docs/design.md §3): pure evaluation over proposals and approvals, and the live
// effect on a ledger, where a removed member's new blocks are refused.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { evaluateMembership } from '../../../ledger/state/membership.ts'
import type { Proposal } from '../../../ledger/state/membership.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeBlock, openLedger, recordBody, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals } = testConsortium(3)
const [A, B, C] = hospitals
const E = testIdentity(5)
const hex = toHex

test.after.each(cleanup)

function proposal (id: string, action: 'add' | 'remove', member: Uint8Array, proposer: Uint8Array, time = 1): Proposal {
  return { id, action, member, name: 'X', addrs: [], proposer, time }
}

const status = (m: Map<string, { status: string }>, key: Uint8Array): string | undefined => m.get(hex(key))?.status

test('a proposal is enacted only once proposer plus approvers reach a majority of current members', () => {
  const p = proposal('aa', 'add', E.publicKey, A.publicKey)
  assert.is(status(evaluateMembership(genesis, [p], new Map()), E.publicKey), undefined, '1 of 3 is not a majority')
  assert.is(status(evaluateMembership(genesis, [p], new Map([['aa', new Set([hex(B.publicKey)])]])), E.publicKey), 'active')
})

test('approvals from non-members do not count', () => {
  const p = proposal('aa', 'add', E.publicKey, A.publicKey)
  const votes = new Map([['aa', new Set([hex(testIdentity(70).publicKey), hex(testIdentity(71).publicKey)])]])
  assert.is(status(evaluateMembership(genesis, [p], votes), E.publicKey), undefined)
})

test('a proposal by a non-member does not count its proposer', () => {
  const p = proposal('aa', 'add', E.publicKey, testIdentity(70).publicKey)
  assert.is(status(evaluateMembership(genesis, [p], new Map([['aa', new Set([hex(B.publicKey)])]])), E.publicKey), undefined)
})

test('removal needs a quorum too, and never empties the consortium', () => {
  const remove = proposal('bb', 'remove', C.publicKey, A.publicKey)
  assert.is(status(evaluateMembership(genesis, [remove], new Map([['bb', new Set([hex(B.publicKey)])]])), C.publicKey), 'removed')
  const solo = testConsortium(1).genesis
  const self = proposal('cc', 'remove', testIdentity(1).publicKey, testIdentity(1).publicKey)
  assert.is(status(evaluateMembership(solo, [self], new Map()), testIdentity(1).publicKey), 'active')
})

test('the result does not depend on the order proposals are listed in', () => {
  const ps = [
    proposal('01', 'add', E.publicKey, A.publicKey, 5),
    proposal('02', 'remove', C.publicKey, A.publicKey, 6),
    proposal('03', 'remove', E.publicKey, B.publicKey, 7)
  ]
  const votes = new Map([['01', new Set([hex(B.publicKey)])], ['02', new Set([hex(B.publicKey)])], ['03', new Set([hex(A.publicKey), hex(E.publicKey)])]])
  const expected = JSON.stringify([...evaluateMembership(genesis, ps, votes)].map(([k, v]) => [k, v.status]))
  for (const order of [[2, 1, 0], [1, 0, 2], [0, 2, 1]]) {
    const got = JSON.stringify([...evaluateMembership(genesis, order.map(i => ps[i]), votes)].map(([k, v]) => [k, v.status]))
    assert.is(got, expected)
  }
})

async function sync (from: Ledger, to: Ledger): Promise<void> {
  for (const bytes of await from.blocksAfter(to.heads(), 10_000)) await to.receive(bytes)
}

test('a member removed by quorum can no longer write, and its new blocks are refused', async () => {
  const [a, b, c] = await Promise.all([A, B, C].map(async h => await openLedger(genesis, h)))
  await c.submitOwn('record.create', recordBody(1))
  for (const [x, y] of [[c, a], [c, b]]) await sync(x, y)
  const changed = new Promise(resolve => a.addEventListener('members:changed', resolve, { once: true }))
  const p = await a.submitOwn('member.propose', { action: 'remove', member: C.publicKey, name: '', addrs: [] })
  await sync(a, b)
  await b.submitOwn('member.approve', { proposal: p.txId })
  await sync(b, a)
  await changed
  assert.not.ok(a.isMember(C.publicKey))
  assert.is(a.members().find(m => hex(m.key) === hex(C.publicKey))?.status, 'removed')
  const head = await c.block(C.publicKey, 0)
  const late = makeBlock(ledgerIdOf(genesis), C, { height: 1, prev: head?.hash ?? null, time: Date.now(), links: [] })
  await rejects(async () => await a.receive(late.bytes), 'NOT_MEMBER')
  await sync(a, c)
  await rejects(async () => await c.submitOwn('record.create', recordBody(2)), 'NOT_MEMBER')
})

test.run()
