// Ledger rules that depend on state: a block against the chains held (prev, links, membership,
// time), and each transaction's signer, proof of possession and replays in the author's chain.
import { equals, toHex } from '../../protocol/bytes.ts'
import { decode } from '../../protocol/codec.ts'
import type { Verifier } from '../../protocol/crypto/ed25519.ts'
import type { Block } from '../../protocol/chain/block.ts'
import { MAX_CLOCK_SKEW_MS } from '../../protocol/constants.ts'
import { LedgerRuleError, MissingDependencyError, SignatureError } from '../../protocol/errors.ts'
import type { DecodedTx } from '../../protocol/chain/tx.ts'
import { accountPopBytes } from '../../protocol/chain/tx.ts'
import { verifyDecodedTx } from '../../protocol/chain/tx-bytes.ts'
import type { BlockContext, PrefetchView } from '../state/causal.ts'
import type { Chains } from '../state/chains.ts'
import { accessLogKeys, checkAccessLog } from './access.ts'
import { checkPublisher } from './fl.ts'
import { authoriseResearchSigner, checkResearch, isUserResearchType } from './research.ts'
import { checkImageAdd } from './image.ts'
import { checkImageStudySeal, checkStudyKey, studyKeysRead } from './study.ts'
import { checkConsentKeys } from './consent-keys.ts'
import { checkRekey, rekeyKeysRead } from './rekey.ts'
import { checkPatientRekey, patientRekeyKeysRead } from './patient-rekey.ts'
import { checkEmergency, emergencyKeysRead } from './emergency.ts'
import { K } from '../store/keys.ts'
import { txKeys } from '../store/tx-keys.ts'
import type { StateView, TxLocations } from '../data-types.ts'
import { checkConsents } from './consent.ts'
import { checkFlagged, refusedAbove } from './flag.ts'
import type { FlagState } from './flag.ts'
import { checkSeqReuse } from './seq.ts'
import { checkTxTime } from './time.ts'

export type { StateView }

/** Transaction types a hospital signs for itself: the signer must be the block's author. */
const HOSPITAL_TYPES = new Set(['member.propose', 'member.approve', 'member.resolve', 'account.register', 'record.create', 'image.add', 'study.key', 'access.log', 'model.publish', 'directory.set', 'image.rekey', 'emergency.role', 'emergency.access', 'emergency.review', 'research.export'])

/**
 * Checks that the transaction's signer may authorise its type inside a block by `author`:
 * hospital transactions are signed by the author itself; consents by a registered patient; a
 * research project by a researcher and a research decision by an admin of its hospital.
 */
export function authoriseTx (dtx: DecodedTx, author: Uint8Array, ledgerId: Uint8Array, view: StateView, verify: Verifier): void {
  const { tx } = dtx
  if (tx.type === 'patient.rekey' || tx.type === 'patient.cosign' || tx.type === 'patient.veto' || tx.type === 'patient.rewrap') {
    checkPatientRekey(tx, author, view)
    return
  }
  if (HOSPITAL_TYPES.has(tx.type)) {
    if (!equals(tx.signer, author)) {
      throw new LedgerRuleError('UNAUTHORISED_SIGNER', `${tx.type} must be signed by the hospital whose block carries it`)
    }
    if (tx.type === 'image.add') {
      checkImageAdd(tx.body)
      checkImageStudySeal(tx.body, author, view)
    }
    if (tx.type === 'study.key') checkStudyKey(tx, view)
    if (tx.type === 'account.register') {
      if (!equals(tx.body.hospital, author)) throw new LedgerRuleError('UNAUTHORISED_SIGNER', 'account.register must name the registering hospital')
      if (!verify(tx.body.user, accountPopBytes(ledgerId, tx.body), tx.body.pop)) {
        throw new SignatureError('account.register proof of possession is not signed by the user key')
      }
    }
    if (tx.type === 'model.publish') checkPublisher(tx)
    if (tx.type === 'directory.set') authoriseDirectory(tx.body.subject, author, view)
    if (tx.type === 'image.rekey') checkRekey(tx, view)
    if (tx.type === 'emergency.role' || tx.type === 'emergency.access' || tx.type === 'emergency.review') checkEmergency(tx, author, view)
    if (tx.type === 'access.log') checkAccessLog(tx, author, view)
    return
  }
  if (tx.type === 'research.project' || tx.type === 'research.decision') {
    authoriseResearchSigner(tx, view.get(K.account(tx.signer)))
    return
  }
  checkConsentKeys(tx)
  const account = view.get(K.account(tx.signer))
  const role = account === undefined ? undefined : (decode(account) as { role: string }).role
  if (role !== 'patient') {
    throw new LedgerRuleError('UNAUTHORISED_SIGNER', `${tx.type} must be signed by a registered patient key`)
  }
}

