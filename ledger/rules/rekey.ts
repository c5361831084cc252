// `image.rekey` (issue 11.3, "revoke and re-key"): the custodian of an image re-encrypted it under
// new keys. Validation: only the custodian of the image it names may file it, with the image's own
// result CID and new CIDs. Effect: the new CIDs take the old image's place (same patient, record,
// modality, model and score, `replaces` linking back), and the old ones leave the state, so no
// member serves or pins them any more.
import { decode, encode } from '../../protocol/codec.ts'
import { equals } from '../../protocol/bytes.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { CID } from 'multiformats/cid'
import type { TxOf } from '../../protocol/chain/tx.ts'
import { checkMetaCid } from './image.ts'
import { addTxId } from '../state/causal.ts'
import { K, studyImageKey } from '../store/keys.ts'
import { checkRekeyStudySeal, studyKeysRead } from './study.ts'
import type { BatchWriter } from '../store/batch-writer.ts'
import type { ImageRecord } from '../data-types.ts'
import type { StateView } from '../data-types.ts'

/** The state keys validating and applying a re-key read. */
export function rekeyKeysRead (tx: TxOf<'image.rekey'>): string[] {
  const b = tx.body
  const keys = [K.image(b.old.raw.toString(), tx.signer), K.image(b.raw.toString(), tx.signer), K.imageOwner(b.raw.toString(), b.patient)]
  if (b.old.result !== null) keys.push(K.resultImage(b.old.result.toString(), tx.signer))
  if (b.result !== null) keys.push(K.resultImage(b.result.toString(), tx.signer))
  keys.push(...studyKeysRead(tx))
  return keys
}

/**
 * Throws LedgerRuleError REKEY_NOT_CUSTODIAN unless the signer holds, as custodian, an image with
 * raw CID `old.raw` of this patient and result `old.result`; BAD_REKEY when a new CID repeats an
 * old one or one already recorded by this custodian.
 */
export function checkRekey (tx: TxOf<'image.rekey'>, view: StateView): void {
  const b = tx.body
  const held = view.get(K.image(b.old.raw.toString(), tx.signer))
  const image = held === undefined ? undefined : decode(held) as ImageRecord
  if (image === undefined || !equals(image.patient, b.patient)) {
    throw new LedgerRuleError('REKEY_NOT_CUSTODIAN', 'image.rekey names an image its signer does not hold as custodian for this patient')
  }
  const sameResult = image.result === null ? b.old.result === null : b.old.result !== null && image.result.equals(b.old.result)
  if (!sameResult) throw new LedgerRuleError('BAD_REKEY', 'image.rekey names another result than the image\'s own')
  if ((image.result === null) !== (b.result === null)) throw new LedgerRuleError('BAD_REKEY', 'image.rekey must re-key the result exactly when the image has one')
  const fresh = [b.raw, b.result].filter(c => c !== null)
  if (fresh.some(c => c.equals(b.old.raw) || (b.old.result !== null && c.equals(b.old.result)))) {
    throw new LedgerRuleError('BAD_REKEY', 'image.rekey must name new CIDs')
  }
  if (view.get(K.image(b.raw.toString(), tx.signer)) !== undefined) throw new LedgerRuleError('BAD_REKEY', 'the new raw CID is already an image of this custodian')
  checkRekeyMeta(b, image)
  checkRekeyStudySeal(b, image.record, tx.signer, view)
}

/**
 * The card rule of a re-key: an image with a sealed card has it re-sealed (its card key comes from
 * the raw key, which changed), so `old.meta` names the image's own card and `meta` a new CID;
 * an image without one gets none.
 */
function checkRekeyMeta (b: TxOf<'image.rekey'>['body'], image: ImageRecord): void {
  const had = image.meta ?? undefined
  const sameOld = had === undefined ? b.old.meta === undefined : b.old.meta !== undefined && had.equals(b.old.meta)
  if (!sameOld) throw new LedgerRuleError('BAD_REKEY', 'image.rekey names another card than the image\'s own')
  if ((had === undefined) !== (b.meta === undefined)) throw new LedgerRuleError('BAD_REKEY', 'image.rekey must re-seal the card exactly when the image has one')
  if (b.meta !== undefined && [b.old.raw, b.old.result, b.old.meta].some(c => c !== null && c !== undefined && c.equals(b.meta as CID))) {
    throw new LedgerRuleError('BAD_REKEY', 'image.rekey must name a new card CID')
  }
  checkMetaCid(b.meta, [b.raw, b.result])
}

/** Moves the image to its new CIDs: the validated old record goes, the new one links back to it. */
export function applyRekey (w: BatchWriter, tx: TxOf<'image.rekey'>, base: { tx: Uint8Array, time: number }): void {
  const b = tx.body
  const custodian = tx.signer
  const oldKey = K.image(b.old.raw.toString(), custodian)
  const held = w.get(oldKey)
  if (held === undefined) return
  const old = decode(held) as ImageRecord
  const raw = b.raw.toString()
  // The card and the study seal belong to the old keys: a re-keyed image takes the new ones from the tx.
  const { meta: _oldMeta, study: _oldSeal, ...kept } = old
  const record = { ...kept, ...base, raw: b.raw, result: b.result, keys: b.keys, custodian, replaces: b.old.raw, ...(b.meta === undefined ? {} : { meta: b.meta }), ...(b.study === undefined ? {} : { study: b.study }) }
  w.put(K.image(raw, custodian), encode(record))
  w.put(K.patientImage(b.patient, raw, custodian), new Uint8Array(0))
  // The new CID is the patient's image too: a later consent may name it (validate-consent.ts).
  addTxId(w, K.imageOwner(raw, b.patient), base.tx)
  if (b.result !== null) w.put(K.resultImage(b.result.toString(), custodian), new TextEncoder().encode(raw))
  w.del(oldKey)
  w.del(K.patientImage(b.patient, b.old.raw.toString(), custodian))
  // A re-keyed slice keeps its place in its series under its new CID.
  const oldStudy = studyImageKey(old, b.old.raw.toString(), custodian)
  const newStudy = studyImageKey(old, raw, custodian)
  if (oldStudy !== undefined && newStudy !== undefined) {
    w.del(oldStudy)
    w.put(newStudy, new Uint8Array(0))
  }
  if (b.old.result !== null) w.del(K.resultImage(b.old.result.toString(), custodian))
}
