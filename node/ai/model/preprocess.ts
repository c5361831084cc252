// Turns decoded images and ground-truth masks into model inputs and targets, in plain JS so that
// training, validation and detect-strange prepare pixels the same way on every backend. Images of
// any size are area-resampled to the model's square input and standardised per image, because
// hospitals' scanners differ in intensity (the non-IID split of issue 4).
import { AiInputError } from '../errors.ts'
import type { DecodedImage } from '../../imaging/types.ts'

/** Largest side accepted, a little above the biggest DICOM matrices (e.g. 14k mammography). */
export const MAX_SIDE = 16384
// Floor on the per-image standard deviation, so a flat image is not amplified into noise.
const MIN_STD = 1e-2

/** Throws INVALID unless `image` has integer dimensions in range and width × height finite pixels. */
export function validateImage (image: DecodedImage): void {
  const { width, height, pixels } = image
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) throw new AiInputError(`image ${name} must be an integer in [1, ${MAX_SIDE}], got ${v}`)
  }
  if (!(pixels instanceof Float32Array) || pixels.length !== width * height) {
    throw new AiInputError(`image pixels must be a Float32Array of ${width * height} values`)
  }
  for (let i = 0; i < pixels.length; i++) {
    if (!Number.isFinite(pixels[i])) throw new AiInputError('image pixels must be finite')
  }
}

/** For each output index, the source indices it covers and their weights (summing to 1). */
function areaWeights (from: number, to: number): Array<{ start: number, weights: number[] }> {
  const scale = from / to
  const out: Array<{ start: number, weights: number[] }> = []
  for (let i = 0; i < to; i++) {
    const a = i * scale
    const b = (i + 1) * scale
    const start = Math.floor(a)
    const end = Math.min(from, Math.ceil(b))
    const weights: number[] = []
    for (let s = start; s < end; s++) weights.push((Math.min(b, s + 1) - Math.max(a, s)) / scale)
    out.push({ start, weights })
  }
  return out
}

/**
 * Area (box-filter) resampling of a row-major `sw`×`sh` plane to `dw`×`dh`: each output pixel is the
 * mean of the source area it covers, which neither aliases when shrinking nor loses small lesions
 * the way point sampling does. Enlarging degenerates to nearest neighbour.
 */
export function resizeArea (src: ArrayLike<number>, sw: number, sh: number, dw: number, dh: number): Float32Array {
  const xs = areaWeights(sw, dw)
  const ys = areaWeights(sh, dh)
  const rows = new Float32Array(dw * sh)
  for (let y = 0; y < sh; y++) {
    const row = y * sw
    for (let x = 0; x < dw; x++) {
      const { start, weights } = xs[x]
      let acc = 0
      for (let k = 0; k < weights.length; k++) acc += src[row + start + k] * weights[k]
      rows[y * dw + x] = acc
    }
  }
  const out = new Float32Array(dw * dh)
  for (let y = 0; y < dh; y++) {
    const { start, weights } = ys[y]
    for (let k = 0; k < weights.length; k++) {
      const w = weights[k]
      const row = (start + k) * dw
      for (let x = 0; x < dw; x++) out[y * dw + x] += rows[row + x] * w
    }
  }
  return out
}

/** Standardises in place to mean 0 and unit variance (the variance floored at MIN_STD²). */
export function standardise (x: Float32Array): Float32Array {
  let sum = 0
  for (let i = 0; i < x.length; i++) sum += x[i]
  const mean = sum / x.length
  let sq = 0
  for (let i = 0; i < x.length; i++) sq += (x[i] - mean) ** 2
  const std = Math.max(MIN_STD, Math.sqrt(sq / x.length))
  for (let i = 0; i < x.length; i++) x[i] = (x[i] - mean) / std
  return x
}

/** The model input for one image: `size`×`size`, area-resampled and standardised. */
export function imageToInput (image: DecodedImage, size: number): Float32Array {
  return standardise(resizeArea(image.pixels, image.width, image.height, size, size))
}

/** Throws INVALID unless `mask` has one byte per pixel of a `width`×`height` image. */
export function validateMask (mask: Uint8Array, width: number, height: number): void {
  if (!(mask instanceof Uint8Array) || mask.length !== width * height) {
    throw new AiInputError(`mask must be a Uint8Array of ${width * height} values`)
  }
}

/** The soft training target for one mask (non-zero = lesion): the lesion fraction of each cell. */
export function maskToTarget (mask: Uint8Array, width: number, height: number, size: number): Float32Array {
  const binary = new Float32Array(mask.length)
  for (let i = 0; i < mask.length; i++) binary[i] = mask[i] === 0 ? 0 : 1
  return resizeArea(binary, width, height, size, size)
}

/**
 * Per-pixel loss weights for one soft target (maskToTarget): 1 on background, and on each lesion
 * (an 8-connected region of target > 0) max(1, referenceArea / lesion area), blended by the pixel's
 * lesion fraction. A lesion smaller than `referenceArea` pixels thus weighs as much in the loss as
 * one of that area: pixel-averaged losses otherwise let the few large lesions dominate, while an
 * image-level score depends as much on finding the small ones (the "lesion-wise" weighting of
 * Kofler et al., "blob loss", 2023, in its simplest form).
 */
export function lesionWeights (target: Float32Array, size: number, referenceArea: number): Float32Array {
  const weights = new Float32Array(target.length).fill(1)
  const seen = new Uint8Array(target.length)
  const stack = new Int32Array(target.length)
  const members: number[] = []
  for (let seed = 0; seed < target.length; seed++) {
    if (seen[seed] === 1 || target[seed] <= 0) continue
    members.length = 0
    let area = 0
    let top = 0
    stack[top++] = seed
    seen[seed] = 1
    while (top > 0) {
      const i = stack[--top]
      members.push(i)
      area += target[i]
      const x = i % size
      const y = (i - x) / size
      for (let yy = Math.max(0, y - 1); yy <= Math.min(size - 1, y + 1); yy++) {
        for (let xx = Math.max(0, x - 1); xx <= Math.min(size - 1, x + 1); xx++) {
          const j = yy * size + xx
          if (seen[j] === 0 && target[j] > 0) {
            seen[j] = 1
            stack[top++] = j
          }
        }
      }
    }
    const boost = Math.max(1, referenceArea / Math.max(area, 1)) - 1
    for (const i of members) weights[i] = 1 + boost * target[i]
  }
  return weights
}

/** True when the mask marks at least one pixel. */
export function hasLesion (mask: Uint8Array): boolean {
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) return true
  return false
}
