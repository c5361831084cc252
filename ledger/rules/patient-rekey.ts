// Assisted recovery of a patient's key (issue 16.3, docs/design.md §5 "Assisted recovery"): the
// rules of `patient.rekey`, `patient.cosign`, `patient.veto` and `patient.rewrap`, their effect on
// the state, and the status of a request, which is a pure function of the state and the time.
// Validation checks only what never changes once true (the request exists, the signer is a
// custodian or the old key), so every member judges a block alike whatever else it holds; when a
// request takes effect (enough custodians co-signed, then the waiting period passed without a
// veto) is decided at read time from the same state on every peer.
import { compare, equals } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { RecoveryRule } from '../../protocol/chain/genesis.ts'
import { patientIdOf } from '../../protocol/chain/tx.ts'
import type { TxOf, WrappedKeys } from '../../protocol/chain/tx.ts'
import { K } from '../store/keys.ts'
import type { ImageRecord } from '../data-types.ts'
import type { BatchWriter } from '../store/batch-writer.ts'
import type { LedgerStore } from '../store/store.ts'
import type { StateView } from '../data-types.ts'

/** An assisted-recovery request as the state keeps it: old patient id, new key and its patient id. */
export interface RekeyRecord { tx: Uint8Array, time: number, old: Uint8Array, key: Uint8Array, patient: Uint8Array, box: Uint8Array, hospital: Uint8Array }

/** A hospital's co-signature (the requesting hospital's is implied, at the request's time). */
export interface Cosign { hospital: Uint8Array, time: number, tx: Uint8Array }

/** A veto: by the old key (`patient`) or by a custodian hospital. */
export interface Veto { by: Uint8Array, kind: 'patient' | 'custodian', time: number, tx: Uint8Array }

/**
 * Where a request stands: waiting for co-signers, in its waiting period, in effect, or vetoed
 * (a veto made before it took effect; one made later changes nothing).
 */
export type RekeyStatus = 'cosigning' | 'waiting' | 'effective' | 'vetoed'

/** A request with everything a reader needs to judge it. */
export interface RekeyView extends RekeyRecord {
  cosigners: Cosign[]
  vetoes: Veto[]
  custodians: Uint8Array[]
  /** Custodian co-signatures needed: k, or every custodian when there are fewer. */
  neededCustodians: number
  status: RekeyStatus
  /** When it takes (or took) effect, once enough hospitals co-signed; else null. */
  effectiveAt: number | null
}

/** The four recovery transactions. */
export type RecoveryTx = TxOf<'patient.rekey'> | TxOf<'patient.cosign'> | TxOf<'patient.veto'> | TxOf<'patient.rewrap'>

const EMPTY = new Uint8Array(0)

function read<T> (view: StateView, key: string): T | undefined {
  const bytes = view.get(key)
  return bytes === undefined ? undefined : decode(bytes) as T
}

/** Hospitals holding the patient's images, as recorded by image.add. */
function custodiansIn (view: StateView, patient: Uint8Array): Uint8Array[] {
  return read<Uint8Array[]>(view, K.custodians(patient)) ?? []
}

/**
 * The status of a request at `now`. The hospitals that signed it are taken in time order; it is
 * complete at the first moment when at least two distinct hospitals signed (no single hospital
 * rekeys a patient) and at least min(k, custodians) of them hold the patient's images. It takes
 * effect `delayMs` later unless a veto came first.
 */
export function rekeyStatus (input: { record: RekeyRecord, cosigns: Cosign[], vetoes: Veto[], custodians: Uint8Array[], rule: RecoveryRule, now: number }): Pick<RekeyView, 'status' | 'effectiveAt' | 'neededCustodians' | 'cosigners'> {
  const { record, rule, custodians } = input
  const all = [{ hospital: record.hospital, time: record.time, tx: record.tx }, ...input.cosigns]
    .sort((a, b) => a.time - b.time || compare(a.hospital, b.hospital))
  const cosigners: Cosign[] = []
  for (const c of all) if (!cosigners.some(x => equals(x.hospital, c.hospital))) cosigners.push(c)
  const neededCustodians = Math.min(rule.cosigners, custodians.length)
  let completeAt: number | null = null
  let held = 0
  for (let i = 0; i < cosigners.length && completeAt === null; i++) {
    if (custodians.some(c => equals(c, cosigners[i].hospital))) held++
    if (i + 1 >= 2 && held >= neededCustodians && custodians.length > 0) completeAt = cosigners[i].time
  }
  const effectiveAt = completeAt === null ? null : completeAt + rule.delayMs
  const vetoed = input.vetoes.some(v => effectiveAt === null || v.time < effectiveAt)
  const status: RekeyStatus = vetoed ? 'vetoed' : effectiveAt === null ? 'cosigning' : input.now >= effectiveAt ? 'effective' : 'waiting'
  return { status, effectiveAt, neededCustodians, cosigners }
}

