// The custodian's study keys (docs/design.md §5 "Study keys"): the first instance of a patient's
// study ingested here records a fresh study key on the ledger (`study.key`, wrapped for the
// patient and this hospital), and every instance of the study seals its data keys under it. The
// key is read back from the ledger (this hospital's own wrapped copy) after a restart, so nothing
// but the ledger holds it durably.
import { compare, equals, toHex } from '../../protocol/bytes.ts'
import { newStudyKey, sealUnderStudyKey } from '../../protocol/crypto/study-key.ts'
import type { StudySeal } from '../../protocol/chain/study-tx.ts'
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
  seal: (input: SealInput) => Promise<StudySeal>
  /**
   * Records a fresh study key for the study and seals under it from now on: after "revoke and
   * re-key" the old key was in grantees' hands, so the re-keyed instances and every later one of
   * the study use a new one. Returns the seal function of the new key.
   */
  renew: (patient: Uint8Array, patientBox: Uint8Array, record: Uint8Array) => Promise<(input: Omit<SealInput, 'patient' | 'patientBox' | 'record'>) => StudySeal>
}

/** One instance to seal: its patient and study, and its parts' data keys with its raw CID. */
export interface SealInput { patient: Uint8Array, patientBox: Uint8Array, record: Uint8Array, raw: { cid: Uint8Array, key: Uint8Array }, result: { cid: Uint8Array, key: Uint8Array } | null }

/** The seal of one instance's keys under `key` (id `kid`). */
function sealWith (kid: Uint8Array, key: Uint8Array, input: Omit<SealInput, 'patient' | 'patientBox' | 'record'>): StudySeal {
  return {
    kid,
    raw: sealUnderStudyKey(input.raw.key, 'raw', input.raw.cid, key),
    result: input.result === null ? null : sealUnderStudyKey(input.result.key, 'result', input.result.cid, key)
  }
}

/** The study keys of one peer. */
export function createStudyKeys (c: StudyKeysComponents): StudyKeys {
  const held = new Map<string, Promise<{ kid: Uint8Array, key: Uint8Array }>>()

  /** Records a new study key for the study. */
  async function create (patient: Uint8Array, patientBox: Uint8Array, record: Uint8Array): Promise<{ kid: Uint8Array, key: Uint8Array }> {
    const fresh = newStudyKey()
    await c.ledger.submitOwn('study.key', {
      patient, record, kid: fresh.kid,
      keys: [{ to: patientBox, key: nodeWrapKey(fresh.key, patientBox) }, { to: c.box.publicKey, key: nodeWrapKey(fresh.key, c.box.publicKey) }]
    })
    return fresh
  }

  /** This hospital's latest key for the study from the ledger, or a new one recorded there. */
  async function load (patient: Uint8Array, patientBox: Uint8Array, record: Uint8Array): Promise<{ kid: Uint8Array, key: Uint8Array }> {
    const own = (await c.ledger.queries.studyKeysOf(patient, record)).filter(k => equals(k.custodian, c.ledger.self))
    // The latest first: a key renewed after "revoke and re-key" replaces the one handed out before.
    own.sort((a, b) => b.time - a.time || compare(b.tx, a.tx))
    for (const k of own) {
      const mine = k.keys.find(w => equals(w.to, c.box.publicKey))
      // A key recorded for another box of the patient (an older account) is left alone: a new one serves this box.
      if (mine !== undefined && k.keys.some(w => equals(w.to, patientBox))) return { kid: k.kid, key: nodeUnwrapKey(mine.key, nodeBoxKeyOf(c.box)) }
    }
    return await create(patient, patientBox, record)
  }

  const nameOf = (patient: Uint8Array, patientBox: Uint8Array, record: Uint8Array): string => `${toHex(patient)}:${toHex(record)}:${toHex(patientBox)}`

  /** The study key, loaded or made once however many instances of the study arrive at once. */
  async function keyOf (patient: Uint8Array, patientBox: Uint8Array, record: Uint8Array): Promise<{ kid: Uint8Array, key: Uint8Array }> {
    const name = nameOf(patient, patientBox, record)
    let key = held.get(name)
    if (key === undefined) {
      key = load(patient, patientBox, record)
      keep(name, key)
    }
    return await key
  }

  /** Holds a study key under its name; a failure (a full disk) is not kept: the next instance tries again. */
  function keep (name: string, key: Promise<{ kid: Uint8Array, key: Uint8Array }>): void {
    held.delete(name)
    if (held.size >= KEPT) held.delete(held.keys().next().value as string)
    held.set(name, key)
    key.catch(() => { if (held.get(name) === key) held.delete(name) })
  }

  return {
    async seal (input) {
      const { kid, key } = await keyOf(input.patient, input.patientBox, input.record)
      return sealWith(kid, key, input)
    },
    async renew (patient, patientBox, record) {
      const key = create(patient, patientBox, record)
      keep(nameOf(patient, patientBox, record), key)
      const fresh = await key
      return (input) => sealWith(fresh.kid, fresh.key, input)
    }
  }
}
