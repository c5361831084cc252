// The custodian's study keys (docs/design.md §5 "Study keys"): the first instance of a patient's
// study ingested here records a fresh study key on the ledger (`study.key`, wrapped for the
// patient and this hospital), and every instance of the study seals its data keys under it. The
// key is read back from the ledger (this hospital's own wrapped copy) after a restart, so nothing
// but the ledger holds it durably.
import { equals, toHex } from '../../protocol/bytes.ts'
import { newStudyKey, sealUnderStudyKey } from '../../protocol/study-key.ts'
import type { StudySeal } from '../../protocol/study-tx.ts'
import type { Ledger } from '../../ledger/types.ts'
import { nodeBoxKeyOf, nodeUnwrapKey, nodeWrapKey } from './node-box.ts'
import type { HospitalBox } from './reader-keys.ts'

/** What the study keys use. */
export interface StudyKeysComponents { ledger: Ledger, box: HospitalBox }

/** Study keys held in memory, most recent last: one per study being ingested, a few KB in all. */
const KEPT = 1024

/** This hospital's study keys: the seal of each instance's data keys under its study's key. */
export interface StudyKeys {
  /**
   * The `study` seal of an instance of `patient`'s study `record` whose raw (and result) data keys
   * are given: the study's key is made and recorded first if this hospital has none for it yet.
   */
  seal: (input: { patient: Uint8Array, patientBox: Uint8Array, record: Uint8Array, raw: { cid: Uint8Array, key: Uint8Array }, result: { cid: Uint8Array, key: Uint8Array } | null }) => Promise<StudySeal>
}

/** The study keys of one peer. */
export function createStudyKeys (c: StudyKeysComponents): StudyKeys {
  const held = new Map<string, Promise<{ kid: Uint8Array, key: Uint8Array }>>()

  /** This hospital's key for the study from the ledger, or a new one recorded there. */
  async function load (patient: Uint8Array, patientBox: Uint8Array, record: Uint8Array): Promise<{ kid: Uint8Array, key: Uint8Array }> {
    const own = (await c.ledger.queries.studyKeysOf(patient, record)).filter(k => equals(k.custodian, c.ledger.self))
    for (const k of own) {
      const mine = k.keys.find(w => equals(w.to, c.box.publicKey))
      // A key recorded for another box of the patient (an older account) is left alone: a new one serves this box.
      if (mine !== undefined && k.keys.some(w => equals(w.to, patientBox))) return { kid: k.kid, key: nodeUnwrapKey(mine.key, nodeBoxKeyOf(c.box)) }
    }
    const fresh = newStudyKey()
    await c.ledger.submitOwn('study.key', {
      patient, record, kid: fresh.kid,
      keys: [{ to: patientBox, key: nodeWrapKey(fresh.key, patientBox) }, { to: c.box.publicKey, key: nodeWrapKey(fresh.key, c.box.publicKey) }]
    })
    return fresh
  }

  /** The study key, loaded or made once however many instances of the study arrive at once. */
  async function keyOf (patient: Uint8Array, patientBox: Uint8Array, record: Uint8Array): Promise<{ kid: Uint8Array, key: Uint8Array }> {
    const name = `${toHex(patient)}:${toHex(record)}:${toHex(patientBox)}`
    let key = held.get(name)
    if (key === undefined) {
      key = load(patient, patientBox, record)
      if (held.size >= KEPT) held.delete(held.keys().next().value as string)
      held.set(name, key)
      // A failure (a full disk) is not kept: the next instance tries again.
      key.catch(() => { if (held.get(name) === key) held.delete(name) })
    }
    return await key
  }

  return {
    async seal (input) {
      const { kid, key } = await keyOf(input.patient, input.patientBox, input.record)
      return {
        kid,
        raw: sealUnderStudyKey(input.raw.key, 'raw', input.raw.cid, key),
        result: input.result === null ? null : sealUnderStudyKey(input.result.key, 'result', input.result.cid, key)
      }
    }
  }
}
