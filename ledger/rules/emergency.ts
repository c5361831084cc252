// Emergency access across hospitals (issue 16.4, docs/design.md §5 "Emergency access"): the ledger
// side. A hospital's admin gives its clinicians the emergency role (`emergency.role`); a custodian
// that releases a patient's keys in an emergency records `emergency.access`, naming the role
// grant it relied on, the clinician, their hospital and the end of the window; it reviews the
// release afterwards with `emergency.review`. Validation checks only what stays true once true
// (a grant exists, the custodian holds the images, the window is bounded), so every member
// judges a block alike; whether the role is still given is the releasing peer's check.
import { compare, equals } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { TxOf } from '../../protocol/chain/tx.ts'
import { K } from '../store/keys.ts'
import type { BatchWriter } from '../store/batch-writer.ts'
import type { LedgerStore } from '../store/store.ts'
import type { StateView } from '../data-types.ts'

/** Longest window an emergency release may name: one day (a shift and its handover). */
export const MAX_EMERGENCY_WINDOW_MS = 24 * 60 * 60_000

/** The three emergency transactions. */
export type EmergencyTx = TxOf<'emergency.role'> | TxOf<'emergency.access'> | TxOf<'emergency.review'>

/** The latest emergency role of a clinician, as their hospital set it. */
export interface EmergencyRole { role: 'allow' | 'deny', hospital: Uint8Array, seq: number, tx: Uint8Array, time: number }

/** A release of keys in an emergency, with its review once made. */
export interface EmergencyAccess {
  tx: Uint8Array
  time: number
  patient: Uint8Array
  accessor: Uint8Array
  hospital: Uint8Array
  custodian: Uint8Array
  until: number
  reason: Uint8Array
  review: { verdict: 'justified' | 'unjustified', time: number, tx: Uint8Array } | null
}

function read<T> (view: StateView, key: string): T | undefined {
  const bytes = view.get(key)
  return bytes === undefined ? undefined : decode(bytes) as T
}

/** The state keys validating and applying an emergency transaction read. */
export function emergencyKeysRead (tx: EmergencyTx): string[] {
  switch (tx.type) {
    case 'emergency.role': return [K.account(tx.body.subject), K.emergencyRole(tx.body.subject)]
    case 'emergency.access': return [K.custodians(tx.body.patient), K.account(tx.body.accessor), K.emergencyRoleTx(tx.body.role)]
    case 'emergency.review': return [K.emergency(tx.body.patient, tx.body.access), K.emergencyReview(tx.body.access)]
  }
}

/**
 * Throws LedgerRuleError unless the emergency transaction may stand in `author`'s block (signed by
 * the author, checked by validate.ts):
 * - `emergency.role`: its subject is a clinician the author registered (EMERGENCY_ROLE);
 * - `emergency.access`: the author holds the patient's images (EMERGENCY_NOT_CUSTODIAN); the
 *   accessor is a clinician of `hospital`, and `role` is that hospital's grant of the emergency
 *   role to them (EMERGENCY_ROLE); the window ends after the release and within a day (BAD_EMERGENCY);
 * - `emergency.review`: of a release the author itself recorded (EMERGENCY_UNKNOWN).
 */
