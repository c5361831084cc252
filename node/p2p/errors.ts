// Typed errors of the peer-to-peer layer, with stable codes callers branch on.
import { MedichainError } from '../../protocol/errors.ts'

/** Thrown when a peer is asked to talk to a key or PeerId that is not an active member. */
export class NotMemberPeerError extends MedichainError {
  constructor (message: string) {
    super('NOT_MEMBER_PEER', message)
    this.name = 'NotMemberPeerError'
  }
}

/** Thrown when a sync session fails: the stream broke, timed out, or the remote sent bad frames. */
export class SyncError extends MedichainError {
  constructor (code: 'SYNC_FAILED' | 'SYNC_PROTOCOL' | 'SYNC_REJECTED', message: string, options?: ErrorOptions) {
    super(code, message, options)
    this.name = 'SyncError'
  }
}

/** Thrown when the P2P seed and the ledger's signing identity are not the same key. */
export class IdentityMismatchError extends MedichainError {
  constructor (message: string) {
    super('IDENTITY_MISMATCH', message)
    this.name = 'IdentityMismatchError'
  }
}

/** Thrown when an operation needs a started P2P service. */
export class NotStartedError extends MedichainError {
  constructor (message: string) {
    super('NOT_STARTED', message)
    this.name = 'NotStartedError'
  }
}

/** The stable code of an error, or its class name; never its message, which may quote data. */
export function codeOf (err: unknown): string {
  if (err instanceof MedichainError) return err.code
  if (err instanceof Error) return err.name
  return 'UNKNOWN'
}

/** Thrown when a member's status answer cannot be had: the stream broke, timed out or was malformed. */
export class StatusError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('STATUS_FAILED', message, options)
    this.name = 'StatusError'
  }
}

/**
 * Thrown at start when an admin asked to begin this hospital's chain afresh (`--fresh-chain`) but
 * the local folder or a member still holds blocks of it: starting again would fork the chain.
 */
export class ChainExistsError extends MedichainError {
  constructor (message: string) {
    super('CHAIN_EXISTS', message)
    this.name = 'ChainExistsError'
  }
}
