// Typed errors of image storage, with stable codes the HTTP layer maps to statuses (503 for
// UNAVAILABLE) and tests assert on.
import { MedichainError } from '../../protocol/errors.ts'

/** Thrown when content is neither held here nor delivered by a connected member in time. */
export class UnavailableError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('UNAVAILABLE', message, options)
    this.name = 'UnavailableError'
  }
}

/** Thrown when the caller's signal aborts a read or a pin. */
export class AbortedError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('ABORTED', message, options)
    this.name = 'AbortedError'
  }
}

/** Thrown when storage is used before `start()` or after `stop()`. */
export class StorageNotStartedError extends MedichainError {
  constructor (message: string) {
    super('NOT_STARTED', message)
    this.name = 'StorageNotStartedError'
  }
}

/** Thrown when an argument is not a CID, or names content storage cannot read (not unixfs). */
export class InvalidContentError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('INVALID', message, options)
    this.name = 'InvalidContentError'
  }
}

/** Thrown when a write finds the disk full (ENOSPC) or the quota spent (EDQUOT): nothing was stored. */
export class StorageFullError extends MedichainError {
  constructor (message = 'the peer has no disk space left for this upload; nothing was stored', options?: ErrorOptions) {
    super('STORAGE_FULL', message, options)
    this.name = 'StorageFullError'
  }
}

/** errno names of a full disk or an exhausted quota. */
const NO_SPACE = ['ENOSPC', 'EDQUOT']

/**
 * True when `err` reports a full disk: by its errno code, or by the message of blockstore-fs's
 * PutFailedError, which keeps only the text of the fs error it wraps.
 */
export function isNoSpace (err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && NO_SPACE.includes(code)) return true
  const message = (err as { message?: unknown }).message
  return (err as { name?: unknown }).name === 'PutFailedError' && typeof message === 'string' && NO_SPACE.some(c => message.includes(c))
}

/** Thrown (and logged) when a member's block stream breaks a rule; the read falls back to bitswap. */
export class BlockStreamError extends MedichainError {
  constructor (code: 'CID_MISMATCH' | 'STREAM_PROTOCOL' | 'STREAM_STALLED', message: string, options?: ErrorOptions) {
    super(code, message, options)
    this.name = 'BlockStreamError'
  }
}
