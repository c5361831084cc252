// From a lesion probability map to lesion boxes: threshold, 8-connected component labelling, and
// one box per component with its mean probability. Pure, in source pixel coordinates.
import type { LesionBox } from '../../analysis/analyser.ts'

/** Options of findLesions. */
export interface LesionOptions {
  /** Probability at or above which a pixel is lesion. */
  threshold: number
  /** Components smaller than this many pixels are dropped as noise. */
  minArea: number
}

/** The kept lesions: boxes (largest first) and a label image (0 = background, k = boxes[k − 1]). */
export interface Lesions {
  boxes: LesionBox[]
  labels: Int32Array
}

interface Region { area: number, sum: number, x0: number, y0: number, x1: number, y1: number }

/** Flood-fills the component of `seed` with `label` (explicit stack: lesions can be large). */
function fill (prob: Float32Array, width: number, height: number, threshold: number, labels: Int32Array, seed: number, label: number, stack: Int32Array): Region {
  const r: Region = { area: 0, sum: 0, x0: width, y0: height, x1: -1, y1: -1 }
  let top = 0
  stack[top++] = seed
  labels[seed] = label
  while (top > 0) {
    const i = stack[--top]
    const x = i % width
    const y = (i - x) / width
    r.area++
    r.sum += prob[i]
    if (x < r.x0) r.x0 = x
    if (x > r.x1) r.x1 = x
    if (y < r.y0) r.y0 = y
    if (y > r.y1) r.y1 = y
    for (let dy = -1; dy <= 1; dy++) {
      const yy = y + dy
      if (yy < 0 || yy >= height) continue
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx
        if (xx < 0 || xx >= width) continue
        const j = yy * width + xx
        if (labels[j] === 0 && prob[j] >= threshold) {
          labels[j] = label
          stack[top++] = j
        }
      }
    }
  }
  return r
}

/**
 * Labels the 8-connected regions of `prob ≥ threshold`, drops those under `minArea` pixels and
 * returns a box per kept region with its mean probability as the score, largest region first.
 */
export function findLesions (prob: Float32Array, width: number, height: number, options: LesionOptions): Lesions {
  const raw = new Int32Array(width * height)
  const stack = new Int32Array(width * height)
  const regions: Region[] = []
  for (let i = 0; i < prob.length; i++) {
    if (raw[i] === 0 && prob[i] >= options.threshold) {
      regions.push(fill(prob, width, height, options.threshold, raw, i, regions.length + 1, stack))
    }
  }
  const kept = regions
    .map((r, k) => ({ r, label: k + 1 }))
    .filter(({ r }) => r.area >= options.minArea)
    .sort((a, b) => b.r.area - a.r.area || a.label - b.label)
  const relabel = new Int32Array(regions.length + 1)
  kept.forEach(({ label }, k) => { relabel[label] = k + 1 })
  const labels = new Int32Array(width * height)
  for (let i = 0; i < raw.length; i++) labels[i] = relabel[raw[i]]
  const boxes = kept.map(({ r }) => ({
    x: r.x0,
    y: r.y0,
    width: r.x1 - r.x0 + 1,
    height: r.y1 - r.y0 + 1,
    score: r.sum / r.area
  }))
  return { boxes, labels }
}
