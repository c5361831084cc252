// The state machine: how each transaction changes the canonical state. Every rule is
// order-insensitive by construction (docs/design.md §4): adds are sets, conflicting adds keep the lowest
// tx id, consents are last-writer-wins by the patient's own seq per (grantee, purpose), counters
// count each tx once.
import { compare } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import type { DecodedTx, Purpose, TxBodies, TxOf } from '../../protocol/chain/tx.ts'
import { PURPOSES, patientIdOf } from '../../protocol/chain/tx.ts'
import { addTxId } from './causal.ts'
import { K, studyImageKey } from '../store/keys.ts'
import { txKeys } from '../store/tx-keys.ts'
import { accessLogKeys } from '../rules/access.ts'
import { applyRekey, rekeyKeysRead } from '../rules/rekey.ts'
import { addCustodian, applyPatientRekey, patientRekeyKeysRead } from '../rules/patient-rekey.ts'
import { applyEmergency, emergencyKeysRead } from '../rules/emergency.ts'
import { applyResearch, isResearchTx, researchKeysRead } from '../rules/research.ts'
import { applyStudyKey, grantStudyKeys, studyKeysRead } from '../rules/study.ts'

import type { TxContext, TxLocations } from '../data-types.ts'
import { BatchWriter } from '../store/batch-writer.ts'

export type { TxContext, TxLocations }
export { BatchWriter }

const EMPTY = new Uint8Array(0)

type Value = Record<string, unknown>

function getValue (w: BatchWriter, key: string): Value | undefined {
  const bytes = w.get(key)
  return bytes === undefined ? undefined : decode(bytes) as Value
}

/** Writes `value` unless a value whose `tx` id sorts lower is already there. */
function putLowestTx (w: BatchWriter, key: string, value: Value & { tx: Uint8Array }): boolean {
  const existing = getValue(w, key)
  if (existing !== undefined && compare(existing.tx as Uint8Array, value.tx) <= 0) return false
  w.put(key, encode(value))
  return true
}

/** Keeps the earliest time a patient id appeared: "exists since". */
function markPatient (w: BatchWriter, patient: Uint8Array, time: number): void {
  const existing = getValue(w, K.patient(patient))
  if (existing === undefined || (existing.since as number) > time) w.put(K.patient(patient), encode({ since: time }))
}

/** Records the event in the patient's history index, keeping its earliest causal position. */
function addHistory (w: BatchWriter, patient: Uint8Array, dtx: DecodedTx, ctx: TxContext): void {
  const key = K.history(patient, txKeys(dtx).idHex)
  const existing = getValue(w, key)
  if (existing !== undefined && (existing.order as number) <= ctx.order) return
  w.put(key, encode({ order: ctx.order, author: ctx.author, height: ctx.height, index: ctx.index, type: dtx.tx.type, time: dtx.tx.time }))
}

function addCredit (w: BatchWriter, patient: Uint8Array, field: 'research' | 'training'): void {
  const existing = getValue(w, K.credit(patient)) ?? { research: 0, training: 0 }
  w.put(K.credit(patient), encode({ ...existing, [field]: (existing[field] as number) + 1 }))
}

/** The state keys applying `dtx` will read: fetched ahead for a whole block at once. */
export function keysRead (dtx: DecodedTx): string[] {
  const { tx } = dtx
  const own = txKeys(dtx)
  const keys = [own.tx, own.seq]
  const patient = patientOf(dtx)
  if (patient !== null) keys.push(K.history(patient, own.idHex), K.patient(patient))
  switch (tx.type) {
    case 'account.register': keys.push(K.account(tx.body.user)); break
    case 'record.create': keys.push(K.record(tx.body.patient, tx.body.record), K.recordOwner(tx.body.patient, tx.body.record)); break
    case 'image.add':
      if (tx.body.record !== null) keys.push(K.recordOwner(tx.body.patient, tx.body.record))
      keys.push(K.image(tx.body.raw.toString(), tx.signer), K.imageOwner(tx.body.raw.toString(), tx.body.patient), K.custodians(tx.body.patient))
      if (tx.body.result !== null) keys.push(K.resultImage(tx.body.result.toString(), tx.signer))
      keys.push(...studyKeysRead(tx))
      break
    case 'study.key': keys.push(...studyKeysRead(tx)); break
    case 'consent.grant':
    case 'consent.revoke': {
      const patient = patientIdOf(tx.signer)
      keys.push(K.account(tx.signer), K.credit(patient), ...consentPurposes(tx).map(p => K.consent(patient, tx.body.grantee, p)))
      // What the consent rules look up (validate-consent.ts), fetched with the rest of the block.
      keys.push(K.account(tx.body.grantee))
      if (tx.type === 'consent.grant') {
        const images = [...tx.body.keys.map(k => k.image), ...(tx.body.scope.kind === 'images' ? tx.body.scope.images : [])]
        keys.push(...images.map(cid => K.imageOwner(cid.toString(), patient)), ...grantStudyKeys(tx, [patient]))
      }
      break
    }
    case 'model.publish': keys.push(K.model(tx.body.model.toString())); break
    case 'access.log': keys.push(...accessLogKeys(tx)); break
    case 'directory.set': keys.push(K.account(tx.body.subject), K.directory(tx.body.subject)); break
    case 'image.rekey': keys.push(...rekeyKeysRead(tx)); break
    case 'patient.rekey': keys.push(...patientRekeyKeysRead(tx), K.history(patientIdOf(tx.signer), dtx.id), K.patient(patientIdOf(tx.signer))); break
    case 'patient.cosign':
    case 'patient.veto':
    case 'patient.rewrap': keys.push(...patientRekeyKeysRead(tx)); break
    case 'emergency.role':
    case 'emergency.access':
    case 'emergency.review': keys.push(...emergencyKeysRead(tx)); break
    default: if (isResearchTx(dtx)) keys.push(...researchKeysRead(dtx)); break
  }
  return keys
}