export function checkEmergency (tx: EmergencyTx, author: Uint8Array, view: StateView): void {
  switch (tx.type) {
    case 'emergency.role': {
      const a = read<{ role: string, hospital: Uint8Array }>(view, K.account(tx.body.subject))
      if (a === undefined || a.role !== 'clinician' || !equals(a.hospital, author)) throw new LedgerRuleError('EMERGENCY_ROLE', 'a hospital gives the emergency role only to clinicians it registered')
      return
    }
    case 'emergency.access': {
      const b = tx.body
      const custodians = read<Uint8Array[]>(view, K.custodians(b.patient)) ?? []
      if (!custodians.some(c => equals(c, author))) throw new LedgerRuleError('EMERGENCY_NOT_CUSTODIAN', 'only a hospital holding the patient\'s images releases them in an emergency')
      const a = read<{ role: string, hospital: Uint8Array }>(view, K.account(b.accessor))
      if (a === undefined || a.role !== 'clinician' || !equals(a.hospital, b.hospital)) throw new LedgerRuleError('EMERGENCY_ROLE', 'the accessor is a clinician of the hospital named')
      const grant = read<{ subject: Uint8Array, role: string, hospital: Uint8Array }>(view, K.emergencyRoleTx(b.role))
      if (grant === undefined || grant.role !== 'allow' || !equals(grant.subject, b.accessor) || !equals(grant.hospital, b.hospital)) {
        throw new LedgerRuleError('EMERGENCY_ROLE', 'the release must name the grant of the emergency role to this clinician by their hospital')
      }
      if (b.until <= tx.time || b.until - tx.time > MAX_EMERGENCY_WINDOW_MS) throw new LedgerRuleError('BAD_EMERGENCY', `the window must end after the release and within ${MAX_EMERGENCY_WINDOW_MS / 3_600_000} hours`)
      return
    }
    case 'emergency.review': {
      const access = read<EmergencyAccess>(view, K.emergency(tx.body.patient, tx.body.access))
      if (access === undefined || !equals(access.custodian, author)) throw new LedgerRuleError('EMERGENCY_UNKNOWN', 'a hospital reviews only the emergency releases it recorded')
    }
  }
}

/** Applies a validated emergency transaction (history entries are state/state.ts's). */
export function applyEmergency (w: BatchWriter, tx: EmergencyTx, base: { tx: Uint8Array, time: number }): void {
  switch (tx.type) {
    case 'emergency.role': {
      // Only the subject's own hospital writes it, so its seq orders the grants and withdrawals.
      const held = w.get(K.emergencyRole(tx.body.subject))
      if (held === undefined || (decode(held) as EmergencyRole).seq < tx.seq) {
        w.put(K.emergencyRole(tx.body.subject), encode({ role: tx.body.role, hospital: tx.signer, seq: tx.seq, ...base }))
      }
      w.put(K.emergencyRoleTx(base.tx), encode({ subject: tx.body.subject, role: tx.body.role, hospital: tx.signer }))
      return
    }
    case 'emergency.access': {
      const b = tx.body
      // A review needs its release in the state first (checkEmergency), so a new release has none.
      const record: EmergencyAccess = { ...base, patient: b.patient, accessor: b.accessor, hospital: b.hospital, custodian: tx.signer, until: b.until, reason: b.reason, review: null }
      w.put(K.emergency(b.patient, base.tx), encode(record))
      return
    }
    case 'emergency.review': {
      const key = K.emergency(tx.body.patient, tx.body.access)
      const held = w.get(key)
      if (held === undefined) return
      const access = decode(held) as EmergencyAccess
      // A later review (by the custodian's seq, carried in its time and id order) replaces an earlier one.
      if (access.review === null || access.review.time < base.time || (access.review.time === base.time && compare(access.review.tx, base.tx) > 0)) {
        w.put(key, encode({ ...access, review: { verdict: tx.body.verdict, ...base } }))
      }
    }
  }
}

/** Reads of emergency roles and releases. */
export function createEmergencyQueries (store: LedgerStore) {
  async function list (prefix: string): Promise<EmergencyAccess[]> {
    const out: EmergencyAccess[] = []
    for await (const [, bytes] of store.entries(prefix)) out.push(decode(bytes) as EmergencyAccess)
    return out.sort((a, b) => a.time - b.time)
  }
  return {
    /** The clinician's latest emergency role and the grant's tx id, or undefined when never given. */
    async role (subject: Uint8Array): Promise<EmergencyRole | undefined> {
      const bytes = await store.get(K.emergencyRole(subject))
      return bytes === undefined ? undefined : decode(bytes) as EmergencyRole
    },
    /** Emergency releases of one patient's images, oldest first. */
    async of (patient: Uint8Array): Promise<EmergencyAccess[]> {
      return await list(K.emergencyPatientPrefix(patient))
    },
    /** Every emergency release, oldest first (a custodian's review page filters its own). */
    async all (): Promise<EmergencyAccess[]> {
      return await list(K.emergencyPrefix)
    }
  }
}
