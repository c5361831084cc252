// Inclusion proofs: a transaction, its audit path, and the signed header whose txRoot the path
// leads to. `verifyInclusionProof` needs nothing but this file's inputs, so a patient's browser
// can check that a consent or an access log really is on the ledger.
import { equals, toHex } from '../bytes.ts'
import type { BlockHeader } from './block.ts'
import { blockHash, verifyBlockSignature } from './block.ts'
import type { Verifier } from '../crypto/ed25519.ts'
import { ProofError, SignatureError } from '../errors.ts'
import { rootFromPath } from './merkle.ts'
import { decodeTx } from './tx.ts'
import type { DecodedTx } from './tx.ts'

/** Everything needed to check one transaction's inclusion in one signed block. */
export interface InclusionProof {
  header: BlockHeader
  sig: Uint8Array
  index: number
  path: Uint8Array[]
  tx: Uint8Array
}

/** What a valid proof establishes. */
export interface ProvenTx { tx: DecodedTx, blockHash: Uint8Array, author: Uint8Array, height: number }

/**
 * Checks an inclusion proof: the tx bytes decode, the audit path leads to the header's txRoot,
 * and the header is signed by its author. With `ledgerId`, the header must belong to that
 * ledger; with `authors`, its author must be one of them. Throws ProofError otherwise.
 */
export function verifyInclusionProof (
  proof: InclusionProof,
  opts: { verify: Verifier, ledgerId?: Uint8Array, authors?: Uint8Array[] }
): ProvenTx {
  const { header } = proof
  if (opts.ledgerId !== undefined && !equals(header.ledger, opts.ledgerId)) {
    throw new ProofError(`proof is for ledger ${toHex(header.ledger).slice(0, 12)}, not ${toHex(opts.ledgerId).slice(0, 12)}`)
  }
  if (opts.authors !== undefined && !opts.authors.some(a => equals(a, header.author))) {
    throw new ProofError('proof is signed by a key that is not a trusted member')
  }
  if (proof.index >= header.txCount) throw new ProofError(`index ${proof.index} is outside a block of ${header.txCount} transactions`)
  const root = rootFromPath(proof.tx, proof.index, header.txCount, proof.path)
  if (!equals(root, header.txRoot)) throw new ProofError('audit path does not lead to the signed txRoot')
  try {
    verifyBlockSignature(proof, opts.verify)
  } catch (err) {
    if (err instanceof SignatureError) throw new ProofError('block header signature does not verify')
    throw err
  }
  return { tx: decodeTx(proof.tx), blockHash: blockHash(header), author: header.author, height: header.height }
}
