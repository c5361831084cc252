// The pixel budget: limits on what a decoder may materialise, checked from the header alone (PNG
// IHDR, JPEG SOF, DICOM Rows × Columns × Frames × Samples × Bits Allocated) before any pixel
// buffer is allocated or any compressed stream is inflated, so a forged header cannot make the
// peer allocate gigabytes or spin on a huge empty frame.
import { DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE } from './constants.ts'
import { CorruptImageError, PixelBudgetError } from './errors.ts'

/** The pixel budget of one decode (configurable: `imaging` in the config file, docs/ops.md). */
export interface ImageLimits {
  /** Largest width or height. */
  maxSide: number
  /** Largest width × height of one frame. */
  maxPixels: number
  /**
   * Largest decoded size in bytes, as the decoder holds the samples: width × height × frames ×
   * samples per pixel × bytes per sample (PNG: 4 RGBA samples, 1 or 2 bytes; JPEG: 3 samples;
   * DICOM: every frame at Bits Allocated, which also bounds the inflate of a deflated data set).
   */
  maxDecodedBytes: number
}

/** The defaults: see DEFAULT_MAX_SIDE, DEFAULT_MAX_PIXELS and DEFAULT_MAX_DECODED_BYTES. */
export const DEFAULT_LIMITS: Readonly<ImageLimits> = { maxSide: DEFAULT_MAX_SIDE, maxPixels: DEFAULT_MAX_PIXELS, maxDecodedBytes: DEFAULT_MAX_DECODED_BYTES }

/** What a header declares, in the units the budget counts. */
export interface DeclaredSize {
  width: number
  height: number
  /** Frames the decoder holds (1 for PNG and JPEG; Number of Frames for DICOM). */
  frames: number
  /** Samples per pixel as the decoder holds them. */
  samples: number
  /** Bytes per sample as the decoder holds them. */
  bytesPerSample: number
}

/** width × height × frames × samples × bytes per sample. */
export function decodedBytes (d: DeclaredSize): number {
  return d.width * d.height * d.frames * d.samples * d.bytesPerSample
}

/**
 * Throws CORRUPT_IMAGE for a zero or non-integer dimension or frame count, PIXEL_BUDGET when a
 * side, the pixels of a frame or the decoded bytes exceed `limits`. Messages carry numbers only.
 */
export function checkBudget (d: DeclaredSize, limits: ImageLimits): void {
  const { width, height, frames } = d
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new CorruptImageError(`declared dimensions ${width}×${height} are not positive integers`)
  }
  if (!Number.isSafeInteger(frames) || frames < 1) throw new CorruptImageError('declared frame count is not a positive integer')
  if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) {
    throw new PixelBudgetError(`declared dimensions ${width}×${height} exceed the pixel budget of ${limits.maxSide} per side and ${limits.maxPixels} pixels`)
  }
  const bytes = decodedBytes(d)
  if (bytes > limits.maxDecodedBytes) {
    throw new PixelBudgetError(`the image would decode to ${bytes} bytes, over the pixel budget of ${limits.maxDecodedBytes} bytes`)
  }
}