/** Result of applying one transaction. */
export interface Applied { membership: boolean }

/**
 * Applies one validated transaction. Its location is always recorded; its effects apply only the
 * first time its id is seen, so the same tx carried by two chains counts once.
 */
export function applyTx (w: BatchWriter, dtx: DecodedTx, ctx: TxContext): Applied {
  const own = txKeys(dtx)
  const locKey = own.tx
  const known = w.get(locKey)
  const locations = known === undefined ? [] : decode(known) as TxLocations
  locations.push([ctx.author, ctx.height, ctx.index])
  locations.sort((a, b) => compare(a[0], b[0]) || a[1] - b[1] || a[2] - b[2])
  w.put(locKey, encode(locations))
  const { tx } = dtx
  if (known !== undefined) {
    historyOnly(w, dtx, ctx)
    return { membership: false }
  }
  addTxId(w, own.seq, dtx.id)
  const base = { tx: dtx.id, time: tx.time }
  switch (tx.type) {
    case 'member.propose': {
      const b = tx.body
      w.put(K.proposal(dtx.id), encode({ action: b.action, member: b.member, name: b.name, addrs: b.addrs, proposer: tx.signer, time: tx.time }))
      return { membership: true }
    }
    case 'member.approve':
      w.put(K.approval(tx.body.proposal, tx.signer), EMPTY)
      return { membership: true }
    case 'member.resolve': {
      const b = tx.body
      w.put(K.proposal(dtx.id), encode({ action: 'resolve', member: b.member, name: '', addrs: [], proposer: tx.signer, time: tx.time, height: b.height, keep: b.keep }))
      return { membership: true }
    }
    case 'account.register': {
      const b = tx.body
      putLowestTx(w, K.account(b.user), { ...base, role: b.role, box: b.box, hospital: b.hospital })
      if (b.role === 'patient') {
        w.put(K.patientAccount(patientIdOf(b.user)), b.user)
        markPatient(w, patientIdOf(b.user), tx.time)
        addHistory(w, patientIdOf(b.user), dtx, ctx)
      }
      return { membership: false }
    }
    case 'record.create':
      putLowestTx(w, K.record(tx.body.patient, tx.body.record), { ...base, hospital: tx.signer })
      addTxId(w, K.recordOwner(tx.body.patient, tx.body.record), dtx.id)
      markPatient(w, tx.body.patient, tx.time)
      addHistory(w, tx.body.patient, dtx, ctx)
      return { membership: false }
    case 'image.add':
      applyImage(w, tx.body, tx.signer, base)
      addHistory(w, tx.body.patient, dtx, ctx)
      return { membership: false }
    case 'consent.grant':
    case 'consent.revoke': {
      const patient = patientIdOf(tx.signer)
      applyConsent(w, patient, tx, dtx.id)
      w.put(K.granteeConsent(tx.body.grantee, patient), EMPTY)
      if (tx.type === 'consent.grant' && tx.body.purpose !== 'treatment') addCredit(w, patient, tx.body.purpose)
      addHistory(w, patient, dtx, ctx)
      return { membership: false }
    }
    case 'access.log': {
      const b = tx.body
      // `use` only when the entry carries one, so the state of entries from before uses keeps its bytes.
      w.put(K.access(b.patient, dtx.id), encode({ ...base, image: b.image, accessor: b.accessor, basis: b.basis, consent: b.consent, hospital: tx.signer, ...(b.use === undefined ? {} : { use: b.use }) }))
      addHistory(w, b.patient, dtx, ctx)
      return { membership: false }
    }
    case 'model.publish': {
      const b = tx.body
      putLowestTx(w, K.model(b.model.toString()), { ...base, task: b.task, round: b.round, metrics: b.metrics, participants: b.participants, hospital: tx.signer })
      return { membership: false }
    }
    case 'directory.set': {
      // Only the subject's own hospital may write it (validate.ts), so its seq orders the entries:
      // the latest wins whatever order blocks arrive in.
      const existing = getValue(w, K.directory(tx.body.subject))
      if (existing === undefined || (existing.seq as number) < tx.seq) {
        w.put(K.directory(tx.body.subject), encode({ ...base, seq: tx.seq, name: tx.body.name, department: tx.body.department, hospital: tx.signer }))
      }
      return { membership: false }
    }
    case 'study.key':
      applyStudyKey(w, tx, base)
      addHistory(w, tx.body.patient, dtx, ctx)
      return { membership: false }
    case 'image.rekey':
      applyRekey(w, tx, base)
      addHistory(w, tx.body.patient, dtx, ctx)
      return { membership: false }
    case 'patient.rekey':
      applyPatientRekey(w, tx, base)
      // The request is in the history of both patient ids: the old devices see it at once.
      addHistory(w, tx.body.old, dtx, ctx)
      addHistory(w, patientIdOf(tx.signer), dtx, ctx)
      markPatient(w, patientIdOf(tx.signer), tx.time)
      return { membership: false }
    case 'patient.cosign':
    case 'patient.veto':
    case 'patient.rewrap':
      applyPatientRekey(w, tx, base)
      addHistory(w, tx.body.patient, dtx, ctx)
      return { membership: false }
    case 'emergency.role':
      applyEmergency(w, tx, base)
      return { membership: false }
    case 'emergency.access':
    case 'emergency.review':
      applyEmergency(w, tx, base)
      // Shown in the patient's history (and portal) at once.
      addHistory(w, tx.body.patient, dtx, ctx)
      return { membership: false }
    case 'research.project':
    case 'research.decision':
    case 'research.export':
      if (isResearchTx(dtx)) for (const patient of applyResearch(w, dtx)) addHistory(w, patient, dtx, ctx)
      return { membership: false }
  }
}

