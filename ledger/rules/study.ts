// Ledger rules and state for study keys (docs/design.md §5 "Study keys"): a custodian's `study.key`,
// the `study` seal of its `image.add`, and the study keys a `consent.grant` carries. A study key
// and the image.adds sealed under it are written by one custodian only, in its own chain, so
// "this key exists" is judged against that chain and every peer reaches the same verdict.
import { equals, toHex } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { TxBodies, TxOf } from '../../protocol/chain/tx.ts'
import { patientIdOf } from '../../protocol/chain/tx.ts'
import { BOUND_STUDY_KEY_BYTES } from '../../protocol/chain/study-tx.ts'
import type { GrantedStudyKey } from '../../protocol/chain/study-tx.ts'
import { txInCausalPast } from '../state/causal.ts'
import type { BlockContext, PrefetchView } from '../state/causal.ts'
import { K } from '../store/keys.ts'
import type { BatchWriter } from '../store/batch-writer.ts'

/** What the state keeps of a `study.key`: the wrapped keys and the transaction that recorded them. */
export interface StudyKeyState { tx: Uint8Array, time: number, keys: Array<{ to: Uint8Array, key: Uint8Array }> }

/** The state keys the study rules read for a transaction of the custodian (`study.key`, `image.add`). */
export function studyKeysRead (tx: TxOf<'study.key'> | TxOf<'image.add'> | TxOf<'image.rekey'>): string[] {
  const b = tx.body
  if (tx.type === 'study.key') return [K.studyKey(b.patient, tx.body.record, tx.signer, tx.body.kid), K.studyKeyId(b.patient, tx.signer, tx.body.kid)]
  if (tx.type === 'image.rekey') return tx.body.study === undefined ? [] : [K.studyKeyId(b.patient, tx.signer, tx.body.study.kid)]
  const seal = tx.body.study
  if (seal === undefined || tx.body.record === null) return []
  return [K.studyKey(b.patient, tx.body.record, tx.signer, seal.kid)]
}

/**
 * Throws STUDY_KEY_EXISTS for a second `study.key` of one (patient, study, custodian, key id), and
 * BAD_STUDY_KEY for one wrapped for nobody or twice for one recipient.
 */
export function checkStudyKey (tx: TxOf<'study.key'>, view: { get(key: string): Uint8Array | undefined }): void {
  const b = tx.body
  if (b.keys.length === 0) throw new LedgerRuleError('BAD_STUDY_KEY', 'a study key must be wrapped for at least one recipient')
  const to = new Set(b.keys.map(k => toHex(k.to)))
  if (to.size !== b.keys.length) throw new LedgerRuleError('BAD_STUDY_KEY', 'a study key is wrapped twice for one recipient')
  if (view.get(K.studyKey(b.patient, b.record, tx.signer, b.kid)) !== undefined) {
    throw new LedgerRuleError('STUDY_KEY_EXISTS', 'this custodian already recorded a study key with this id for this study')
  }
}

/**
 * Throws for an `image.add` whose `study` seal does not fit: BAD_STUDY without a study (record),
 * BAD_STUDY_SEAL when the result key is sealed exactly when there is no result, NO_STUDY_KEY when
 * the signing custodian recorded no such study key for this patient's study before.
 */
export function checkImageStudySeal (body: TxBodies['image.add'], author: Uint8Array, view: { get(key: string): Uint8Array | undefined }): void {
  const seal = body.study
  if (seal === undefined) return
  if (body.record === null) throw new LedgerRuleError('BAD_STUDY', 'an image sealed under a study key must name its study as its record')
  if ((seal.result === null) !== (body.result === null)) throw new LedgerRuleError('BAD_STUDY_SEAL', 'the result key is sealed under the study key exactly when the image has a result')
  if (view.get(K.studyKey(body.patient, body.record, author, seal.kid)) === undefined) {
    throw new LedgerRuleError('NO_STUDY_KEY', 'the image is sealed under a study key its custodian has not recorded for this study')
  }
}

/**
 * The seal rule of an `image.rekey` (the re-keyed instance `image`): its new keys may be sealed
 * under a study key its custodian recorded for the instance's own study (NO_STUDY_KEY otherwise,
 * BAD_STUDY for an image outside a study, BAD_STUDY_SEAL for a result key sealed exactly when there
 * is no result). After "revoke and re-key" that is a fresh study key: the old one was handed out.
 */
