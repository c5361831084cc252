// Typed errors of the detect-strange model and its training, with stable codes that tests and the
// HTTP layer branch on. Weights travel between hospitals (docs/design.md §6), so a malformed weights file
// is an expected input error, never a crash.
import { MedichainError } from '../../protocol/errors.ts'

/** Thrown when serialized weights are truncated, malformed, non-finite or do not fit the model. */
export class WeightsFormatError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('BAD_WEIGHTS', message, options)
    this.name = 'WeightsFormatError'
  }
}

/** Thrown when an image, a training sample or an option given to the model is out of range. */
export class AiInputError extends MedichainError {
  constructor (message: string) {
    super('INVALID', message)
    this.name = 'AiInputError'
  }
}
