// Size limits on decoded images. Every decoder reads the declared width and height from the
// header and calls checkDimensions before it allocates a pixel buffer, so a forged header cannot
// make the peer allocate gigabytes.
import { DEFAULT_MAX_PIXELS, DEFAULT_MAX_SIDE } from './constants.ts'
import { CorruptImageError, ImageTooLargeError } from './errors.ts'

/** Largest accepted image: per side and in total pixels. */
export interface ImageLimits {
  maxSide: number
  maxPixels: number
}

/** The defaults: 8192 × 8192, above any single radiograph or CT slice. */
export const DEFAULT_LIMITS: ImageLimits = { maxSide: DEFAULT_MAX_SIDE, maxPixels: DEFAULT_MAX_PIXELS }

/** Throws CORRUPT_IMAGE for a zero or non-integer side, IMAGE_TOO_LARGE above the limits. */
export function checkDimensions (width: number, height: number, limits: ImageLimits): void {
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1) {
    throw new CorruptImageError(`declared dimensions ${width}×${height} are not positive integers`)
  }
  if (width > limits.maxSide || height > limits.maxSide || width * height > limits.maxPixels) {
    throw new ImageTooLargeError(`declared dimensions ${width}×${height} exceed the limit of ${limits.maxSide} per side and ${limits.maxPixels} pixels`)
  }
}