/** The state keys validating and applying a recovery transaction read. */
export function patientRekeyKeysRead (tx: RecoveryTx): string[] {
  switch (tx.type) {
    case 'patient.rekey': return [K.patientAccount(tx.body.old), K.account(tx.signer), K.patientAccount(patientIdOf(tx.signer)), K.rekeyFormer(patientIdOf(tx.signer))]
    case 'patient.cosign': return [K.rekey(tx.body.rekey), K.custodians(tx.body.patient), K.rekeyCosign(tx.body.rekey, tx.signer)]
    case 'patient.veto': return [K.rekey(tx.body.rekey), K.custodians(tx.body.patient), K.account(tx.signer)]
    case 'patient.rewrap': return [
      K.rekey(tx.body.rekey), ...tx.body.images.flatMap(i => [K.image(i.raw.toString(), tx.signer), K.rewrap(tx.body.rekey, i.raw.toString(), tx.signer)]),
      ...(tx.body.studies ?? []).flatMap(s => [K.studyKey(tx.body.patient, s.record, tx.signer, s.kid), K.rewrapStudy(tx.body.rekey, s.record, tx.signer, s.kid)])
    ]
  }
}

/** The request a co-signature, veto or re-wrap names, checked against the patient it claims. */
function requestOf (view: StateView, rekey: Uint8Array, patient: Uint8Array): RekeyRecord {
  const record = read<RekeyRecord>(view, K.rekey(rekey))
  if (record === undefined || !equals(record.old, patient)) throw new LedgerRuleError('REKEY_UNKNOWN', 'no assisted-recovery request of this patient has this id')
  return record
}

/**
 * Throws LedgerRuleError unless the recovery transaction may stand in a block by `author`:
 * - `patient.rekey`: names the author as its hospital, an old patient id registered on the ledger
 *   and a new key other than the old one (the signature by the new key is its proof of possession);
 * - `patient.cosign` and `patient.rewrap`: signed by the author, a custodian of the patient's images
 *   (REKEY_NOT_CUSTODIAN); a re-wrap only of its own images of the patient, for the new box key;
 * - `patient.veto`: by a custodian (the author), or by the old key itself (REKEY_VETO_SIGNER).
 */
export function checkPatientRekey (tx: RecoveryTx, author: Uint8Array, view: StateView): void {
  const byAuthor = equals(tx.signer, author)
  switch (tx.type) {
    case 'patient.rekey': {
      if (!equals(tx.body.hospital, author)) throw new LedgerRuleError('UNAUTHORISED_SIGNER', 'patient.rekey must name the hospital whose block carries it')
      if (view.get(K.patientAccount(tx.body.old)) === undefined) throw new LedgerRuleError('REKEY_UNKNOWN', 'patient.rekey names a patient id that is not registered')
      if (equals(patientIdOf(tx.signer), tx.body.old)) throw new LedgerRuleError('BAD_REKEY', 'the new key must differ from the old one')
      if (view.get(K.account(tx.signer)) !== undefined) throw new LedgerRuleError('BAD_REKEY', 'the new key is already registered')
      return
    }
    case 'patient.cosign': {
      if (!byAuthor) throw new LedgerRuleError('UNAUTHORISED_SIGNER', 'patient.cosign must be signed by the hospital whose block carries it')
      requestOf(view, tx.body.rekey, tx.body.patient)
      if (!custodiansIn(view, tx.body.patient).some(c => equals(c, tx.signer))) throw new LedgerRuleError('REKEY_NOT_CUSTODIAN', 'only a hospital that holds the patient\'s images co-signs')
      return
    }
    case 'patient.veto': {
      requestOf(view, tx.body.rekey, tx.body.patient)
      if (byAuthor && custodiansIn(view, tx.body.patient).some(c => equals(c, tx.signer))) return
      const account = read<{ role: string }>(view, K.account(tx.signer))
      if (!byAuthor && account?.role === 'patient' && equals(patientIdOf(tx.signer), tx.body.patient)) return
      throw new LedgerRuleError('REKEY_VETO_SIGNER', 'a veto comes from the old key or from a hospital that holds the patient\'s images')
    }
    case 'patient.rewrap': {
      if (!byAuthor) throw new LedgerRuleError('UNAUTHORISED_SIGNER', 'patient.rewrap must be signed by the hospital whose block carries it')
      const record = requestOf(view, tx.body.rekey, tx.body.patient)
      for (const i of tx.body.images) {
        const image = read<ImageRecord>(view, K.image(i.raw.toString(), tx.signer))
        if (image === undefined || !equals(image.patient, tx.body.patient)) throw new LedgerRuleError('REKEY_NOT_CUSTODIAN', 'patient.rewrap names an image its signer does not hold for this patient')
        if (!equals(i.keys.to, record.box)) throw new LedgerRuleError('BAD_REWRAP', 'patient.rewrap wraps keys for another key than the new one')
        if ((image.result === null) !== (i.keys.result === null)) throw new LedgerRuleError('BAD_REWRAP', 'patient.rewrap must wrap the result key exactly when the image has a result')
      }
      // Study keys too (docs/design.md §5 "Study keys"): only the signer's own, of this patient's studies.
      for (const s of tx.body.studies ?? []) {
        if (view.get(K.studyKey(tx.body.patient, s.record, tx.signer, s.kid)) === undefined) throw new LedgerRuleError('REKEY_NOT_CUSTODIAN', 'patient.rewrap names a study key its signer did not record for this patient')
      }
    }
  }
}

