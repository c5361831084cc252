// Soft-edged shapes drawn on a square float image: deformed ellipses ("blobs": body, organs,
// lesions) and thick smooth curves (ribs, vessels). Edges are logistic, so shapes look like
// tissue boundaries rather than hard cut-outs; each blob also reports its exact inside set.
import type { Rng } from './prng.ts'

/** A deformed ellipse: radius(θ) = 1 + Σ amp·cos(k·θ + phase), in the ellipse's own frame. */
export interface Blob {
  cx: number
  cy: number
  rx: number
  ry: number
  angle: number
  harmonics: Array<{ k: number, amp: number, phase: number }>
  /** Edge softness in pixels (logistic scale). */
  edge: number
}

/** Random harmonics for an irregular outline: orders 2..4, total amplitude at most `maxAmp`. */
export function randomHarmonics (rng: Rng, maxAmp: number): Blob['harmonics'] {
  return [2, 3, 4].map(k => ({ k, amp: rng.range(0, maxAmp / 3), phase: rng.range(0, 2 * Math.PI) }))
}

/**
 * Calls `visit(index, coverage, inside)` for every pixel near `b`: coverage is the soft
 * membership in [0, 1], inside is the hard membership (signed distance ≥ 0) used for masks.
 */
export function rasterBlob (size: number, b: Blob, visit: (i: number, coverage: number, inside: boolean) => void): void {
  const reach = Math.max(b.rx, b.ry) * (1 + b.harmonics.reduce((s, h) => s + h.amp, 0)) + 4 * b.edge + 1
  const x0 = Math.max(0, Math.floor(b.cx - reach))
  const x1 = Math.min(size - 1, Math.ceil(b.cx + reach))
  const y0 = Math.max(0, Math.floor(b.cy - reach))
  const y1 = Math.min(size - 1, Math.ceil(b.cy + reach))
  const cos = Math.cos(b.angle)
  const sin = Math.sin(b.angle)
  const scale = (b.rx + b.ry) / 2
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - b.cx
      const dy = y + 0.5 - b.cy
      const u = (dx * cos + dy * sin) / b.rx
      const v = (-dx * sin + dy * cos) / b.ry
      const rho = Math.sqrt(u * u + v * v)
      const theta = Math.atan2(v, u)
      let r = 1
      for (const h of b.harmonics) r += h.amp * Math.cos(h.k * theta + h.phase)
      const distance = (r - rho) * scale
      if (distance < -4 * b.edge - 1) continue
      visit(y * size + x, 1 / (1 + Math.exp(-distance / b.edge)), distance >= 0)
    }
  }
}

/** Paints `value` over `img` with the blob's soft coverage (replaces what lies beneath). */
export function paintBlob (img: Float32Array, size: number, b: Blob, value: number): void {
  rasterBlob(size, b, (i, c) => { img[i] = img[i] * (1 - c) + value * c })
}

/**
 * Draws a thick curve into `cover` as max-combined Gaussian cross-sections of width `sigma`
 * along the polyline `points`, sampled every half pixel.
 */
export function strokeCurve (cover: Float32Array, size: number, points: Array<[number, number]>, sigma: number): void {
  const reach = Math.ceil(3 * sigma)
  const k = -1 / (2 * sigma * sigma)
  for (let s = 0; s + 1 < points.length; s++) {
    const [ax, ay] = points[s]
    const [bx, by] = points[s + 1]
    const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) * 2))
    for (let t = 0; t < steps; t++) {
      const px = ax + ((bx - ax) * t) / steps
      const py = ay + ((by - ay) * t) / steps
      for (let y = Math.max(0, Math.floor(py) - reach); y <= Math.min(size - 1, Math.floor(py) + reach); y++) {
        for (let x = Math.max(0, Math.floor(px) - reach); x <= Math.min(size - 1, Math.floor(px) + reach); x++) {
          const d2 = (x + 0.5 - px) ** 2 + (y + 0.5 - py) ** 2
          const c = Math.exp(d2 * k)
          const i = y * size + x
          if (c > cover[i]) cover[i] = c
        }
      }
    }
  }
}