/** The purposes a consent tx writes: a grant's own, a revoke's named one, or every purpose for a revoke without one. */
function consentPurposes (tx: TxOf<'consent.grant'> | TxOf<'consent.revoke'>): readonly Purpose[] {
  const purpose = tx.body.purpose
  return purpose === undefined ? PURPOSES : [purpose]
}

/**
 * Writes the consent record of each purpose the tx touches, where it wins: last-writer-wins by the
 * patient's seq, ties broken by the lower tx id. Each key is a max over the txs that name it, so
 * the result does not depend on the order they arrive in; a revoke of every purpose is simply one
 * write per purpose, each judged on its own.
 */
function applyConsent (w: BatchWriter, patient: Uint8Array, tx: TxOf<'consent.grant'> | TxOf<'consent.revoke'>, id: Uint8Array): void {
  for (const purpose of consentPurposes(tx)) {
    const key = K.consent(patient, tx.body.grantee, purpose)
    const existing = getValue(w, key)
    const wins = existing === undefined || (existing.seq as number) < tx.seq ||
      ((existing.seq as number) === tx.seq && compare(existing.tx as Uint8Array, id) > 0)
    if (!wins) continue
    const record: Value = tx.type === 'consent.grant'
      ? { ...tx.body, action: 'grant' }
      : { grantee: tx.body.grantee, purpose, action: 'revoke' }
    w.put(key, encode({ tx: id, time: tx.time, seq: tx.seq, ...record }))
  }
}

function applyImage (w: BatchWriter, b: TxBodies['image.add'], custodian: Uint8Array, base: { tx: Uint8Array, time: number }): void {
  const cid = b.raw.toString()
  putLowestTx(w, K.image(cid, custodian), { ...base, ...b, custodian })
  addTxId(w, K.imageOwner(cid, b.patient), base.tx)
  addCustodian(w, b.patient, custodian)
  if (b.record !== null) addTxId(w, K.recordOwner(b.patient, b.record), base.tx)
  w.put(K.patientImage(b.patient, cid, custodian), EMPTY)
  const study = studyImageKey(b, cid, custodian)
  if (study !== undefined) w.put(study, EMPTY)
  if (b.result !== null) {
    // One custodian naming one result CID for two raw images keeps the smallest raw CID.
    const key = K.resultImage(b.result.toString(), custodian)
    const held = w.get(key)
    const raw = new TextEncoder().encode(cid)
    if (held === undefined || compare(raw, held) < 0) w.put(key, raw)
  }
  markPatient(w, b.patient, base.time)
}

/** A tx already applied elsewhere may still sit earlier in causal order here: keep the earliest. */
function historyOnly (w: BatchWriter, dtx: DecodedTx, ctx: TxContext): void {
  const patient = patientOf(dtx)
  if (patient !== null) addHistory(w, patient, dtx, ctx)
}

/** The patient a transaction concerns, if any. */
export function patientOf (dtx: DecodedTx): Uint8Array | null {
  const { tx } = dtx
  switch (tx.type) {
    case 'record.create':
    case 'image.add':
    case 'study.key':
    case 'image.rekey':
    case 'access.log':
    case 'patient.cosign':
    case 'patient.veto':
    case 'patient.rewrap':
    case 'emergency.access':
    case 'emergency.review':
      return tx.body.patient
    case 'patient.rekey':
      return tx.body.old
    case 'consent.grant':
    case 'consent.revoke':
      return patientIdOf(tx.signer)
    case 'account.register':
      return tx.body.role === 'patient' ? patientIdOf(tx.body.user) : null
    default:
      return null
  }
}