/** Applies a validated recovery transaction (its history entries are written by state/state.ts). */
export function applyPatientRekey (w: BatchWriter, tx: RecoveryTx, base: { tx: Uint8Array, time: number }): void {
  switch (tx.type) {
    case 'patient.rekey': {
      const patient = patientIdOf(tx.signer)
      const record: RekeyRecord = { ...base, old: tx.body.old, key: tx.signer, patient, box: tx.body.box, hospital: tx.body.hospital }
      w.put(K.rekey(base.tx), encode(record))
      w.put(K.rekeyByOld(tx.body.old, base.tx), EMPTY)
      w.put(K.rekeyByNew(patient, base.tx), EMPTY)
      // The new key is a patient of the requesting hospital from now on; what it may do with the
      // old patient's images and consents waits for the request to take effect.
      const held = w.get(K.account(tx.signer))
      if (held === undefined || compare((decode(held) as { tx: Uint8Array }).tx, base.tx) > 0) {
        w.put(K.account(tx.signer), encode({ ...base, role: 'patient', box: tx.body.box, hospital: tx.body.hospital }))
      }
      w.put(K.patientAccount(patient), tx.signer)
      // The old ids this key asked for: the consent rules let it name their images (validate-consent.ts).
      const former = formerOf(w, patient)
      if (!former.some(f => equals(f.tx, base.tx))) w.put(K.rekeyFormer(patient), encode([...former, { old: tx.body.old, tx: base.tx }].sort((a, b) => compare(a.tx, b.tx))))
      return
    }
    case 'patient.cosign': {
      const key = K.rekeyCosign(tx.body.rekey, tx.signer)
      const held = w.get(key)
      const old = held === undefined ? undefined : decode(held) as Cosign
      if (old === undefined || old.time > base.time || (old.time === base.time && compare(old.tx, base.tx) > 0)) {
        w.put(key, encode({ hospital: tx.signer, time: base.time, tx: base.tx }))
      }
      return
    }
    case 'patient.veto':
      w.put(K.rekeyVeto(tx.body.rekey, base.tx), encode({ by: tx.signer, kind: patientIdOf(tx.signer).every((b, i) => b === tx.body.patient[i]) ? 'patient' : 'custodian', time: base.time, tx: base.tx }))
      return
    case 'patient.rewrap':
      for (const i of tx.body.images) {
        const key = K.rewrap(tx.body.rekey, i.raw.toString(), tx.signer)
        const held = w.get(key)
        if (held === undefined || compare((decode(held) as { tx: Uint8Array }).tx, base.tx) > 0) w.put(key, encode({ ...base, keys: i.keys }))
      }
      for (const s of tx.body.studies ?? []) {
        const key = K.rewrapStudy(tx.body.rekey, s.record, tx.signer, s.kid)
        const held = w.get(key)
        if (held === undefined || compare((decode(held) as { tx: Uint8Array }).tx, base.tx) > 0) w.put(key, encode({ ...base, key: s.key }))
      }
  }
}

/** The old patient ids the requests of new patient id `patient` name, with each request's tx id. */
export function formerOf (view: StateView, patient: Uint8Array): Array<{ old: Uint8Array, tx: Uint8Array }> {
  return read<Array<{ old: Uint8Array, tx: Uint8Array }>>(view, K.rekeyFormer(patient)) ?? []
}

/** Adds `custodian` to the set of hospitals holding `patient`'s images (image.add). */
export function addCustodian (w: BatchWriter, patient: Uint8Array, custodian: Uint8Array): void {
  const held = w.get(K.custodians(patient))
  const list = held === undefined ? [] : decode(held) as Uint8Array[]
  if (list.some(c => equals(c, custodian))) return
  w.put(K.custodians(patient), encode([...list, custodian].sort(compare)))
}

