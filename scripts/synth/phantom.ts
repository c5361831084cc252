// generatePhantom: one synthetic grayscale image with 0–3 lesions and its ground truth, in
// memory (docs/design.md §6 "Data"). The model code and tests call it directly; scripts/synth.ts writes
// the same images to files. Anatomy, lesions and noise use separate seeded streams, so the same
// seed with a different lesion count gives the same background and noise.
import { drawAnatomy, textureAndBias } from './anatomy.ts'
import { drawLesions } from './lesions.ts'
import type { Box, Lesion } from './lesions.ts'
import { createRng, deriveSeed } from './prng.ts'
import { InvalidRequestError } from '../../protocol/errors.ts'

export type { Box, Lesion } from './lesions.ts'

/** Knobs of one phantom; a hospital profile sets several of them (see dataset.ts). */
export interface PhantomOptions {
  /** Side in pixels (square image); default 256. Geometry scales with it. */
  size?: number
  /** Probability that the image has lesions (then 1–3, uniformly); default 0.6. */
  lesionRate?: number
  /** Exact number of lesions (0–3), overriding lesionRate. */
  lesionCount?: number
  /** Multiplies lesion contrast; default 1. */
  contrast?: number
  /** Intensity shift applied to the whole image: p → gain·p + offset; defaults 1 and 0. */
  gain?: number
  offset?: number
  /** Quantum-noise level: photons at full intensity (higher is cleaner); default 1000. */
  photons?: number
  /** Additive Gaussian (electronic) noise, standard deviation; default 0.01. */
  noiseSigma?: number
}

/** A generated image with its ground truth. */
export interface Phantom {
  size: number
  /** Row-major intensities in [0, 1], size × size. */
  pixels: Float32Array
  /** Ground truth: 1 on lesion pixels, 0 elsewhere. */
  mask: Uint8Array
  /** One tight box per lesion, in the order of `lesions`. */
  boxes: Box[]
  lesions: Lesion[]
}

/** Stream labels for deriveSeed. */
const STREAM = { anatomy: 1, lesions: 2, noise: 3 } as const

export const MAX_LESIONS = 3

/** Throws INVALID for options generatePhantom would refuse; callers check before writing anything. */
export function checkPhantomOptions (size: number, o: PhantomOptions): void {
  if (!Number.isInteger(size) || size < 32 || size > 4096) throw new InvalidRequestError(`size must be an integer in 32..4096, got ${size}`)
  if (o.lesionCount !== undefined && (!Number.isInteger(o.lesionCount) || o.lesionCount < 0 || o.lesionCount > MAX_LESIONS)) {
    throw new InvalidRequestError(`lesionCount must be an integer in 0..${MAX_LESIONS}`)
  }
  if (o.lesionRate !== undefined && !(o.lesionRate >= 0 && o.lesionRate <= 1)) throw new InvalidRequestError('lesionRate must be in [0, 1]')
}

/**
 * Photon-counting (Poisson-like) noise, whose variance grows with the signal, plus Gaussian
 * noise; then the result is clamped to [0, 1].
 */
function addNoise (img: Float32Array, seed: number, photons: number, sigma: number): void {
  const rng = createRng(deriveSeed(seed, STREAM.noise))
  for (let i = 0; i < img.length; i++) {
    const p = img[i]
    const v = p + Math.sqrt(Math.max(p, 0) / photons) * rng.normal() + sigma * rng.normal()
    img[i] = v < 0 ? 0 : v > 1 ? 1 : v
  }
}

/** Generates one phantom, deterministically from `seed` and `opts`. */
export function generatePhantom (seed: number, opts: PhantomOptions = {}): Phantom {
  const size = opts.size ?? 256
  checkPhantomOptions(size, opts)
  const anatomyRng = createRng(deriveSeed(seed, STREAM.anatomy))
  const lesionRng = createRng(deriveSeed(seed, STREAM.lesions))
  const { img, body } = drawAnatomy(anatomyRng, size)
  const count = opts.lesionCount ?? (lesionRng.chance(opts.lesionRate ?? 0.6) ? lesionRng.int(1, MAX_LESIONS) : 0)
  const mask = new Uint8Array(size * size)
  const { lesions, boxes } = drawLesions(lesionRng, img, mask, size, body, { count, contrastScale: opts.contrast ?? 1 })
  textureAndBias(anatomyRng, img, size, body)
  const gain = opts.gain ?? 1
  const offset = opts.offset ?? 0
  if (gain !== 1 || offset !== 0) {
    for (let i = 0; i < img.length; i++) img[i] = gain * img[i] + offset
  }
  addNoise(img, seed, opts.photons ?? 1000, opts.noiseSigma ?? 0.01)
  return { size, pixels: img, mask, boxes, lesions }
}
