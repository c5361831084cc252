// Errors of de-identification, each with a stable code.
import { MedichainError } from '../../../protocol/errors.ts'

/** Thrown when a file to de-identify is not a DICOM Part 10 file dcmjs can read. */
export class DeidInputError extends MedichainError {
  constructor (detail: string, options?: ErrorOptions) {
    super('DEID_BAD_INPUT', `cannot de-identify: ${detail}`, options)
    this.name = 'DeidInputError'
  }
}
