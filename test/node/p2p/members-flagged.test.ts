// An equivocating member on three real hospitals (issue 11.2): once A holds two signed blocks of
// C at one height, C's next block is refused with FLAGGED_MEMBER, also at B once the evidence has
// spread; the members API shows it; A's admin proposes keeping one block, B's admin approves, and
// C's chain goes on from the kept block. Negatives: a hash that is neither block, no evidence.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, recordBody, testIdentity } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** Waits for the ledger to reach a state (test/helpers/ledger/until.ts). */
const until = async (ledger: Ledger, check: () => boolean | Promise<boolean>, what: string): Promise<void> => await untilLedger(ledger, check, what, 15_000, ['block:appended', 'evidence:found', 'members:changed'])

interface MemberJson { key: string, flagged: boolean, equivocations: number[], refusedAbove: number | null, resolutions: Array<{ height: number, keep: string }> }

test('an equivocating member\'s next block is refused everywhere until a quorum keeps one block', async () => {
  hospitals = await startHospitals(3)
  const [A, B, C] = hospitals
  const cKey = testIdentity(3)
  const c = toHex(cKey.publicKey)
  const id = A.peer.ledger.id
  const ownHead = C.peer.ledger.heads().find(h => toHex(h.author) === c)
  assert.ok(ownHead, 'C wrote its admin\'s registration')
  for (const h of [A, B]) await until(h.peer.ledger, () => h.peer.ledger.heads().some(x => toHex(x.author) === c && x.height === ownHead.height), `C's head at ${h.name}`)
  const held = await A.peer.ledger.block(cKey.publicKey, ownHead.height)
  assert.ok(held)

  // C signs a second block at its head height; A gets it: evidence.
  const time = Date.now()
  const twin = makeBlock(id, cKey, { height: held.header.height, prev: held.header.prev, links: held.header.links, time, txs: [makeTx(id, cKey, 'record.create', recordBody(1), 900, time)] })
  assert.is(await A.peer.ledger.receive(twin.bytes), 'evidence')
  const next = makeBlock(id, cKey, { height: held.header.height + 1, prev: held.hash, links: held.header.links, time, txs: [makeTx(id, cKey, 'record.create', recordBody(2), 901, time)] })
  await rejects(async () => await A.peer.ledger.receive(next.bytes), 'FLAGGED_MEMBER')
  await until(B.peer.ledger, () => B.peer.ledger.members().some(m => toHex(m.key) === c && m.refusedAbove !== null), 'the evidence to reach B')
  await rejects(async () => await B.peer.ledger.receive(next.bytes), 'FLAGGED_MEMBER')

  const members = await (await A.admin.request('GET', '/api/members')).json() as { members: MemberJson[] }
  const shown = members.members.find(m => m.key === c)
  assert.equal([shown?.flagged, shown?.equivocations, shown?.refusedAbove, shown?.resolutions], [true, [held.header.height], held.header.height, []])

  // Only a resolution naming held evidence and one of its blocks can be proposed.
  await rejects(async () => await A.admin.propose({ action: 'resolve', member: c, height: held.header.height, keep: toHex(new Uint8Array(32)) }), 'INVALID')
  await rejects(async () => await A.admin.propose({ action: 'resolve', member: c, height: held.header.height + 5, keep: toHex(held.hash) }), 'NOT_FOUND')
  const { id: proposal } = await A.admin.propose({ action: 'resolve', member: c, height: held.header.height, keep: toHex(held.hash) })
  const listed = (await A.admin.proposals()).find(p => p.id === proposal)
  assert.equal([listed?.action, listed?.height, listed?.keep, listed?.enacted], ['resolve', held.header.height, toHex(held.hash), false])
  await rejects(async () => await A.peer.ledger.receive(next.bytes), 'FLAGGED_MEMBER')

  await until(B.peer.ledger, async () => (await B.peer.ledger.queries.proposals()).some(p => p.id === proposal), 'the proposal to reach B')
  await B.admin.approveProposal(proposal)
  for (const h of [A, B]) {
    await until(h.peer.ledger, () => h.peer.ledger.members().some(m => toHex(m.key) === c && m.refusedAbove === null), `the resolution at ${h.name}`)
  }
  assert.ok(['appended', 'known'].includes(await A.peer.ledger.receive(next.bytes)), 'C\'s chain goes on from the kept block')
  const after = await (await A.admin.request('GET', '/api/members')).json() as { members: MemberJson[] }
  assert.equal(after.members.find(m => m.key === c)?.resolutions.map(r => [r.height, r.keep]), [[held.header.height, toHex(held.hash)]])
})

test.run()
