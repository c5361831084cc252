// The pure parts of the AI module on exact small inputs: AUROC and Dice, area resampling and
// standardisation, lesion components and boxes, the overlay's colours, and the seeded PRNG.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { findLesions } from '../../../node/ai/detect/components.ts'
import { auroc, diceFromCounts } from '../../../node/ai/train/metrics.ts'
import { OVERLAY_COLOURS, renderOverlay } from '../../../node/ai/detect/overlay.ts'
import { hasLesion, maskToTarget, resizeArea, standardise, validateImage } from '../../../node/ai/model/preprocess.ts'
import { createPrng, shuffledIndices } from '../../../node/ai/model/prng.ts'
import type { DecodedImage } from '../../../node/imaging/types.ts'
import { throwsCode } from '../../helpers/assert.ts'

function image (width: number, height: number, pixels: Float32Array): DecodedImage {
  return { format: 'png', width, height, bitsStored: 8, pixels, modality: 'OT' }
}

test('auroc: perfect, inverted, all tied, and a hand-computed case', () => {
  assert.is(auroc([0.9, 0.8, 0.1, 0.2], [true, true, false, false]), 1)
  assert.is(auroc([0.1, 0.2, 0.9, 0.8], [true, true, false, false]), 0)
  assert.is(auroc([0.5, 0.5, 0.5, 0.5], [true, false, true, false]), 0.5)
  // Positives 0.8, 0.4; negatives 0.6, 0.4, 0.1. Pairs won: 0.8 beats all 3; 0.4 beats 0.1, ties
  // 0.4 (½), loses to 0.6. U = 3 + 1.5 = 4.5 of 6.
  assert.is(auroc([0.8, 0.4, 0.6, 0.4, 0.1], [true, true, false, false, false]), 4.5 / 6)
})

test('auroc: undefined with one class, RangeError on length mismatch', () => {
  assert.is(auroc([0.1, 0.2], [true, true]), undefined)
  assert.is(auroc([0.1, 0.2], [false, false]), undefined)
  assert.throws(() => auroc([0.1], [true, false]), RangeError)
})

test('dice from counts, with empty-vs-empty a perfect match', () => {
  assert.is(diceFromCounts(10, 0, 0), 1)
  assert.is(diceFromCounts(0, 5, 5), 0)
  assert.is(diceFromCounts(3, 1, 2), 6 / 9)
  assert.is(diceFromCounts(0, 0, 0), 1)
})

test('resizeArea: 4×4 → 2×2 averages blocks, identity keeps values, mean is preserved', () => {
  const src = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16])
  assert.equal(Array.from(resizeArea(src, 4, 4, 2, 2)), [3.5, 5.5, 11.5, 13.5])
  assert.equal(Array.from(resizeArea(src, 4, 4, 4, 4)), Array.from(src))
  const odd = resizeArea(src, 4, 4, 3, 3)
  const mean = (a: Float32Array): number => a.reduce((s, v) => s + v, 0) / a.length
  assert.ok(Math.abs(mean(odd) - mean(src)) < 1e-5)
  // Enlarging is nearest neighbour.
  assert.equal(Array.from(resizeArea(Float32Array.from([1, 2]), 2, 1, 4, 1)), [1, 1, 2, 2])
})

