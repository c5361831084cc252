// Property test of docs/design.md §4: the state is a deterministic reduction of the braid. Four hospitals
// write concurrently (consents with competing seqs, per-purpose revokes racing revokes of every
// purpose, the same consent carried by two chains,
// images, access logs, a member admitted by quorum); then the same blocks are delivered to fresh
// peers in 100+ random orders, and every peer must report the one state root.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { CID } from 'multiformats/cid'
import { sha256 as mhSha256 } from 'multiformats/hashes/sha2'
import { PURPOSES, patientIdOf } from '../../../protocol/chain/tx.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { cleanup, makeTx, openLedger, recordBody, registerBody, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals } = testConsortium(4)
/** The peers' clock: shortly after the transactions' times (TX_TIME binds them to their block). */
const clock = (): number => 1_700_000_060_000
const id = ledgerIdOf(genesis)
const ORDERS = Number(process.env.MEDICHAIN_PROPERTY_RUNS ?? 100)

test.after.each(cleanup)

/** A small deterministic PRNG (mulberry32) so a failing order can be reproduced from its seed. */
function prng (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

async function exchange (from: Ledger, to: Ledger): Promise<void> {
  for (const bytes of await from.blocksAfter(to.heads(), 10_000)) await to.receive(bytes)
}

async function cid (n: number): Promise<CID> {
  return CID.createV1(0x55, await mhSha256.digest(new Uint8Array([n, n >> 8])))
}

/** Builds a braid of concurrent blocks by four hospitals and returns every block's bytes. */
async function buildBraid (): Promise<{ blocks: Uint8Array[], root: string, peers: Ledger[] }> {
  const peers = await Promise.all(hospitals.map(async h => await openLedger(genesis, h, { clock })))
  const [A, B, C, D] = peers
  const patients = [60, 61, 62].map(testIdentity)
  const rand = prng(7)
  for (const [i, p] of patients.entries()) await peers[i].submitOwn('account.register', registerBody(id, p, hospitals[i]))
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (i !== j) await exchange(peers[i], peers[j])

  // Concurrent writes with partial exchanges between them.
  const seqs = Array.from({ length: 24 }, (_, i) => i)
  for (let i = seqs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[seqs[i], seqs[j]] = [seqs[j], seqs[i]]
  }
  for (let round = 0; round < 6; round++) {
    for (const [i, peer] of peers.entries()) {
      const patient = patients[Math.floor(rand() * patients.length)]
      const pid = patientIdOf(patient.publicKey)
      await peer.submitOwn('record.create', recordBody(round * 10 + i, i))
      const raw = await cid(round * 16 + i)
      await peer.submitOwn('image.add', {
        patient: pid, record: null, raw, result: await cid(1000 + round * 16 + i), modality: 'CT', size: 1024, model: null, score: 120, keys: []
      })
      await peer.submitOwn('access.log', { patient: pid, image: raw, accessor: hospitals[i].publicKey, basis: 'custodian', consent: null })
      // Consents for few (patient, grantee) pairs, with seqs handed out in a shuffled order, so
      // concurrent chains carry competing grants and revokes for the same pair.
      const grantee = hospitals[Math.floor(rand() * 2)].publicKey
      const seq = seqs.pop() as number
      const time = 1_700_000_000_000 + round
      // Revokes name one purpose or none (every purpose), so per-purpose records race with revoke-alls.
      const purpose = PURPOSES[seq % 3]
      const pick = rand()
      const tx = pick < 0.5
        ? makeTx(id, patients[0], 'consent.grant', { grantee, kind: 'hospital', purpose, scope: { kind: 'all' }, expires: 1_900_000_000_000, keys: [] }, seq, time)
        : makeTx(id, patients[0], 'consent.revoke', pick < 0.75 ? { grantee } : { grantee, purpose }, seq, time)
      await peer.submit(tx)
      // The same consent, carried concurrently by a second hospital's chain, must count once.
      await peers[(i + 2) % 4].submit(tx).catch(() => {})
    }
    const a = Math.floor(rand() * 4)
    const b = (a + 1 + Math.floor(rand() * 3)) % 4
    await exchange(peers[a], peers[b])
  }

  // Admit a fifth hospital by quorum while writes continue.
  const E = testIdentity(5)
  const proposal = await A.submitOwn('member.propose', { action: 'add', member: E.publicKey, name: 'Hospital E', addrs: [] })
  await exchange(A, B)
  await exchange(A, C)
  await B.submitOwn('member.approve', { proposal: proposal.txId })
  await C.submitOwn('member.approve', { proposal: proposal.txId })
  await D.submitOwn('record.create', recordBody(200))
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (i !== j) await exchange(peers[i], peers[j])
  const e = await openLedger(genesis, E, { clock })
  await exchange(A, e)
  assert.ok(e.isMember(E.publicKey), 'E sees its own admission')
  await e.submitOwn('record.create', recordBody(201))
  for (const p of peers) await exchange(e, p)

  const roots = new Set(await Promise.all([...peers, e].map(async p => toHex(await p.stateRoot()))))
  assert.is(roots.size, 1, 'fully synced peers agree')
  const blocks = await A.blocksAfter([], 100_000)
  return { blocks, root: [...roots][0], peers: [...peers, e] }
}

test(`the same blocks in ${ORDERS} random delivery orders give one state root`, async () => {
  const { blocks, root } = await buildBraid()
  assert.ok(blocks.length > 40, `a braid of ${blocks.length} blocks`)
  const rand = prng(12345)
  for (let run = 0; run < ORDERS; run++) {
    const order = blocks.slice()
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1))
      ;[order[i], order[j]] = [order[j], order[i]]
    }
    const fresh = await openLedger(genesis, testIdentity(1), { clock })
    for (const bytes of order) await fresh.receive(bytes)
    assert.is(fresh.size(), blocks.length, `run ${run}: every block appended`)
    assert.is(toHex(await fresh.stateRoot()), root, `run ${run}: state root`)
    await fresh.stop()
  }
})

test('a consent carried by two chains counts once toward credit, and consents are last-writer-wins by seq per purpose', async () => {
  const { peers } = await buildBraid()
  const patient = patientIdOf(testIdentity(60).publicKey)
  const credit = await peers[0].queries.credit(patient, 1_700_000_000_000)
  const history = await peers[0].queries.getPatientHashHistory(patient)
  const grants = new Set(history.filter(e => e.type === 'consent.grant' && e.tx.type === 'consent.grant' && e.tx.body.purpose !== 'treatment').map(e => toHex(e.txId)))
  assert.is(credit.breakdown.researchConsents + credit.breakdown.trainingConsents, grants.size)
  const consents = await peers[0].queries.consentsOf(patient)
  assert.ok(consents.length > 0)
  for (const c of consents) {
    // The txs that write this (grantee, purpose): its grants, its revokes, and revokes of every purpose.
    const same = history.filter(e => (e.tx.type === 'consent.grant' || e.tx.type === 'consent.revoke') &&
      toHex(e.tx.body.grantee) === toHex(c.grantee) && (e.tx.body.purpose ?? c.purpose) === c.purpose)
    const maxSeq = Math.max(...same.map(e => e.tx.seq))
    assert.is(c.seq, maxSeq, 'the highest seq wins, per purpose')
  }
  for (let i = 1; i < history.length; i++) assert.ok(history[i - 1].order <= history[i].order, 'history is in causal order')
})

test.run()
