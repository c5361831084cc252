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
