// Lesions: 0–3 soft-edged, slightly irregular round regions inside the body, bright or dark
// against the tissue around them, with radius ~4–20 px (at 256 px) and varying contrast. Each
// lesion's hard outline goes into the ground-truth mask and gives its tight bounding box.
import type { Body } from './anatomy.ts'
import type { Rng } from './prng.ts'
import { randomHarmonics, rasterBlob } from './shapes.ts'
import type { Blob } from './shapes.ts'

/** A box in pixel coordinates: top-left corner and size, inclusive of every mask pixel. */
export interface Box { x: number, y: number, width: number, height: number }

/** One lesion as drawn: centre, mean radius (px), signed contrast (intensity added at its core). */
export interface Lesion { cx: number, cy: number, radius: number, contrast: number }

/** How lesions look: the hospital profile scales the contrast. */
export interface LesionStyle {
  count: number
  /** Multiplies the contrast magnitude (non-IID hospitals differ here). */
  contrastScale: number
}

/** Mean intensity of `img` in a small window around (x, y): the lesion's local background. */
function localMean (img: Float32Array, size: number, x: number, y: number, r: number): number {
  let sum = 0
  let n = 0
  for (let yy = Math.max(0, Math.round(y - r)); yy <= Math.min(size - 1, Math.round(y + r)); yy++) {
    for (let xx = Math.max(0, Math.round(x - r)); xx <= Math.min(size - 1, Math.round(x + r)); xx++) {
      sum += img[yy * size + xx]
      n++
    }
  }
  return n === 0 ? 0 : sum / n
}

/** A position inside 80 % of the body ellipse that keeps the lesion in frame and clear of `placed`. */
function place (rng: Rng, size: number, body: Body, radius: number, placed: Lesion[]): [number, number] | null {
  for (let attempt = 0; attempt < 100; attempt++) {
    const a = rng.range(0, 2 * Math.PI)
    const d = 0.8 * Math.sqrt(rng.float())
    const x = body.cx + body.rx * d * Math.cos(a)
    const y = body.cy + body.ry * d * Math.sin(a)
    const margin = radius * 1.5 + 2
    if (x < margin || y < margin || x > size - margin || y > size - margin) continue
    if (placed.every(l => Math.hypot(l.cx - x, l.cy - y) > (l.radius + radius) * 1.45 + 4)) return [x, y]
  }
  return null
}

/**
 * Adds up to `style.count` lesions to `img` and sets their pixels in `mask`. Returns what was
 * drawn, with one tight box per lesion; fewer lesions when no free place is found.
 */
export function drawLesions (rng: Rng, img: Float32Array, mask: Uint8Array, size: number, body: Body, style: LesionStyle): { lesions: Lesion[], boxes: Box[] } {
  const lesions: Lesion[] = []
  const boxes: Box[] = []
  const unit = size / 256
  for (let n = 0; n < style.count; n++) {
    // Skewed toward small lesions, the harder and more common case.
    const radius = unit * (4 + 16 * rng.float() ** 1.5)
    const at = place(rng, size, body, radius, lesions)
    if (at === null) break
    const background = localMean(img, size, at[0], at[1], radius / 2)
    // Bright on dark tissue (lung), dark on bone, either on soft tissue; a dark lesion never
    // goes below black, where it would vanish.
    const bright = background < 0.3 ? true : background > 0.7 ? false : rng.chance(0.65)
    const magnitude = style.contrastScale * rng.range(0.12, 0.35)
    const contrast = bright ? magnitude : -Math.min(magnitude, background - 0.08)
    const b: Blob = { cx: at[0], cy: at[1], rx: radius, ry: radius * rng.range(0.8, 1.2), angle: rng.range(0, Math.PI), harmonics: randomHarmonics(rng, 0.15), edge: unit * rng.range(0.6, 2) }
    let x0 = size; let y0 = size; let x1 = -1; let y1 = -1
    rasterBlob(size, b, (i, c, inside) => {
      img[i] += contrast * c
      if (!inside) return
      mask[i] = 1
      const x = i % size
      const y = (i - x) / size
      if (x < x0) x0 = x
      if (x > x1) x1 = x
      if (y < y0) y0 = y
      if (y > y1) y1 = y
    })
    if (x1 < 0) continue
    lesions.push({ cx: round2(b.cx), cy: round2(b.cy), radius: round2(radius), contrast: round2(contrast) })
    boxes.push({ x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 })
  }
  return { lesions, boxes }
}

function round2 (v: number): number {
  return Math.round(v * 100) / 100
}
