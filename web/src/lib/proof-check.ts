// Checks a transaction's inclusion proof in the browser (docs/design.md §4: "a browser can check that
// proof on its own"), with only protocol/ code: the audit path must lead to the signed txRoot, the
// header must be signed by a consortium member of this ledger, and the proven bytes must hash to
// the id that was asked for, so a peer cannot answer with a proof of some other transaction.
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { nobleVerify } from '../../../protocol/crypto/ed25519.ts'
import { proofFromJson } from '../../../protocol/chain/proof-json.ts'
import { verifyInclusionProof } from '../../../protocol/chain/proof.ts'
import { describeError } from './words/errors.ts'

/** The outcome shown to the person: what was proven, or why not. */
export type ProofOutcome =
  | { ok: true, txId: string, type: string, blockHash: string, author: string, height: number }
  | { ok: false, code: string, text: string }

/** The trust anchors: the ledger id and the member keys (hex) the proof must be signed under. */
export interface ProofAnchors { ledgerId: string, members: string[] }

/**
 * Verifies the `proof` of `GET /api/ledger/tx/:id` for transaction `txId`. Never throws: a bad
 * proof is an outcome to show (BAD_SCHEMA, BAD_PROOF, or WRONG_TX for a proof of another tx).
 */
export function checkTxProof (txId: string, proofJson: unknown, anchors: ProofAnchors): ProofOutcome {
  try {
    const proven = verifyInclusionProof(proofFromJson(proofJson), {
      verify: nobleVerify,
      ledgerId: fromHex(anchors.ledgerId),
      authors: anchors.members.map(fromHex)
    })
    const id = toHex(proven.tx.id)
    if (id !== txId.toLowerCase()) return { ok: false, code: 'WRONG_TX', text: `The proof is for transaction ${id.slice(0, 12)}…, not the one asked for.` }
    return { ok: true, txId: id, type: proven.tx.tx.type, blockHash: toHex(proven.blockHash), author: toHex(proven.author), height: proven.height }
  } catch (err) {
    const shown = describeError(err)
    return { ok: false, code: shown.code, text: err instanceof Error && err.message !== '' ? err.message : shown.text }
  }
}