/** Reads of assisted-recovery requests; `now` decides which are in effect. */
export function createRekeyQueries (store: LedgerStore, rule: RecoveryRule) {
  async function value<T> (key: string): Promise<T | undefined> {
    const bytes = await store.get(key)
    return bytes === undefined ? undefined : decode(bytes) as T
  }
  async function list<T> (prefix: string): Promise<T[]> {
    const out: T[] = []
    for await (const [, bytes] of store.entries(prefix)) out.push(decode(bytes) as T)
    return out
  }
  async function view (id: Uint8Array, now: number): Promise<RekeyView | undefined> {
    const record = await value<RekeyRecord>(K.rekey(id))
    if (record === undefined) return undefined
    const [cosigns, vetoes, custodians] = await Promise.all([list<Cosign>(K.rekeyCosignPrefix(id)), list<Veto>(K.rekeyVetoPrefix(id)), value<Uint8Array[]>(K.custodians(record.old))])
    return { ...record, vetoes, custodians: custodians ?? [], ...rekeyStatus({ record, cosigns, vetoes, custodians: custodians ?? [], rule, now }) }
  }
  async function ids (prefix: string): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    for await (const key of store.keys(prefix)) out.push(Uint8Array.from(Buffer.from(key.slice(prefix.length), 'hex')))
    return out
  }
  const byTime = (a: RekeyView, b: RekeyView): number => a.time - b.time || compare(a.tx, b.tx)
  const queries = {
    /** One request with its status at `now`. */
    view,
    /** Requests to move patient id `old` to a new key, oldest first. */
    async from (old: Uint8Array, now: number): Promise<RekeyView[]> {
      const found = await Promise.all((await ids(K.rekeyByOldPrefix(old))).map(async id => await view(id, now)))
      return found.filter(v => v !== undefined).sort(byTime)
    },
    /** Requests whose new key has patient id `patient`. */
    async to (patient: Uint8Array, now: number): Promise<RekeyView[]> {
      const found = await Promise.all((await ids(K.rekeyByNewPrefix(patient))).map(async id => await view(id, now)))
      return found.filter(v => v !== undefined).sort(byTime)
    },
    /** Every request, for an admin's review (they are rare: one per patient who lost everything). */
    async all (now: number): Promise<RekeyView[]> {
      const found = await Promise.all((await ids(K.rekeyPrefix)).map(async id => await view(id, now)))
      return found.filter(v => v !== undefined).sort(byTime)
    },
    /**
     * The request in effect for old patient id `old`: the first to take effect (then the lowest id),
     * so two requests that both passed name one successor on every peer.
     */
    async successorOf (old: Uint8Array, now: number): Promise<RekeyView | undefined> {
      const effective = (await queries.from(old, now)).filter(v => v.status === 'effective')
      effective.sort((a, b) => (a.effectiveAt ?? 0) - (b.effectiveAt ?? 0) || compare(a.tx, b.tx))
      return effective[0]
    },
    /** The patient ids `patient` took over by requests in effect, following chains of them. */
    async predecessorsOf (patient: Uint8Array, now: number): Promise<Uint8Array[]> {
      const out: Uint8Array[] = []
      let frontier = [patient]
      while (frontier.length > 0 && out.length < 16) {
        const next: Uint8Array[] = []
        for (const p of frontier) {
          for (const r of await queries.to(p, now)) {
            if (r.status !== 'effective') continue
            const winner = await queries.successorOf(r.old, now)
            if (winner !== undefined && equals(winner.tx, r.tx) && !out.some(o => equals(o, r.old))) next.push(r.old)
          }
        }
        out.push(...next)
        frontier = next
      }
      return out
    },
    /** The keys custodian `custodian` re-wrapped for request `rekey`'s new key, for image `cid`. */
    async rewrapped (rekey: Uint8Array, cid: string, custodian: Uint8Array): Promise<WrappedKeys | undefined> {
      return (await value<{ keys: WrappedKeys }>(K.rewrap(rekey, cid, custodian)))?.keys
    },
    /** A custodian's study key as it re-wrapped it for the new key of request `rekey` (`patient.rewrap`), or undefined. */
    async rewrappedStudy (rekey: Uint8Array, record: Uint8Array, custodian: Uint8Array, kid: Uint8Array): Promise<Uint8Array | undefined> {
      return (await value<{ key: Uint8Array }>(K.rewrapStudy(rekey, record, custodian, kid)))?.key
    }
  }
  return queries
}

/** The assisted-recovery queries type. */
export type RekeyQueries = ReturnType<typeof createRekeyQueries>
