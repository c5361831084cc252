// Transaction rules that depend on ledger state: who may sign which type, proofs of possession,
// and replays within one author's chain. Block-level rules (height, prev, links, time) live in
// ledger.ts beside the chain cache they read.
import { equals, toHex } from '../protocol/bytes.ts'
import { decode } from '../protocol/codec.ts'
import type { Verifier } from '../protocol/ed25519.ts'
import { LedgerRuleError, SignatureError } from '../protocol/errors.ts'
import type { DecodedTx } from '../protocol/tx.ts'
import { accountPopBytes, verifyTx } from '../protocol/tx.ts'
import { K } from './keys.ts'

/** Reads state, including writes pending in the current batch. */
export interface StateView { get(key: string): Promise<Uint8Array | undefined> }

/** Transaction types a hospital signs for itself: the signer must be the block's author. */
const HOSPITAL_TYPES = new Set(['member.propose', 'member.approve', 'account.register', 'record.create', 'image.add', 'access.log', 'model.publish'])

/**
 * Checks that the transaction's signer may authorise its type inside a block by `author`:
 * hospital transactions are signed by the author itself; consents by a registered patient.
 */
export async function authoriseTx (dtx: DecodedTx, author: Uint8Array, ledgerId: Uint8Array, view: StateView, verify: Verifier): Promise<void> {
  const { tx } = dtx
  if (HOSPITAL_TYPES.has(tx.type)) {
    if (!equals(tx.signer, author)) {
      throw new LedgerRuleError('UNAUTHORISED_SIGNER', `${tx.type} must be signed by the hospital whose block carries it`)
    }
    if (tx.type === 'account.register') {
      if (!equals(tx.body.hospital, author)) throw new LedgerRuleError('UNAUTHORISED_SIGNER', 'account.register must name the registering hospital')
      if (!verify(tx.body.user, accountPopBytes(ledgerId, tx.body), tx.body.pop)) {
        throw new SignatureError('account.register proof of possession is not signed by the user key')
      }
    }
    return
  }
  const account = await view.get(K.account(tx.signer))
  const role = account === undefined ? undefined : (decode(account) as { role: string }).role
  if (role !== 'patient') {
    throw new LedgerRuleError('UNAUTHORISED_SIGNER', `${tx.type} must be signed by a registered patient key`)
  }
}

/** Checks every transaction's signature unless the caller already did (own submissions). */
export function verifyTxSignatures (txs: DecodedTx[], ledgerId: Uint8Array, verify: Verifier): void {
  for (const { tx } of txs) verifyTx(ledgerId, tx, verify)
}

/**
 * Rejects a transaction carried twice in one block or already in the author's own chain. Only
 * a tx applied somewhere before (one batched read of the applied markers) needs a location scan.
 */
export async function checkReplays (txs: DecodedTx[], author: Uint8Array, view: StateView, keys: (prefix: string) => AsyncIterable<string>): Promise<void> {
  const seen = new Set<string>()
  const authorHex = toHex(author)
  for (const { id } of txs) {
    const idHex = toHex(id)
    if (seen.has(idHex)) throw new LedgerRuleError('DUPLICATE_TX', `transaction ${idHex.slice(0, 12)} appears twice in one block`)
    seen.add(idHex)
    if (await view.get(K.applied(id)) === undefined) continue
    for await (const key of keys(K.txLocPrefix(idHex))) {
      if (key.split(':')[2] === authorHex) {
        throw new LedgerRuleError('DUPLICATE_TX', `transaction ${idHex.slice(0, 12)} is already in this author's chain`)
      }
    }
  }
}
