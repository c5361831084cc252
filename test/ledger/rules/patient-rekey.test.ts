// The status rule of assisted recovery (ledger/rules/patient-rekey.ts, issue 16.3) on hand-made inputs:
// k custodian co-signatures (all custodians when fewer), never fewer than two hospitals, the
// waiting period from the signature that completed it, and vetoes counted only before effect.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rekeyStatus } from '../../../ledger/rules/patient-rekey.ts'
import type { Cosign, RekeyRecord, Veto } from '../../../ledger/rules/patient-rekey.ts'

const key = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const A = key(1)
const B = key(2)
const C = key(3)
const D = key(4)
const rule = { cosigners: 2, delayMs: 1000 }
const record = (hospital: Uint8Array): RekeyRecord => ({ tx: key(9), time: 100, old: key(7), key: key(8), patient: key(6), box: key(5), hospital })
const cosign = (hospital: Uint8Array, time: number): Cosign => ({ hospital, time, tx: key(time % 250) })
const veto = (time: number): Veto => ({ by: key(7), kind: 'patient', time, tx: key(11) })

function status (input: { by: Uint8Array, cosigns?: Cosign[], vetoes?: Veto[], custodians: Uint8Array[], now: number, k?: number }): { status: string, effectiveAt: number | null, neededCustodians: number } {
  const r = rekeyStatus({ record: record(input.by), cosigns: input.cosigns ?? [], vetoes: input.vetoes ?? [], custodians: input.custodians, rule: { ...rule, cosigners: input.k ?? 2 }, now: input.now })
  return { status: r.status, effectiveAt: r.effectiveAt, neededCustodians: r.neededCustodians }
}

test('one hospital alone never completes a request, custodian or not, however long it waits', () => {
  assert.equal(status({ by: A, custodians: [A], now: 1e12 }), { status: 'cosigning', effectiveAt: null, neededCustodians: 1 })
  assert.equal(status({ by: A, cosigns: [cosign(A, 200)], custodians: [A, B], now: 1e12 }).status, 'cosigning')
  // A patient with no images held anywhere: nothing for custodians to vouch for, so no request completes.
  assert.equal(status({ by: A, cosigns: [cosign(B, 200)], custodians: [], now: 1e12 }).status, 'cosigning')
})

test('k custodians co-sign, or every custodian when fewer; a non-custodian counts only as the second hospital', () => {
  // One custodian (B): B and the requesting hospital C suffice.
  assert.equal(status({ by: C, cosigns: [cosign(B, 300)], custodians: [B], now: 0 }), { status: 'waiting', effectiveAt: 1300, neededCustodians: 1 })
  // Three custodians, k = 2: A and B; C's signature (a non-custodian requester) does not replace one.
  assert.equal(status({ by: D, cosigns: [cosign(A, 200)], custodians: [A, B, C], now: 1e12 }).status, 'cosigning')
  assert.equal(status({ by: D, cosigns: [cosign(A, 200), cosign(B, 500)], custodians: [A, B, C], now: 1499 }), { status: 'waiting', effectiveAt: 1500, neededCustodians: 2 })
  assert.equal(status({ by: D, cosigns: [cosign(A, 200), cosign(B, 500)], custodians: [A, B, C], now: 1500 }).status, 'effective')
  // k = 3 with two custodians: both.
  assert.equal(status({ by: A, cosigns: [cosign(B, 400)], custodians: [A, B], now: 1400, k: 3 }), { status: 'effective', effectiveAt: 1400, neededCustodians: 2 })
})

test('a veto before the request takes effect ends it; one after changes nothing', () => {
  const base = { by: A, cosigns: [cosign(B, 400)], custodians: [A, B] }
  assert.is(status({ ...base, vetoes: [veto(50)], now: 0 }).status, 'vetoed', 'even before co-signing completes')
  assert.is(status({ ...base, vetoes: [veto(1399)], now: 1e12 }).status, 'vetoed')
  assert.is(status({ ...base, vetoes: [veto(1400)], now: 1e12 }).status, 'effective')
})

test('the order co-signatures arrive in does not matter', () => {
  const one = status({ by: D, cosigns: [cosign(B, 500), cosign(A, 200), cosign(C, 900)], custodians: [A, B, C], now: 0 })
  const two = status({ by: D, cosigns: [cosign(C, 900), cosign(A, 200), cosign(B, 500)], custodians: [A, B, C], now: 0 })
  assert.equal(one, two)
  assert.is(one.effectiveAt, 1500)
})

test.run()