test('mask targets are lesion fractions; standardise gives mean 0, sd 1, and floors a flat image', () => {
  const mask = Uint8Array.from([0, 7, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
  assert.equal(Array.from(maskToTarget(mask, 4, 4, 2).slice(0, 2)).map(v => Math.round(v * 100) / 100), [0.75, 0])
  assert.ok(hasLesion(mask))
  assert.not.ok(hasLesion(new Uint8Array(4)))
  const x = standardise(Float32Array.from([1, 2, 3, 4]))
  assert.ok(Math.abs(x.reduce((s, v) => s + v, 0)) < 1e-6)
  assert.ok(Math.abs(x.reduce((s, v) => s + v * v, 0) / 4 - 1) < 1e-5)
  const flat = standardise(Float32Array.from([0.5, 0.5, 0.5, 0.5001]))
  assert.ok(Math.max(...flat.map(Math.abs)) < 0.02)
})

test('validateImage rejects bad dimensions, short pixel arrays and non-finite pixels', () => {
  throwsCode(() => validateImage(image(0, 1, new Float32Array(0))), 'INVALID')
  throwsCode(() => validateImage(image(2.5, 2, new Float32Array(5))), 'INVALID')
  throwsCode(() => validateImage(image(2, 2, new Float32Array(3))), 'INVALID')
  throwsCode(() => validateImage(image(2, 1, Float32Array.from([0, Number.NaN]))), 'INVALID')
  validateImage(image(2, 1, Float32Array.from([0, 1])))
})

test('findLesions: 8-connected regions, small ones dropped, mean probability, largest first', () => {
  const w = 8
  const h = 6
  const prob = new Float32Array(w * h)
  // A diagonal pair (8-connected, one region of 2) and a 2×3 block of 0.9 with one 0.6 pixel.
  prob[0] = 0.7
  prob[w + 1] = 0.9
  for (let y = 2; y < 4; y++) for (let x = 4; x < 7; x++) prob[y * w + x] = 0.9
  prob[2 * w + 4] = 0.6
  prob[5 * w + 7] = 0.95 // a single pixel: dropped by minArea 2
  const { boxes, labels } = findLesions(prob, w, h, { threshold: 0.5, minArea: 2 })
  assert.is(boxes.length, 2)
  assert.equal({ ...boxes[0], score: Math.round(boxes[0].score * 100) / 100 }, { x: 4, y: 2, width: 3, height: 2, score: 0.85 })
  assert.equal({ ...boxes[1], score: Math.round(boxes[1].score * 100) / 100 }, { x: 0, y: 0, width: 2, height: 2, score: 0.8 })
  assert.is(labels[2 * w + 5], 1)
  assert.is(labels[w + 1], 2)
  assert.is(labels[5 * w + 7], 0)
  assert.is(findLesions(prob, w, h, { threshold: 0.99, minArea: 1 }).boxes.length, 0)
})

test('renderOverlay: gray where p = 0, red in proportion to p, outline and box colours', () => {
  const w = 12
  const h = 12
  const pixels = new Float32Array(w * h).fill(0.5)
  const prob = new Float32Array(w * h)
  for (let y = 4; y < 8; y++) for (let x = 4; x < 8; x++) prob[y * w + x] = 1
  const { boxes, labels } = findLesions(prob, w, h, { threshold: 0.5, minArea: 1 })
  const rgba = renderOverlay(image(w, h, pixels), prob, labels, boxes, { alpha: 0.5 })
  const at = (x: number, y: number): number[] => Array.from(rgba.subarray((y * w + x) * 4, (y * w + x) * 4 + 4))
  assert.equal(at(0, 0), [128, 128, 128, 255])
  // Inside the region: half gray, half red.
  const [r, g, b] = OVERLAY_COLOURS.probability
  assert.equal(at(5, 5), [Math.round(128 * 0.5 + r * 0.5), Math.round(128 * 0.5 + g * 0.5), Math.round(128 * 0.5 + b * 0.5), 255])
  assert.equal(at(4, 4).slice(0, 3), [...OVERLAY_COLOURS.outline])
  assert.equal(at(3, 3).slice(0, 3), [...OVERLAY_COLOURS.box])
  assert.equal(at(8, 6).slice(0, 3), [...OVERLAY_COLOURS.box])
})

test('renderOverlay applies a DICOM display window', () => {
  const pixels = Float32Array.from([0.2, 0.4, 0.6, 0.8])
  const img: DecodedImage = { ...image(4, 1, pixels), window: { center: 0.5, width: 0.4 } }
  const rgba = renderOverlay(img, new Float32Array(4), new Int32Array(4), [], { alpha: 0.6 })
  assert.equal([rgba[0], rgba[4], rgba[8], rgba[12]], [0, 64, 191, 255])
})

test('prng: same seed same stream, different seeds differ, normals have unit variance', () => {
  const a = createPrng(42)
  const b = createPrng(42)
  const c = createPrng(43)
  const xs = Array.from({ length: 5 }, () => a.next())
  assert.equal(xs, Array.from({ length: 5 }, () => b.next()))
  assert.not.equal(xs, Array.from({ length: 5 }, () => c.next()))
  const n = createPrng(1)
  let s = 0
  let s2 = 0
  for (let i = 0; i < 20000; i++) {
    const v = n.normal()
    s += v
    s2 += v * v
  }
  assert.ok(Math.abs(s / 20000) < 0.03)
  assert.ok(Math.abs(s2 / 20000 - 1) < 0.05)
  assert.equal(shuffledIndices(6, createPrng(5)).slice().sort(), [0, 1, 2, 3, 4, 5])
})

test.run()
