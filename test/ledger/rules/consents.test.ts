// Consents per (patient, grantee, purpose) (docs/design.md §5): each purpose is granted and revoked on
// its own, a revoke without a purpose ends every purpose, and the state stays order-insensitive:
// the same consent transactions applied in any order give the same records and state root.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { Level } from 'level'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { patientIdOf } from '../../../protocol/chain/tx.ts'
import type { Purpose, Tx } from '../../../protocol/chain/tx.ts'
import type { ConsentRecord } from '../../../ledger/queries/queries.ts'
import { SCHEMA_VERSION } from '../../../ledger/store/store.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeTx, openLedger, registerBody, tempDir, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B, C] } = testConsortium(3)
const id = ledgerIdOf(genesis)
const patient = testIdentity(70)
const pid = patientIdOf(patient.publicKey)
const TIME = 1_700_000_000_000
/** The peers' clock: a minute after the transactions were signed (TX_TIME binds them to their block). */
const clock = (): number => TIME + 60_000
test.after.each(cleanup)

const register = makeTx(id, A, 'account.register', registerBody(id, patient, A), 0, TIME)
const grant = (grantee: Uint8Array, purpose: Purpose, seq: number): Tx =>
  makeTx(id, patient, 'consent.grant', { grantee, kind: 'hospital', purpose, scope: { kind: 'all' }, expires: 1_900_000_000_000, keys: [] }, seq, TIME + seq)
const revoke = (grantee: Uint8Array, seq: number, purpose?: Purpose): Tx =>
  makeTx(id, patient, 'consent.revoke', purpose === undefined ? { grantee } : { grantee, purpose }, seq, TIME + seq)

/** A fresh ledger at A with the patient registered. */
async function fresh (): Promise<Ledger> {
  const ledger = await openLedger(genesis, A, { clock })
  await ledger.submit(register)
  return ledger
}

/** The patient's consents as `grantee-prefix:purpose → action@seq`, for comparing whole states. */
function summary (consents: ConsentRecord[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const c of consents) out[`${toHex(c.grantee).slice(0, 8)}:${c.purpose}`] = `${c.action}@${c.seq}`
  return out
}

const byPurpose = (consents: ConsentRecord[], grantee: Uint8Array, purpose: Purpose): ConsentRecord | undefined =>
  consents.find(c => c.purpose === purpose && toHex(c.grantee) === toHex(grantee))

test('a grant for training keeps the grantee\'s treatment consent; each purpose is revoked on its own', async () => {
  const ledger = await fresh()
  await ledger.submit(grant(B.publicKey, 'treatment', 1))
  await ledger.submit(grant(B.publicKey, 'training', 2))
  let consents = await ledger.queries.consentsOf(pid)
  assert.is(byPurpose(consents, B.publicKey, 'treatment')?.action, 'grant', 'treatment still granted')
  assert.is(byPurpose(consents, B.publicKey, 'training')?.action, 'grant', 'training granted')
  assert.is(consents.length, 2, 'one record per (grantee, purpose)')

  await ledger.submit(revoke(B.publicKey, 3, 'training'))
  consents = await ledger.queries.consentsOf(pid)
  assert.is(byPurpose(consents, B.publicKey, 'treatment')?.action, 'grant', 'revoking training leaves treatment')
  const revoked = byPurpose(consents, B.publicKey, 'training')
  assert.is(revoked?.action, 'revoke')
  assert.is(revoked?.purpose, 'training', 'a revoke record carries its purpose')

  await ledger.submit(revoke(B.publicKey, 4))
  consents = await ledger.queries.consentsOf(pid)
  assert.equal(consents.map(c => [c.purpose, c.action, c.seq]).sort(), [['research', 'revoke', 4], ['training', 'revoke', 4], ['treatment', 'revoke', 4]], 'a revoke without purpose ends every purpose')

  const forB = await ledger.queries.consentsFor(B.publicKey)
  assert.is(forB.length, 3, 'consentsFor lists one record per purpose')
  assert.ok(forB.every(x => toHex(x.patient) === toHex(pid)))
  assert.is((await ledger.queries.consentsFor(C.publicKey)).length, 0, 'another grantee has none')
})

