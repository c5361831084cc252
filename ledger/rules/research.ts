// The ledger's research rules and state (docs/design.md §10). A project is signed by a registered
// researcher; a decision by an admin of the hospital it decides for; an export log by the
// researcher's home hospital, naming only images recorded for the patients it names. Decisions,
// projects and uses are judged against the block's causal past, so every peer agrees.
import { compare, equals } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { DecodedTx, TxOf } from '../../protocol/chain/tx.ts'
import { txIdsOf, txInCausalPast } from '../state/causal.ts'
import type { BlockContext, PrefetchView } from '../state/causal.ts'
import { K } from '../store/keys.ts'

type ResearchTx = TxOf<'research.project'> | TxOf<'research.decision'> | TxOf<'research.export'>
/** The transactions whose project the rules look up: decisions, exports, and research consents naming one. */
type NamesProject = TxOf<'research.decision'> | TxOf<'research.export'> | (TxOf<'consent.grant'> & { body: { project: Uint8Array } })

/** What a project record holds in state. */
export interface ProjectState { tx: Uint8Array, time: number, researcher: Uint8Array, title: string, purpose: string, criteria: TxOf<'research.project'>['body']['criteria'], options: TxOf<'research.project'>['body']['options'] }

/** Whether `type` is one of the research transactions a user (not a hospital) signs. */
export function isUserResearchType (type: string): type is 'research.project' | 'research.decision' {
  return type === 'research.project' || type === 'research.decision'
}

/**
 * A project is signed by a registered researcher; a decision by a registered admin of the hospital
 * it decides for (UNAUTHORISED_SIGNER otherwise). `account` is the signer's state record.
 */
export function authoriseResearchSigner (tx: TxOf<'research.project'> | TxOf<'research.decision'>, account: Uint8Array | undefined): void {
  const a = account === undefined ? undefined : decode(account) as { role: string, hospital: Uint8Array }
  if (tx.type === 'research.project') {
    if (a?.role !== 'researcher') throw new LedgerRuleError('UNAUTHORISED_SIGNER', 'research.project must be signed by a registered researcher')
    return
  }
  if (a?.role !== 'admin' || !equals(a.hospital, tx.body.hospital)) {
    throw new LedgerRuleError('UNAUTHORISED_SIGNER', 'research.decision must be signed by an admin of the hospital it decides for')
  }
}

/** The state keys the research rules read for `tx` before its `t:` keys. */
function lookupKeys (tx: NamesProject): string[] {
  const keys = [K.project(tx.body.project), K.tx(tx.body.project)]
  if (tx.type === 'research.export') keys.push(...tx.body.uses.map(u => K.imageOwner(u.image.toString(), u.patient)))
  return keys
}

/**
 * Throws UNKNOWN_PROJECT for a decision, export or research consent naming a project not in the
 * block's causal past,
 * NOT_PROJECT_HOSPITAL for an export by another hospital than the researcher's own, and
 * FOREIGN_IMAGE for an export use whose image is not recorded for its patient.
 */
export async function checkResearch (txs: DecodedTx[], ctx: BlockContext, view: PrefetchView): Promise<void> {
  const research = txs.map(d => d.tx).filter((t): t is NamesProject =>
    t.type === 'research.decision' || t.type === 'research.export' || (t.type === 'consent.grant' && t.body.project !== undefined))
  if (research.length === 0) return
  await view.prefetch(research.flatMap(lookupKeys))
  const projects = research.map(t => view.get(K.project(t.body.project)))
  await view.prefetch(projects.flatMap(p => p === undefined ? [] : [K.account((decode(p) as ProjectState).researcher)]))
  await view.prefetch(research.flatMap(t => t.type !== 'research.export' ? [] : t.body.uses.flatMap(u => txIdsOf(view.get(K.imageOwner(u.image.toString(), u.patient))).map(id => K.tx(id)))))
  for (const tx of research) {
    const p = view.get(K.project(tx.body.project))
    if (p === undefined || !txInCausalPast(view, tx.body.project, ctx)) throw new LedgerRuleError('UNKNOWN_PROJECT', 'the research project is not on the ledger before this block')
    if (tx.type !== 'research.export') continue
    const researcher = view.get(K.account((decode(p) as ProjectState).researcher))
    if (researcher === undefined || !equals((decode(researcher) as { hospital: Uint8Array }).hospital, tx.signer)) {
      throw new LedgerRuleError('NOT_PROJECT_HOSPITAL', "only the researcher's home hospital exports a project")
    }
    for (const u of tx.body.uses) {
      if (!txIdsOf(view.get(K.imageOwner(u.image.toString(), u.patient))).some(id => txInCausalPast(view, id, ctx))) {
        throw new LedgerRuleError('FOREIGN_IMAGE', `image ${u.image.toString()} is not recorded for the patient the export names`)
      }
    }
  }
}

/** The state keys validating and applying a research transaction read: the signer's account, a decision's record, an export's patients' history rows. */
export function researchKeysRead (dtx: DecodedTx & { tx: ResearchTx }): string[] {
  const { tx } = dtx
  // The signer's account too: authoriseResearchSigner reads it when a block is applied.
  if (tx.type === 'research.decision') return [K.account(tx.signer), K.projectDecision(tx.body.project, tx.body.hospital)]
  if (tx.type === 'research.export') return tx.body.uses.map(u => K.history(u.patient, dtx.id))
  return [K.account(tx.signer)]
}

/** Narrows a decoded transaction to a research one. */
export function isResearchTx (dtx: DecodedTx): dtx is DecodedTx & { tx: ResearchTx } {
  return dtx.tx.type.startsWith('research.')
}

/** Writes the effects of one research transaction; returns the patients whose history it joins. */
export function applyResearch (w: { get(key: string): Uint8Array | undefined, put(key: string, value: Uint8Array): void }, dtx: DecodedTx & { tx: ResearchTx }): Uint8Array[] {
  const { tx } = dtx
  const base = { tx: dtx.id, time: tx.time }
  switch (tx.type) {
    case 'research.project':
      w.put(K.project(dtx.id), encode({ ...base, researcher: tx.signer, ...tx.body }))
      return []
    case 'research.decision': {
      // Several admins of one hospital may decide: the latest time wins, ties to the lower tx id,
      // a maximum over the decisions that does not depend on their arrival order.
      const key = K.projectDecision(tx.body.project, tx.body.hospital)
      const held = w.get(key)
      const old = held === undefined ? undefined : decode(held) as { tx: Uint8Array, time: number }
      if (old === undefined || old.time < tx.time || (old.time === tx.time && compare(old.tx, dtx.id) > 0)) {
        w.put(key, encode({ ...base, approve: tx.body.approve, admin: tx.signer }))
      }
      return []
    }
    case 'research.export':
      w.put(K.projectExport(tx.body.project, dtx.id), encode({ ...base, export: tx.body.export, count: tx.body.uses.length, hospital: tx.signer }))
      tx.body.uses.forEach((u, i) => {
        w.put(K.researchUse(u.patient, dtx.id, i), encode({ ...base, project: tx.body.project, export: tx.body.export, image: u.image, consent: u.consent, hospital: tx.signer }))
      })
      return tx.body.uses.map(u => u.patient)
  }
}
