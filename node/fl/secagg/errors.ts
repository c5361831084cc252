// Typed errors of secure aggregation, each with a stable code that tests and logs rely on.
import { MedichainError } from '../../../protocol/errors.ts'

/**
 * Why a secure-aggregation message or step was refused. BAD_SIGNATURE: not signed by its sender.
 * SHARE_FORGED: an encrypted share fails AES-GCM authentication or names the wrong pair.
 * SECAGG_WRONG_ROUND / SECAGG_WRONG_PHASE: not this round, or not the step the round is at.
 * SECAGG_UNKNOWN_PARTY: the sender is not in the set the step admits. SECAGG_DUPLICATE: a second
 * message from one hospital in one step. SECAGG_TOO_FEW: fewer hospitals than the threshold remain.
 * SECAGG_BAD_INPUT: a vector of the wrong length, or a value outside the quantiser's bound.
 * SECAGG_BAD_SHARES: the revealed shares do not reconstruct a consistent key.
 */
export type SecAggCode =
  | 'BAD_SIGNATURE'
  | 'SHARE_FORGED'
  | 'SECAGG_WRONG_ROUND'
  | 'SECAGG_WRONG_PHASE'
  | 'SECAGG_UNKNOWN_PARTY'
  | 'SECAGG_DUPLICATE'
  | 'SECAGG_TOO_FEW'
  | 'SECAGG_BAD_INPUT'
  | 'SECAGG_BAD_SHARES'

/** Thrown when a secure-aggregation message or step breaks a rule of the protocol; `code` says which. */
export class SecAggError extends MedichainError {
  constructor (code: SecAggCode, message: string) {
    super(code, message)
    this.name = 'SecAggError'
  }
}
