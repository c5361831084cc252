// Scores the burned-in text detector on synthetic phantoms (issue 15): a burned-in string counts
// as removed when the blacked-out boxes cover every one of its ink pixels; on a clean phantom, the blacked-out
// share of the image is the false blackout. Shared by `npm run bench:deid` and its test.
import type { PixelBox, TextDetector } from '../../../node/research/burned-in/text-detector.ts'
import { burnedInPhantom } from '../../synth/burn-in.ts'
import { generatePhantom } from '../../synth/phantom.ts'

/** Per-set results. */
export interface DeidScore { strings: number, removed: number, recall: number, cleanImages: number, falseBlackout: number, uncertainBurned: number, uncertainClean: number, msPerImage: number }

/** 8-bit grayscale of a [0, 1] float image. */
export function toGray (pixels: Float32Array): Uint8Array {
  return Uint8Array.from(pixels, v => Math.max(0, Math.min(255, Math.round(v * 255))))
}

/** A mask of the pixels the boxes cover. */
function covered (boxes: PixelBox[], width: number, height: number): Uint8Array {
  const m = new Uint8Array(width * height)
  for (const b of boxes) for (let y = b.y; y < b.y + b.height && y < height; y++) m.fill(1, y * width + b.x, y * width + Math.min(width, b.x + b.width))
  return m
}

/** Share of a string's ink pixels that the blacked-out boxes cover. */
function coverage (ink: Uint32Array, mask: Uint8Array): number {
  let n = 0
  for (const k of ink) n += mask[k]
  return n / ink.length
}

/**
 * Runs `detector` over `count` burned-in phantoms and `count` clean ones (seeds from `seed0`,
 * `size` pixels a side). `prepare` may change the frame first (the bench's reference skips the
 * thresholding by passing the raw frame through a detector that does none).
 */
export async function scoreDetector (detector: Pick<TextDetector, 'detect'>, opts: { seed0: number, count: number, size: number }): Promise<DeidScore> {
  let strings = 0
  let removed = 0
  let uncertainBurned = 0
  let uncertainClean = 0
  let blackout = 0
  let ms = 0
  for (let i = 0; i < opts.count; i++) {
    const p = burnedInPhantom(opts.seed0 + i, { size: opts.size })
    let t = performance.now()
    const found = await detector.detect(toGray(p.pixels), p.size, p.size)
    ms += performance.now() - t
    if (found.uncertain) uncertainBurned++
    const mask = covered(found.boxes, p.size, p.size)
    for (const s of p.texts) {
      strings++
      if (coverage(s.ink, mask) >= 1) removed++
    }
    const clean = generatePhantom(opts.seed0 + 100_000 + i, { size: opts.size })
    t = performance.now()
    const none = await detector.detect(toGray(clean.pixels), opts.size, opts.size)
    ms += performance.now() - t
    if (none.uncertain) uncertainClean++
    blackout += covered(none.boxes, opts.size, opts.size).reduce((a, b) => a + b, 0) / (opts.size * opts.size)
  }
  return { strings, removed, recall: removed / strings, cleanImages: opts.count, falseBlackout: blackout / opts.count, uncertainBurned, uncertainClean, msPerImage: ms / (2 * opts.count) }
}
