// The anatomy-like background of a phantom: an axial-chest-like slice with a body outline and a
// fat layer, two dark lungs with branching vessels, a mediastinal blob, spine and aorta, rib arcs
// near the body wall; then low-frequency tissue texture and a smooth bias field. Geometry scales with
// the image size; intensities are in [0, 1] before the hospital's shift and the noise.
import type { Rng } from './prng.ts'
import { paintBlob, randomHarmonics, rasterBlob, strokeCurve } from './shapes.ts'
import type { Blob } from './shapes.ts'

/** Where the body is, for placing lesions inside it. */
export interface Body { cx: number, cy: number, rx: number, ry: number }

function blob (rng: Rng, cx: number, cy: number, rx: number, ry: number, irregular: number, edge: number): Blob {
  return { cx, cy, rx, ry, angle: rng.range(-0.15, 0.15), harmonics: randomHarmonics(rng, irregular), edge }
}

/** Rib arcs: short bright curves along an ellipse just inside the body wall. */
function ribs (rng: Rng, img: Float32Array, size: number, body: Body): void {
  const cover = new Float32Array(size * size)
  const count = rng.int(6, 10)
  for (let i = 0; i < count; i++) {
    const start = rng.range(0, 2 * Math.PI)
    const span = rng.range(0.18, 0.32)
    const scale = rng.range(0.84, 0.9)
    const points: Array<[number, number]> = []
    for (let s = 0; s <= 8; s++) {
      const a = start + (span * s) / 8
      points.push([body.cx + body.rx * scale * Math.cos(a), body.cy + body.ry * scale * Math.sin(a)])
    }
    strokeCurve(cover, size, points, (size / 256) * rng.range(1.0, 1.6))
  }
  const bone = rng.range(0.78, 0.88)
  for (let i = 0; i < img.length; i++) img[i] = img[i] * (1 - cover[i]) + bone * cover[i]
}

/** Vessels: smooth random walks from a lung's medial side, added as brighter thin curves. */
function vessels (rng: Rng, img: Float32Array, size: number, lung: Blob, side: number): void {
  const cover = new Float32Array(size * size)
  const count = rng.int(4, 8)
  for (let i = 0; i < count; i++) {
    let x = lung.cx - side * lung.rx * rng.range(0.3, 0.6)
    let y = lung.cy + lung.ry * rng.range(-0.4, 0.4)
    let heading = (side > 0 ? 0 : Math.PI) + rng.range(-0.9, 0.9)
    const points: Array<[number, number]> = [[x, y]]
    const length = lung.rx * rng.range(0.6, 1.2)
    for (let walked = 0; walked < length; walked += 2) {
      heading += rng.normal() * 0.12
      x += 2 * Math.cos(heading)
      y += 2 * Math.sin(heading)
      points.push([x, y])
    }
    strokeCurve(cover, size, points, (size / 256) * rng.range(0.6, 1.2))
  }
  // Only inside the lung: the coverage is multiplied by the lung's own soft membership.
  const inLung = new Float32Array(size * size)
  rasterBlob(size, lung, (i, c) => { inLung[i] = c })
  const brightness = rng.range(0.18, 0.3)
  for (let i = 0; i < img.length; i++) img[i] += brightness * cover[i] * inLung[i]
}

/**
 * Low-frequency texture and a smooth multiplicative bias field (a coil/heel-effect-like gradient).
 * Applied after the lesions, which sit in the tissue the field modulates.
 */
export function textureAndBias (rng: Rng, img: Float32Array, size: number, body: Body): void {
  const waves = Array.from({ length: 4 }, () => ({
    fx: rng.range(-6, 6) / size, fy: rng.range(-6, 6) / size, phase: rng.range(0, 2 * Math.PI), amp: rng.range(0.005, 0.02)
  }))
  const gx = rng.range(-0.15, 0.15)
  const gy = rng.range(-0.15, 0.15)
  const g2 = rng.range(-0.1, 0.1)
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x
      let texture = 0
      for (const w of waves) texture += w.amp * Math.sin(2 * Math.PI * (w.fx * x + w.fy * y) + w.phase)
      const nx = (x - body.cx) / size
      const ny = (y - body.cy) / size
      const bias = 1 + gx * nx + gy * ny + g2 * (nx * nx + ny * ny) * 4
      img[i] = (img[i] + (img[i] > 0.2 ? texture : 0)) * bias
    }
  }
}

/** Draws the background anatomy into a fresh size × size image; returns it with the body ellipse. */
export function drawAnatomy (rng: Rng, size: number): { img: Float32Array, body: Body } {
  const img = new Float32Array(size * size).fill(rng.range(0.01, 0.04))
  const body: Body = {
    cx: size * rng.range(0.47, 0.53),
    cy: size * rng.range(0.47, 0.53),
    rx: size * rng.range(0.38, 0.45),
    ry: size * rng.range(0.3, 0.38)
  }
  const edge = size / 256
  paintBlob(img, size, blob(rng, body.cx, body.cy, body.rx, body.ry, 0.06, 1.2 * edge), rng.range(0.28, 0.33)) // fat
  paintBlob(img, size, blob(rng, body.cx, body.cy, body.rx * 0.92, body.ry * 0.9, 0.06, 1.5 * edge), rng.range(0.4, 0.46)) // muscle
  const lungs: Blob[] = [-1, 1].map(side => blob(rng,
    body.cx + side * body.rx * rng.range(0.4, 0.5), body.cy - body.ry * rng.range(0, 0.12),
    body.rx * rng.range(0.28, 0.36), body.ry * rng.range(0.55, 0.68), 0.25, 2 * edge))
  for (const lung of lungs) paintBlob(img, size, lung, rng.range(0.06, 0.11))
  paintBlob(img, size, blob(rng, body.cx + body.rx * rng.range(0.02, 0.12), body.cy + body.ry * rng.range(0.05, 0.2),
    body.rx * rng.range(0.2, 0.27), body.ry * rng.range(0.3, 0.4), 0.2, 2 * edge), rng.range(0.48, 0.55)) // heart
  const spine = { cx: body.cx, cy: body.cy + body.ry * rng.range(0.68, 0.76), r: size * rng.range(0.04, 0.05) }
  paintBlob(img, size, blob(rng, spine.cx, spine.cy, spine.r, spine.r * 1.1, 0.1, edge), rng.range(0.82, 0.9))
  paintBlob(img, size, blob(rng, spine.cx, spine.cy, spine.r * 0.55, spine.r * 0.6, 0.1, edge), rng.range(0.55, 0.62))
  paintBlob(img, size, blob(rng, spine.cx + size * 0.045, spine.cy - body.ry * 0.28, size * 0.028, size * 0.028, 0.02, edge), rng.range(0.55, 0.6)) // aorta
  ribs(rng, img, size, body)
  vessels(rng, img, size, lungs[0], -1)
  vessels(rng, img, size, lungs[1], 1)
  return { img, body }
}
