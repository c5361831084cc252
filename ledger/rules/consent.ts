// The consent rules of the ledger (for every author, not only in the SDK): a patient's grant
// names someone else, expires after it is made, names a grantee the ledger knows and only the
// patient's own images, and is no larger than the images it names need. Lookups are judged
// against the block's causal past (state/causal.ts), so every peer reaches the same verdict.
import type { CID } from 'multiformats/cid'
import { equals, toHex } from '../../protocol/bytes.ts'
import { decode } from '../../protocol/codec.ts'
import { CONSENT_BASE_BYTES, CONSENT_BYTES_PER_IMAGE, CONSENT_BYTES_PER_STUDY } from '../../protocol/constants.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { DecodedTx, TxOf } from '../../protocol/chain/tx.ts'
import { patientIdOf } from '../../protocol/chain/tx.ts'
import { K } from '../store/keys.ts'
import { txIdsOf, txInCausalPast } from '../state/causal.ts'
import { formerOf } from './patient-rekey.ts'
import type { BlockContext, PrefetchView } from '../state/causal.ts'
import { checkGrantStudies, checkGrantStudyShape, grantStudyKeys, grantStudyTxIds } from './study.ts'

/** The largest encoding a grant naming `images` distinct images and carrying `studies` study keys may have (see CONSENT_BYTES_PER_IMAGE). */
export function maxConsentBytes (images: number, studies = 0): number {
  return CONSENT_BASE_BYTES + images * CONSENT_BYTES_PER_IMAGE + studies * CONSENT_BYTES_PER_STUDY
}

type Consent = TxOf<'consent.grant'> | TxOf<'consent.revoke'>

/** The distinct images a grant names, in its keys or its scope; BAD_CONSENT for keys listed twice or outside an image scope. */
function namedImages (tx: TxOf<'consent.grant'>): string[] {
  const keyed = new Set<string>()
  for (const k of tx.body.keys) {
    const cid = k.image.toString()
    if (keyed.has(cid)) throw new LedgerRuleError('BAD_CONSENT', `image ${cid} has keys twice`)
    keyed.add(cid)
  }
  const { scope } = tx.body
  if (scope.kind !== 'images') return [...keyed]
  const scoped = new Set(scope.images.map((c: CID) => c.toString()))
  for (const cid of keyed) {
    // A key outside the scope would hand over an image the consent does not cover.
    if (!scoped.has(cid)) throw new LedgerRuleError('BAD_CONSENT', `image ${cid} has keys but is outside the consent's scope`)
  }
  return [...scoped]
}

/** The rules that need no state: not to oneself, not expired at creation, within its size. */
function checkShape (dtx: DecodedTx & { tx: Consent }): string[] {
  const { tx } = dtx
  if (equals(tx.body.grantee, tx.signer)) throw new LedgerRuleError('CONSENT_SELF', 'a patient cannot grant or revoke consent to themselves')
  if (tx.type === 'consent.revoke') return []
  if (tx.body.expires <= tx.time) throw new LedgerRuleError('CONSENT_EXPIRED', 'the consent expires before it is made')
  const images = namedImages(tx)
  const studies = checkGrantStudyShape(tx)
  if (dtx.bytes.length > maxConsentBytes(images.length, studies)) {
    throw new LedgerRuleError('CONSENT_TOO_LARGE', `a consent naming ${images.length} images and ${studies} study keys may be at most ${maxConsentBytes(images.length, studies)} bytes, got ${dtx.bytes.length}`)
  }
  return images
}

/** The record (a study) a grant's scope names, if any. */
function namedRecord (tx: Consent): Uint8Array | undefined {
  return tx.type === 'consent.grant' && tx.body.scope.kind === 'record' ? tx.body.scope.record : undefined
}

/** The state keys a consent's lookups start from. */
function lookupKeys (tx: Consent, images: string[]): string[] {
  const patient = patientIdOf(tx.signer)
  const record = namedRecord(tx)
  return [K.account(tx.body.grantee), ...images.map(cid => K.imageOwner(cid, patient)), ...(record === undefined ? [] : [K.recordOwner(patient, record)])]
}

/** Transaction ids whose place in the causal past the rules ask about (their `t:` keys are fetched next). */
function txIdsToPlace (tx: Consent, images: string[], view: PrefetchView): Uint8Array[] {
  const patient = patientIdOf(tx.signer)
  const ids = images.flatMap(cid => txIdsOf(view.get(K.imageOwner(cid, patient))))
  const record = namedRecord(tx)
  if (record !== undefined) ids.push(...txIdsOf(view.get(K.recordOwner(patient, record))))
  const account = view.get(K.account(tx.body.grantee))
  if (account !== undefined) ids.push((decode(account) as { tx: Uint8Array }).tx)
  return ids
}

/**
 * True when the grantee is known in the block's causal past: a user whose `account.register` is
 * there, or a hospital that founded the consortium or has a chain the block names (a chain is
 * only ever held for a member).
 */