export function checkRekeyStudySeal (body: TxBodies['image.rekey'], record: Uint8Array | null, author: Uint8Array, view: { get(key: string): Uint8Array | undefined }): void {
  const seal = body.study
  if (seal === undefined) return
  if (record === null) throw new LedgerRuleError('BAD_STUDY', 'an image outside a study has no study key to seal under')
  if ((seal.result === null) !== (body.result === null)) throw new LedgerRuleError('BAD_STUDY_SEAL', 'the result key is sealed under the study key exactly when the image has a result')
  const of = view.get(K.studyKeyId(body.patient, author, seal.kid))
  if (of === undefined || !equals(of, record)) throw new LedgerRuleError('NO_STUDY_KEY', 'the image is sealed under a study key its custodian has not recorded for its study')
}

/** Applies a validated `study.key`: the first recording of the key is kept. */
export function applyStudyKey (w: BatchWriter, tx: TxOf<'study.key'>, base: { tx: Uint8Array, time: number }): void {
  const key = K.studyKey(tx.body.patient, tx.body.record, tx.signer, tx.body.kid)
  if (w.get(key) !== undefined) return
  w.put(key, encode({ ...base, keys: tx.body.keys }))
  w.put(K.studyKeyId(tx.body.patient, tx.signer, tx.body.kid), tx.body.record)
}

/** The state key of a granted study key under one owner (the patient, or an id it recovered). */
function grantedKey (owner: Uint8Array, s: GrantedStudyKey): string {
  return K.studyKey(owner, s.record, s.custodian, s.kid)
}

/**
 * The shape rules of a grant's study keys, which need no state: none for a scope of listed images
 * (it names no study), only the scope's study for a record scope, no entry twice (BAD_CONSENT), and
 * every key bound for a hospital (CONSENT_KEYS_UNBOUND). Returns how many there are.
 */
export function checkGrantStudyShape (tx: TxOf<'consent.grant'>): number {
  const studies = tx.body.studies ?? []
  const { scope } = tx.body
  if (studies.length > 0 && scope.kind === 'images') throw new LedgerRuleError('BAD_CONSENT', 'a consent to listed images carries no study key')
  const seen = new Set<string>()
  for (const s of studies) {
    if (scope.kind === 'record' && !equals(scope.record, s.record)) throw new LedgerRuleError('BAD_CONSENT', 'a study key outside the study the consent names')
    const id = `${toHex(s.record)}:${toHex(s.custodian)}:${toHex(s.kid)}`
    if (seen.has(id)) throw new LedgerRuleError('BAD_CONSENT', 'a study key is listed twice')
    seen.add(id)
    if (s.key.length !== BOUND_STUDY_KEY_BYTES) throw new LedgerRuleError('CONSENT_KEYS_UNBOUND', 'a study key in a consent must be bound for the grantee\'s hospital')
  }
  return studies.length
}

/** The state keys a grant's study keys are looked up under, for the patient and the ids it took over. */
export function grantStudyKeys (tx: TxOf<'consent.grant'>, owners: Uint8Array[]): string[] {
  return (tx.body.studies ?? []).flatMap(s => owners.map(o => grantedKey(o, s)))
}

/** The `study.key` transaction ids a grant's study keys rely on (their `t:` keys are fetched next). */
export function grantStudyTxIds (tx: TxOf<'consent.grant'>, owners: Uint8Array[], view: PrefetchView): Uint8Array[] {
  return grantStudyKeys(tx, owners).flatMap(k => {
    const v = view.get(k)
    return v === undefined ? [] : [(decode(v) as StudyKeyState).tx]
  })
}

/**
 * Throws FOREIGN_RECORD unless each study key a grant carries was recorded (`study.key`) for the
 * patient, or an id its key took over, in the block's causal past: a grant hands over only the
 * keys of the patient's own studies.
 */
export function checkGrantStudies (tx: TxOf<'consent.grant'>, owners: Uint8Array[], ctx: BlockContext, view: PrefetchView): void {
  for (const s of tx.body.studies ?? []) {
    const known = owners.some(o => {
      const v = view.get(grantedKey(o, s))
      return v !== undefined && txInCausalPast(view, (decode(v) as StudyKeyState).tx, ctx)
    })
    if (!known) throw new LedgerRuleError('FOREIGN_RECORD', 'the consent carries a study key not recorded for this patient\'s study')
  }
}

/** The patient a grant's own study keys are looked up under first. */
export function grantPatient (tx: TxOf<'consent.grant'>): Uint8Array {
  return patientIdOf(tx.signer)
}
