// Interleaved samples → one normalised gray plane. Shared by the PNG, JPEG and DICOM RGB paths so
// every colour image becomes gray by the same BT.601 weights.
import { LUMA } from '../constants.ts'

/**
 * Gray plane in [0, 1] from `channels`-interleaved samples whose full scale is `max`. With
 * `color` the first three channels are R, G, B and become BT.601 luma; otherwise channel 0 is
 * already gray. Extra channels (alpha) are ignored: a medical image is never composited.
 */
export function toGray (samples: ArrayLike<number>, pixels: number, channels: number, color: boolean, max: number): Float32Array {
  const out = new Float32Array(pixels)
  const scale = 1 / max
  if (!color) {
    for (let i = 0, j = 0; i < pixels; i++, j += channels) out[i] = samples[j] * scale
    return out
  }
  const r = LUMA.r * scale
  const g = LUMA.g * scale
  const b = LUMA.b * scale
  for (let i = 0, j = 0; i < pixels; i++, j += channels) {
    out[i] = Math.min(1, samples[j] * r + samples[j + 1] * g + samples[j + 2] * b)
  }
  return out
}
