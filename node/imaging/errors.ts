// Typed errors of the image loaders, one class per condition, each with a stable code the upload
// pipeline maps to an HTTP status. Messages name the structural problem only: never a DICOM tag
// value, a file name or pixel data, since an image may carry PHI.
import { MedichainError } from '../../protocol/errors.ts'

/** Thrown when bytes are none of the accepted formats (PNG, JPEG, DICOM Part 10), e.g. empty. */
export class UnsupportedFormatError extends MedichainError {
  constructor (message: string) {
    super('UNSUPPORTED_FORMAT', message)
    this.name = 'UnsupportedFormatError'
  }
}

/** Thrown when a DICOM file uses a transfer syntax we do not decode (JPEG, RLE, big endian …). */
export class UnsupportedTransferSyntaxError extends MedichainError {
  constructor (message: string) {
    super('UNSUPPORTED_TRANSFER_SYNTAX', message)
    this.name = 'UnsupportedTransferSyntaxError'
  }
}

/** Thrown when a well-formed image has a pixel layout we do not decode (32-bit, PALETTE COLOR …). */
export class UnsupportedPixelFormatError extends MedichainError {
  constructor (message: string) {
    super('UNSUPPORTED_PIXEL_FORMAT', message)
    this.name = 'UnsupportedPixelFormatError'
  }
}

/** Thrown when a file of a known format is truncated, inconsistent or fails its own checks. */
export class CorruptImageError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('CORRUPT_IMAGE', message, options)
    this.name = 'CorruptImageError'
  }
}

/**
 * Thrown when an image's header declares more than the pixel budget allows (a side, the pixels of
 * a frame, or the decoded bytes), or a compressed stream inflates past what its header declares:
 * refused before any pixel buffer is allocated.
 */
export class PixelBudgetError extends MedichainError {
  constructor (message: string) {
    super('PIXEL_BUDGET', message)
    this.name = 'PixelBudgetError'
  }
}

/** Thrown when every decode worker is busy and the decode queue is full: the caller may retry later. */
export class DecodeBusyError extends MedichainError {
  constructor (message: string) {
    super('DECODE_BUSY', message)
    this.name = 'DecodeBusyError'
  }
}

/** A short, data-free description of something a third-party decoder threw (they throw strings too). */
export function describeThrown (err: unknown): string {
  const text = err instanceof Error ? err.message : typeof err === 'string' ? err : 'decoder failure'
  return text.slice(0, 160)
}
