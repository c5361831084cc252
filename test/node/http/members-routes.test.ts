// The membership routes on three real hospitals: A's admin proposes admitting a new key, B's admin
// approves once the proposal has replicated, and all three ledgers see the member active; then
// the same for a removal. Negatives: non-admins, bad input, unknown ids, double votes, no-ops.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, testIdentity } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** Waits for the ledger to reach a state (test/helpers/ledger/until.ts). */
const until = async (ledger: Ledger, check: () => boolean | Promise<boolean>, what: string): Promise<void> => await untilLedger(ledger, check, what)

const statusOf = (ledger: Ledger, key: string): string | undefined => ledger.members().find(m => toHex(m.key) === key)?.status

const hasProposal = async (ledger: Ledger, id: string): Promise<boolean> => (await ledger.queries.proposals()).some(p => p.id === id)

test('propose, approve and remove a member across three hospitals', async () => {
  hospitals = await startHospitals(3)
  const [A, B, C] = hospitals
  const newcomer = toHex(testIdentity(9).publicKey)

  const { id } = await A.admin.propose({ action: 'add', member: newcomer, name: 'Hospital Z', addrs: ['/ip4/127.0.0.1/tcp/4001'] })
  assert.match(id, /^[0-9a-f]{64}$/)
  const listed = await A.admin.proposals()
  assert.is(listed.length, 1)
  assert.equal({ ...listed[0], time: 0 }, {
    id, action: 'add', member: newcomer, name: 'Hospital Z', addrs: ['/ip4/127.0.0.1/tcp/4001'], height: null, keep: null,
    proposer: toHex(A.peer.ledger.self), proposerName: 'Hospital A', time: 0, approvers: [], enacted: false
  })
  assert.is(statusOf(A.peer.ledger, newcomer), undefined, 'one vote of three is not a quorum')

  await until(B.peer.ledger, async () => await hasProposal(B.peer.ledger, id), 'the proposal to reach B')
  await B.admin.approveProposal(id)
  for (const h of hospitals) await until(h.peer.ledger, () => statusOf(h.peer.ledger, newcomer) === 'active', `the newcomer active at ${h.name}`)
  const approved = (await C.admin.proposals()).find(p => p.id === id)
  assert.equal(approved?.approvers, [toHex(B.peer.ledger.self)])
  assert.is(approved?.enacted, true)

  // Four members now: a majority is three votes, so the removal needs both B and C.
  const removal = (await A.admin.propose({ action: 'remove', member: newcomer })).id
  await until(B.peer.ledger, async () => await hasProposal(B.peer.ledger, removal), 'the removal to reach B')
  await B.admin.approveProposal(removal)
  // Still pending (two votes of three needed): a second approval from B is refused, not counted.
  await rejects(async () => await B.admin.approveProposal(removal), 'CONFLICT')
  assert.is(statusOf(B.peer.ledger, newcomer), 'active')
  await until(C.peer.ledger, async () => await hasProposal(C.peer.ledger, removal), 'the removal to reach C')
  await C.admin.approveProposal(removal)
  for (const h of hospitals) await until(h.peer.ledger, () => statusOf(h.peer.ledger, newcomer) === 'removed', `the newcomer removed at ${h.name}`)
  const removed = (await A.admin.proposals()).find(p => p.id === removal)
  assert.is(removed?.name, 'Hospital Z', 'a removal names the member as the ledger knows it')
  assert.is(removed?.enacted, true)
})

test('refuses non-admins, bad input, unknown proposals, double votes and no-op changes', async () => {
  hospitals = await startHospitals(3)
  const [A, B, C] = hospitals
  const newcomer = toHex(testIdentity(9).publicKey)
  const clinician = await user(A, 'doc-a', 'clinician')
  const patient = await user(A, 'pat-a', 'patient')

  for (const c of [clinician, patient]) {
    await rejects(async () => await c.proposals(), 'FORBIDDEN')
    await rejects(async () => await c.propose({ action: 'add', member: newcomer, name: 'Z' }), 'FORBIDDEN')
  }

  await rejects(async () => await A.admin.propose({ action: 'add', member: 'zz'.repeat(32), name: 'Z' }), 'INVALID')
  await rejects(async () => await A.admin.propose({ action: 'add', member: newcomer.slice(2), name: 'Z' }), 'INVALID')
  await rejects(async () => await A.admin.propose({ action: 'add', member: newcomer }), 'INVALID')
  await rejects(async () => await A.admin.propose({ action: 'add', member: newcomer, name: 'Z', addrs: ['not a multiaddr'] }), 'INVALID')
  await rejects(async () => await A.admin.propose({ action: 'add', member: newcomer, name: 'Z', addrs: Array(9).fill('/ip4/127.0.0.1/tcp/1') }), 'BAD_SCHEMA')
  await rejects(async () => await A.admin.propose({ action: 'join' as 'add', member: newcomer, name: 'Z' }), 'BAD_SCHEMA')
  await rejects(async () => await A.admin.request('POST', '/api/members/proposals', { action: 'add', member: newcomer, name: 'Z', extra: 1 }), 'BAD_SCHEMA')
  await rejects(async () => await A.admin.request('POST', '/api/members/proposals', { action: 'add', member: 7, name: 'Z' }), 'BAD_SCHEMA')

  await rejects(async () => await A.admin.propose({ action: 'add', member: toHex(B.peer.ledger.self), name: 'B again' }), 'CONFLICT')
  await rejects(async () => await A.admin.propose({ action: 'remove', member: newcomer }), 'CONFLICT')
  assert.equal(await A.peer.ledger.queries.proposals(), [], 'refused proposals write nothing')

  await rejects(async () => await A.admin.approveProposal('ab'.repeat(32)), 'NOT_FOUND')
  await rejects(async () => await A.admin.approveProposal('not-hex'), 'INVALID')

  // The proposer's vote is implied, and a hospital votes once.
  const { id } = await A.admin.propose({ action: 'add', member: newcomer, name: 'Hospital Z' })
  await rejects(async () => await A.admin.approveProposal(id), 'CONFLICT')
  await until(B.peer.ledger, async () => await hasProposal(B.peer.ledger, id), 'the proposal to reach B')
  await B.admin.approveProposal(id)
  await rejects(async () => await B.admin.approveProposal(id), 'CONFLICT')
  // Proposer and B made the quorum of three: C's approval would change nothing.
  await until(A.peer.ledger, () => statusOf(A.peer.ledger, newcomer) === 'active', 'the newcomer active at A')
  await until(C.peer.ledger, () => statusOf(C.peer.ledger, newcomer) === 'active', 'the newcomer active at C')
  await rejects(async () => await C.admin.approveProposal(id), 'CONFLICT')
  assert.equal((await B.peer.ledger.queries.proposals()).find(p => p.id === id)?.approvers, [toHex(B.peer.ledger.self)])
  assert.ok(B.peer.ledger.isMember(fromHex(newcomer)))
  await rejects(async () => await B.admin.propose({ action: 'add', member: newcomer, name: 'Hospital Z' }), 'CONFLICT')
  assert.is((await C.peer.ledger.queries.proposals()).length, 1, 'refused approvals and proposals write nothing')
})

test.run()