/**
 * A hospital names itself, or its own staff: the subject is the author, or an account the author
 * registered with a staff role. Names of patients (PHI) and of other hospitals' people are refused.
 */
function authoriseDirectory (subject: Uint8Array, author: Uint8Array, view: StateView): void {
  if (equals(subject, author)) return
  const account = view.get(K.account(subject))
  const a = account === undefined ? undefined : decode(account) as { role: string, hospital: Uint8Array }
  if (a === undefined || a.role === 'patient' || !equals(a.hospital, author)) {
    throw new LedgerRuleError('DIRECTORY_SUBJECT', 'directory.set names the hospital itself or a staff account it registered')
  }
}

/** The state keys authoriseTx reads for `dtx`, to prefetch before a local submission is checked. */
export function authoriseKeys (dtx: DecodedTx): string[] {
  const { tx } = dtx
  if (tx.type === 'directory.set') return [K.account(tx.signer), K.account(tx.body.subject)]
  if (tx.type === 'study.key' || tx.type === 'image.add') return [K.account(tx.signer), ...studyKeysRead(tx)]
  // An image.rekey reads the image it re-keys and the CIDs it records.
  if (tx.type === 'image.rekey') return [K.account(tx.signer), ...rekeyKeysRead(tx)]
  if (tx.type === 'patient.rekey' || tx.type === 'patient.cosign' || tx.type === 'patient.veto' || tx.type === 'patient.rewrap') return patientRekeyKeysRead(tx)
  if (tx.type === 'emergency.role' || tx.type === 'emergency.access' || tx.type === 'emergency.review') return [K.account(tx.signer), ...emergencyKeysRead(tx)]
  // An access.log with a use reads its accessor's account.
  if (tx.type === 'access.log') return [K.account(tx.signer), ...accessLogKeys(tx)]
  return [K.account(tx.signer)]
}

/**
 * Checks every transaction's signature unless the caller already did (own submissions), over
 * signing bytes spliced from each transaction's canonical bytes (tx-bytes.ts).
 */
export function verifyTxSignatures (txs: DecodedTx[], ledgerId: Uint8Array, verify: Verifier): void {
  for (const dtx of txs) verifyDecodedTx(ledgerId, dtx, verify)
}

/** Rejects a transaction carried twice in one block or already in the author's own chain. */
export function checkReplays (txs: DecodedTx[], author: Uint8Array, view: StateView): void {
  const seen = new Set<string>()
  for (const dtx of txs) {
    const { id } = dtx
    const { idHex, tx: txKey } = txKeys(dtx)
    if (seen.has(idHex)) throw new LedgerRuleError('DUPLICATE_TX', `transaction ${idHex.slice(0, 12)} appears twice in one block`)
    seen.add(idHex)
    const known = view.get(txKey)
    if (known === undefined) continue
    if ((decode(known) as TxLocations).some(([a]) => equals(a, author))) {
      throw new LedgerRuleError('DUPLICATE_TX', `transaction ${idHex.slice(0, 12)} is already in this author's chain`)
    }
  }
}

/**
 * The rules that judge each transaction against its block and the block's causal past, for every
 * author alike: TX_TIME (validate-time.ts), REPLAYED_SEQ (validate-seq.ts) and the consent rules
 * (validate-consent.ts). At submission `ctx` describes the block the transaction will go into.
 */