test('a revoke loses to a grant of the same purpose with a higher seq, and beats lower ones', async () => {
  const ledger = await fresh()
  await ledger.submit(grant(B.publicKey, 'research', 5))
  await ledger.submit(revoke(B.publicKey, 3))
  await ledger.submit(grant(B.publicKey, 'treatment', 2))
  const consents = await ledger.queries.consentsOf(pid)
  assert.is(byPurpose(consents, B.publicKey, 'research')?.action, 'grant', 'a newer grant survives an older revoke-all')
  assert.is(byPurpose(consents, B.publicKey, 'treatment')?.seq, 3, 'an older grant arriving late stays revoked')
  assert.is(byPurpose(consents, B.publicKey, 'treatment')?.action, 'revoke')
})

/** Grant/revoke-all/revoke-one/grant sequences for two grantees, with the state they must end in. */
const SCRIPT: Tx[] = [
  grant(B.publicKey, 'treatment', 1), grant(B.publicKey, 'training', 2), revoke(B.publicKey, 3, 'training'),
  revoke(B.publicKey, 4), grant(B.publicKey, 'research', 5), grant(B.publicKey, 'treatment', 6), revoke(B.publicKey, 7, 'research'),
  grant(C.publicKey, 'training', 8), revoke(C.publicKey, 9), grant(C.publicKey, 'training', 10), revoke(C.publicKey, 11, 'treatment'),
  grant(C.publicKey, 'research', 12)
]

/** mulberry32, so a failing order can be reproduced from its seed. */
function prng (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

test('the same consent transactions in any order give the same consents and state root', async () => {
  const rand = prng(99)
  const orders = [SCRIPT, SCRIPT.slice().reverse()]
  for (let i = 0; i < 10; i++) {
    const order = SCRIPT.slice()
    for (let j = order.length - 1; j > 0; j--) {
      const k = Math.floor(rand() * (j + 1))
      ;[order[j], order[k]] = [order[k], order[j]]
    }
    orders.push(order)
  }
  let first: { root: string, consents: Record<string, string>, credit: unknown } | null = null
  for (const [run, order] of orders.entries()) {
    const ledger = await fresh()
    for (const tx of order) await ledger.submit(tx)
    const state = {
      root: toHex(await ledger.stateRoot()),
      consents: summary(await ledger.queries.consentsOf(pid)),
      credit: (await ledger.queries.credit(pid, TIME)).breakdown
    }
    if (first === null) first = state
    else assert.equal(state, first, `order ${run}`)
    await ledger.stop()
  }
  const b = toHex(B.publicKey).slice(0, 8)
  const c = toHex(C.publicKey).slice(0, 8)
  const consents = first?.consents ?? {}
  assert.is(consents[`${b}:treatment`], 'grant@6')
  assert.is(consents[`${b}:training`], 'revoke@4')
  assert.is(consents[`${b}:research`], 'revoke@7')
  assert.is(consents[`${c}:training`], 'grant@10')
  assert.is(consents[`${c}:treatment`], 'revoke@11')
  assert.is(consents[`${c}:research`], 'grant@12', 'a grant after a revoke of every purpose is live')
  assert.equal(first?.credit, { researchConsents: 2, trainingConsents: 3, imagesContributed: 0, monthsInGoodStanding: 0 }, 'each grant counts once')
})

test('two peers that receive the consents in different orders agree after syncing', async () => {
  const [x, y] = [await openLedger(genesis, A, { clock }), await openLedger(genesis, B, { clock })]
  await x.submit(register)
  for (const bytes of await x.blocksAfter(y.heads(), 10_000)) await y.receive(bytes)
  const half = Math.ceil(SCRIPT.length / 2)
  // Each peer writes a different half first, in opposite orders, then they swap blocks.
  for (const tx of SCRIPT.slice(0, half)) await x.submit(tx)
  for (const tx of SCRIPT.slice(half).reverse()) await y.submit(tx)
  for (const bytes of await x.blocksAfter(y.heads(), 10_000)) await y.receive(bytes)
  for (const bytes of await y.blocksAfter(x.heads(), 10_000)) await x.receive(bytes)
  assert.is(toHex(await x.stateRoot()), toHex(await y.stateRoot()))
  assert.equal(summary(await x.queries.consentsOf(pid)), summary(await y.queries.consentsOf(pid)))
})

test('a ledger folder of a previous schema (no custodian sets) is refused', async () => {
  const path = await tempDir()
  const ledger = await openLedger(genesis, A, { path, clock })
  await ledger.stop()
  assert.is(SCHEMA_VERSION, '4')
  const db = new Level<string, string>(path)
  await db.put('meta:schema', '3')
  await db.close()
  await rejects(async () => await openLedger(genesis, A, { path, clock }), 'SCHEMA_VERSION')
})

test.run()