function granteeKnown (tx: Consent, ctx: BlockContext, view: PrefetchView, isFounder: (key: Uint8Array) => boolean): boolean {
  const grantee = tx.body.grantee
  const kind = tx.type === 'consent.grant' ? tx.body.kind : undefined
  if (kind !== 'user' && (isFounder(grantee) || equals(ctx.author, grantee) || ctx.links.some(l => equals(l.author, grantee)))) return true
  if (kind === 'hospital') return false
  const account = view.get(K.account(grantee))
  if (account === undefined) return false
  const { tx: registration, role } = decode(account) as { tx: Uint8Array, role: string }
  // A patient is nobody's grantee: consents are for the people and hospitals who treat or study.
  return role !== 'patient' && txInCausalPast(view, registration, ctx)
}

/**
 * Throws a LedgerRuleError for the first consent in `txs` that breaks a rule: CONSENT_SELF,
 * CONSENT_EXPIRED, BAD_CONSENT (keys twice, or outside the scope, image or study),
 * CONSENT_KEYS_UNBOUND (a study key not bound for a hospital), CONSENT_TOO_LARGE,
 * UNKNOWN_GRANTEE, FOREIGN_IMAGE (an image not recorded for this patient in the causal past),
 * FOREIGN_RECORD (a record scope naming a record, such as a DICOM study, that no `record.create`
 * or `image.add` of this patient recorded in the causal past, or a study key no `study.key` of
 * this patient recorded there).
 */
export async function checkConsents (txs: DecodedTx[], ctx: BlockContext, view: PrefetchView, isFounder: (key: Uint8Array) => boolean): Promise<void> {
  const consents: Array<{ tx: Consent, images: string[] }> = []
  for (const dtx of txs) {
    if (dtx.tx.type !== 'consent.grant' && dtx.tx.type !== 'consent.revoke') continue
    const c = dtx as DecodedTx & { tx: Consent }
    consents.push({ tx: c.tx, images: checkShape(c) })
  }
  if (consents.length === 0) return
  await view.prefetch(consents.flatMap(c => [...lookupKeys(c.tx, c.images), K.rekeyFormer(patientIdOf(c.tx.signer))]))
  // A key that took over old patient ids by assisted recovery (issue 16.3) may name their images,
  // once its request is in the block's causal past; what such a consent opens waits for the
  // request to take effect (node/records/reads.ts).
  const formerFor = (tx: Consent): Array<{ old: Uint8Array, tx: Uint8Array }> => formerOf(view, patientIdOf(tx.signer))
  const ownersFor = (tx: Consent): Uint8Array[] => [patientIdOf(tx.signer), ...formerFor(tx).map(f => f.old)]
  const studyKeysOf = (tx: Consent): string[] => tx.type === 'consent.grant' ? grantStudyKeys(tx, ownersFor(tx)) : []
  const formerRecords = (tx: Consent): string[] => { const r = namedRecord(tx); return r === undefined ? [] : formerFor(tx).map(f => K.recordOwner(f.old, r)) }
  await view.prefetch(consents.flatMap(c => [...formerFor(c.tx).flatMap(f => [K.tx(f.tx), ...c.images.map(cid => K.imageOwner(cid, f.old))]), ...studyKeysOf(c.tx), ...formerRecords(c.tx)]))
  await view.prefetch(consents.flatMap(c => [
    ...txIdsToPlace(c.tx, c.images, view),
    ...formerRecords(c.tx).flatMap(k => txIdsOf(view.get(k))),
    ...(c.tx.type === 'consent.grant' ? grantStudyTxIds(c.tx, ownersFor(c.tx), view) : []),
    ...formerFor(c.tx).flatMap(f => c.images.flatMap(cid => txIdsOf(view.get(K.imageOwner(cid, f.old)))))
  ].map(id => K.tx(id))))
  for (const { tx, images } of consents) {
    if (!granteeKnown(tx, ctx, view, isFounder)) {
      throw new LedgerRuleError('UNKNOWN_GRANTEE', `grantee ${toHex(tx.body.grantee).slice(0, 12)} is not a registered user or a member hospital`)
    }
    const patient = patientIdOf(tx.signer)
    const owners = [patient, ...formerFor(tx).filter(f => txInCausalPast(view, f.tx, ctx)).map(f => f.old)]
    for (const cid of images) {
      if (!owners.some(owner => txIdsOf(view.get(K.imageOwner(cid, owner))).some(id => txInCausalPast(view, id, ctx)))) {
        throw new LedgerRuleError('FOREIGN_IMAGE', `image ${cid} is not one of this patient's images`)
      }
    }
    const record = namedRecord(tx)
    // A recovered key may name a study of an id it took over, as it may name that id's images.
    if (record !== undefined && !owners.some(owner => txIdsOf(view.get(K.recordOwner(owner, record))).some(id => txInCausalPast(view, id, ctx)))) {
      throw new LedgerRuleError('FOREIGN_RECORD', 'the consent names a record (study) not recorded for this patient')
    }
    if (tx.type === 'consent.grant') checkGrantStudies(tx, owners, ctx, view)
  }
}