export async function checkTxRules (txs: DecodedTx[], ctx: BlockContext, view: PrefetchView, isFounder: (key: Uint8Array) => boolean): Promise<void> {
  for (const { tx } of txs) checkTxTime(tx, ctx.time)
  await checkSeqReuse(txs, ctx, view)
  await checkConsents(txs, ctx, view, isFounder)
  await checkResearch(txs, ctx, view)
}

/** What the chain rules read: the chains held and the member registry. */
export interface ChainView {
  chains: Chains
  memberStatus (key: Uint8Array): 'active' | 'removed' | undefined
  /** True for a block hash that is one half of stored equivocation evidence. */
  isEquivocal (hash: Uint8Array): boolean
  /** Equivocations of `key` held and resolved (validate-flag.ts). */
  flagState (key: Uint8Array): FlagState
}

/**
 * Rules that relate a block to the chains held (docs/design.md §4): its prev and links must be held
 * (else MissingDependencyError, and the block waits), links must match what is held and never
 * go backwards, the author must be an active member, and its time must be plausible.
 */
export function checkChainRules (block: Block, view: ChainView, opts: { now: number, replay: boolean }): void {
  const { header } = block
  const { chains } = view
  const head = chains.headHeight(header.author)
  // Dependencies first: a newly admitted member's block waits for the approvals it links, so
  // membership is judged with the block's causal past in hand. (The waiting room is bounded by
  // bytes and per author, so blocks that never become valid cannot exhaust memory.)
  const missing: string[] = []
  if (header.height > head + 1) missing.push(`${toHex(header.author)}:${header.height - 1}`)
  for (const link of header.links) {
    const held = chains.get(link.author)
    if (held !== undefined && link.height < held.hashes.length) {
      // A link to another variant of a block held here is not the linker's fault when the linked
      // author equivocated: once the evidence is held, the link stands (the flagged author's
      // first-seen variant stays the one applied). Until then the block waits for that variant,
      // which sync brings, turning it into evidence; a link to a block that never existed waits
      // for ever (the waiting room is bounded), so it is never appended.
      if (!equals(held.hashes[link.height], link.hash) && !view.isEquivocal(link.hash)) missing.push(`hash:${toHex(link.hash)}`)
      continue
    }
    const linked = view.memberStatus(link.author)
    if (linked === undefined) throw new LedgerRuleError('BAD_LINKS', 'a link names a key that was never a member')
    // A linked block that this peer refuses for now (its author equivocated, unresolved) is not
    // waited for: the linker may have taken it before the evidence reached it, and an honest
    // member's chain must not stall on another member's misconduct.
    const refused = refusedAbove(view.flagState(link.author))
    if (linked === 'active' && (refused === undefined || link.height <= refused)) missing.push(`${toHex(link.author)}:${link.height}`)
  }
  if (missing.length > 0) throw new MissingDependencyError(`block waits for ${missing.length} earlier blocks`, missing)

  const now = view.memberStatus(header.author)
  if (now === undefined || (now !== 'active' && !opts.replay)) {
    throw new LedgerRuleError('NOT_MEMBER', `block author ${toHex(header.author).slice(0, 16)} is not an active member`)
  }
  checkFlagged(header, block.hash, view.flagState(header.author))
  const chain = chains.get(header.author)
  if (chain !== undefined && !equals(header.prev as Uint8Array, chain.hashes[head])) {
    throw new LedgerRuleError('BAD_PREV', `block ${header.height} does not extend its author's chain`)
  }
  // A block that keeps its prev's time claims no time the chain did not already hold: so an author
  // whose clock was set back after it wrote (its own blocks are never ahead of the consortium by
  // more than the skew limit, see node/p2p/clock.ts) is not stopped until its clock catches up.
  const advances = chain === undefined || header.time > chain.times[head]
  if (advances && header.time > opts.now + MAX_CLOCK_SKEW_MS) throw new LedgerRuleError('FUTURE_TIME', 'block time is too far in the future')
  if (chain !== undefined && header.time < chain.times[head]) throw new LedgerRuleError('BAD_TIME', 'block time is earlier than its prev')
  for (const old of chain?.lastLinks ?? []) {
    const now = header.links.find(l => equals(l.author, old.author))
    if (now === undefined || now.height < old.height) throw new LedgerRuleError('BAD_LINKS', 'links go backwards from the prev block')
  }
}
