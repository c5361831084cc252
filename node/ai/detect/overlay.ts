// Draws the detect-strange result image (docs/design.md §6): the raw image in grayscale, the lesion
// probability overlaid in red with opacity proportional to probability, each kept lesion's outline
// in yellow and its box in cyan. Pure: RGBA bytes in source resolution, for encodePng.
import type { LesionBox } from '../../analysis/analyser.ts'
import type { DecodedImage } from '../../imaging/types.ts'

/** Colours of the overlay (RGB). Red/yellow/cyan stay distinct from gray and from each other. */
export const OVERLAY_COLOURS = {
  probability: [255, 32, 32],
  outline: [255, 221, 0],
  box: [0, 200, 255]
} as const

/** Options of renderOverlay. */
export interface OverlayOptions {
  /** Opacity of the red layer at probability 1 (0–1). */
  alpha: number
}

/** Gray level 0–255 of a pixel under the image's display window (DICOM) or its plain [0, 1] range. */
function grayLevels (image: DecodedImage): Uint8Array {
  const { pixels } = image
  const low = image.window === undefined ? 0 : image.window.center - image.window.width / 2
  const span = image.window === undefined ? 1 : Math.max(image.window.width, 1e-6)
  const out = new Uint8Array(pixels.length)
  for (let i = 0; i < pixels.length; i++) {
    const v = (pixels[i] - low) / span
    out[i] = Math.round(255 * (v < 0 ? 0 : v > 1 ? 1 : v))
  }
  return out
}

function paint (rgba: Uint8Array, i: number, [r, g, b]: readonly [number, number, number]): void {
  rgba[i * 4] = r
  rgba[i * 4 + 1] = g
  rgba[i * 4 + 2] = b
}

/** True when pixel (x, y) of a labelled region touches a 4-neighbour outside it (or the border). */
function onEdge (labels: Int32Array, width: number, height: number, x: number, y: number): boolean {
  const l = labels[y * width + x]
  return x === 0 || y === 0 || x === width - 1 || y === height - 1 ||
    labels[y * width + x - 1] !== l || labels[y * width + x + 1] !== l ||
    labels[(y - 1) * width + x] !== l || labels[(y + 1) * width + x] !== l
}

/** Draws a rectangle `thickness` px wide just outside `box`, clipped to the image. */
function drawBox (rgba: Uint8Array, width: number, height: number, box: LesionBox, thickness: number): void {
  const x0 = box.x - thickness
  const y0 = box.y - thickness
  const x1 = box.x + box.width - 1 + thickness
  const y1 = box.y + box.height - 1 + thickness
  for (let y = Math.max(0, y0); y <= Math.min(height - 1, y1); y++) {
    for (let x = Math.max(0, x0); x <= Math.min(width - 1, x1); x++) {
      const border = x < box.x || x >= box.x + box.width || y < box.y || y >= box.y + box.height
      if (border) paint(rgba, y * width + x, OVERLAY_COLOURS.box)
    }
  }
}

/**
 * Renders the result image: gray raw, red probability layer (opacity = alpha × probability),
 * yellow outlines of the regions in `labels` (non-zero), cyan boxes. Returns width × height × 4
 * bytes, fully opaque.
 */
export function renderOverlay (image: DecodedImage, prob: Float32Array, labels: Int32Array, boxes: readonly LesionBox[], options: OverlayOptions): Uint8Array {
  const { width, height } = image
  const gray = grayLevels(image)
  const rgba = new Uint8Array(width * height * 4)
  const [pr, pg, pb] = OVERLAY_COLOURS.probability
  for (let i = 0; i < gray.length; i++) {
    const a = options.alpha * Math.min(1, Math.max(0, prob[i]))
    const g = gray[i] * (1 - a)
    rgba[i * 4] = Math.round(g + pr * a)
    rgba[i * 4 + 1] = Math.round(g + pg * a)
    rgba[i * 4 + 2] = Math.round(g + pb * a)
    rgba[i * 4 + 3] = 255
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (labels[y * width + x] !== 0 && onEdge(labels, width, height, x, y)) paint(rgba, y * width + x, OVERLAY_COLOURS.outline)
    }
  }
  // Lines scale with the image so they stay visible on large DICOM frames.
  const thickness = Math.max(1, Math.round(Math.max(width, height) / 512))
  for (const box of boxes) drawBox(rgba, width, height, box, thickness)
  return rgba
}
