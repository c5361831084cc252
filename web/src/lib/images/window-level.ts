// Window/level for DICOM display: a lookup table from every stored sample value to an 8-bit gray,
// applying bit masking, sign extension, the Modality LUT (rescale) and the VOI linear function of
// PS3.3 §C.11.2.1.2.1 at once, so rendering a frame is one table lookup per pixel.
import type { DicomImage } from './dicom.ts'

/** A display window in modality units (e.g. Hounsfield units for CT). */
export interface Window { center: number, width: number }

/** The modality value (after rescale) of one raw stored sample. */
export function modalityValue (img: Pick<DicomImage, 'bitsStored' | 'highBit' | 'signed' | 'slope' | 'intercept'>, raw: number): number {
  const shift = img.highBit - img.bitsStored + 1
  let v = (raw >>> shift) & (2 ** img.bitsStored - 1)
  if (img.signed && v >= 2 ** (img.bitsStored - 1)) v -= 2 ** img.bitsStored
  return v * img.slope + img.intercept
}

/**
 * VOI linear function (PS3.3 §C.11.2.1.2.1) onto [0, 255]:
 * x ≤ c − 0.5 − (w − 1)/2 → 0; x > c − 0.5 + (w − 1)/2 → 255; else ((x − (c − 0.5)) / (w − 1) + 0.5) × 255.
 */
export function voiLinear (x: number, w: Window): number {
  const width = Math.max(1, w.width)
  const c = w.center - 0.5
  const half = (width - 1) / 2
  if (x <= c - half) return 0
  if (x > c + half) return 255
  if (width === 1) return 255
  return Math.round(((x - c) / (width - 1) + 0.5) * 255)
}

/** Table from each raw sample (0 .. 2^bitsAllocated − 1) to its displayed gray under `w`. */
export function windowLut (img: DicomImage, w: Window): Uint8Array {
  const lut = new Uint8Array(2 ** img.bitsAllocated)
  const invert = img.photometric === 'MONOCHROME1'
  for (let raw = 0; raw < lut.length; raw++) {
    const g = voiLinear(modalityValue(img, raw), w)
    lut[raw] = invert ? 255 - g : g
  }
  return lut
}

/** Smallest and largest modality value in the frame (for a window when the file names none). */
export function valueRange (img: DicomImage): { min: number, max: number } {
  let lo = Infinity
  let hi = -Infinity
  const seen = new Uint8Array(2 ** img.bitsAllocated)
  for (let i = 0; i < img.frame.length; i++) seen[img.frame[i]] = 1
  for (let raw = 0; raw < seen.length; raw++) {
    if (seen[raw] === 0) continue
    const v = modalityValue(img, raw)
    if (v < lo) lo = v
    if (v > hi) hi = v
  }
  return lo === Infinity ? { min: 0, max: 0 } : { min: lo, max: hi }
}

/** The window to open with: the file's own, else the full range of values present. */
export function defaultWindow (img: DicomImage): Window {
  if (img.window !== null) return img.window
  const { min, max } = valueRange(img)
  return { center: (min + max) / 2, width: Math.max(1, max - min + 1) }
}

/** Writes the frame through `lut` into opaque RGBA pixels (an ImageData's data array). */
export function renderGray (frame: Uint8Array | Uint16Array, lut: Uint8Array, out: Uint8ClampedArray): void {
  if (out.length < frame.length * 4) throw new RangeError('the output is smaller than the frame')
  for (let i = 0, o = 0; i < frame.length; i++, o += 4) {
    const g = lut[frame[i]]
    out[o] = g
    out[o + 1] = g
    out[o + 2] = g
    out[o + 3] = 255
  }
}
