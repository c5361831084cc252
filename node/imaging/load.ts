// The one entry point the upload pipeline and the model use to turn image bytes into pixels
// (docs/design.md §5 step 1): detect the format by magic bytes, then a real parse. Every failure is a
// typed error with a stable code; nothing here logs, so no tag or pixel can leak into a log.
import { detectFormat } from './detect.ts'
import { decodeDicom } from './dicom/decode.ts'
import type { DicomScaling } from './dicom/decode.ts'
import { CorruptImageError, describeThrown } from './errors.ts'
import { decodeJpeg } from './raster/jpeg-decode.ts'
import { DEFAULT_LIMITS } from './limits.ts'
import type { ImageLimits } from './limits.ts'
import { decodePng } from './raster/png-decode.ts'
import type { DecodedImage, ImageFormat } from './types.ts'
import { MedichainError } from '../../protocol/errors.ts'

export { dicomSummary } from './dicom/summary.ts'
export type { DicomSummary } from './dicom/summary.ts'
export type { DicomScaling } from './dicom/decode.ts'

/** Options of loadImage; every field has a safe default. */
export interface LoadOptions {
  /** The pixel budget, checked from the header before allocation; default DEFAULT_LIMITS. */
  limits?: Partial<ImageLimits>
  /** DICOM normalisation: 'bits' (default, lossless) or 'window' (the file's VOI window). */
  dicomScaling?: DicomScaling
}

/**
 * Decodes `bytes` (the whole file) into one normalised gray frame. `format` skips detection when
 * the caller already knows it. Throws UNSUPPORTED_FORMAT, UNSUPPORTED_TRANSFER_SYNTAX,
 * UNSUPPORTED_PIXEL_FORMAT, CORRUPT_IMAGE or PIXEL_BUDGET; never anything untyped.
 */
export function loadImage (bytes: Uint8Array, format?: ImageFormat, opts: LoadOptions = {}): DecodedImage {
  const limits: ImageLimits = { ...DEFAULT_LIMITS, ...opts.limits }
  const kind = format ?? detectFormat(bytes)
  if (bytes.length === 0) throw new CorruptImageError('the file is empty')
  try {
    switch (kind) {
      case 'png': return decodePng(bytes, limits)
      case 'jpeg': return decodeJpeg(bytes, limits)
      case 'dicom': return decodeDicom(bytes, { limits, scaling: opts.dicomScaling ?? 'bits' })
    }
  } catch (err) {
    // A decoder bug on hostile input must still reach the caller as a typed 4xx, not a crash.
    if (err instanceof MedichainError) throw err
    throw new CorruptImageError(`${kind} decoder failed: ${describeThrown(err)}`, { cause: err })
  }
}
