// Detect-strange end to end on generated phantoms (issue 4: "the result image marks it and the
// score exceeds that of a lesion-free image"). A small U-Net is trained for a few seconds on
// high-contrast phantoms; then one phantom with a known lesion and the same phantom without it
// (same seed: same anatomy and noise) go through the analyser. The result PNG is decoded with pngjs.
import * as tf from '@tensorflow/tfjs'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { PNG } from 'pngjs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { AnalyserSlot } from '../../../node/analysis/analyser.ts'
import type { Analyser, AnalysisResult } from '../../../node/analysis/analyser.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { createDetectStrange, predictImage } from '../../../node/ai/detect/detect.ts'
import { findLesions } from '../../../node/ai/detect/components.ts'
import { maskBit, readResultMask } from '../../../node/imaging/derived/result-mask.ts'
import { encodePng } from '../../../node/imaging/raster/encode.ts'
import { createModel, serializeWeights } from '../../../node/ai/model/model.ts'
import type { SegmentationModel } from '../../../node/ai/model/model.ts'
import { imageToInput } from '../../../node/ai/model/preprocess.ts'
import { trainLocal } from '../../../node/ai/train/train.ts'
import type { TrainSample } from '../../../node/ai/train/train.ts'
import type { DecodedImage } from '../../../node/imaging/types.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import type { Phantom } from '../../../scripts/synth/phantom.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'

// Source images are twice the model's side, so boxes must be mapped back to source pixels.
const SOURCE = 128
const CONTRAST = 3

function decoded (p: Phantom): DecodedImage {
  return { format: 'png', width: p.size, height: p.size, bitsStored: 8, pixels: p.pixels, modality: 'OT' }
}

let model: SegmentationModel
let modelCid: CID
let analyser: Analyser

/** The first seed from 700 whose phantom has one lesion of radius ≥ 5 px (a clear, fixed case). */
function lesionCase (): { sick: Phantom, healthy: Phantom } {
  for (let seed = 700; seed < 800; seed++) {
    const sick = generatePhantom(seed, { size: SOURCE, contrast: CONTRAST, lesionCount: 1 })
    if (sick.lesions.length === 1 && sick.lesions[0].radius >= 5) {
      return { sick, healthy: generatePhantom(seed, { size: SOURCE, contrast: CONTRAST, lesionCount: 0 }) }
    }
  }
  throw new Error('the generator made no clear single-lesion phantom in 100 seeds')
}

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
  const samples: TrainSample[] = Array.from({ length: 48 }, (_, i) => {
    const p = generatePhantom(100 + i, { size: SOURCE, contrast: CONTRAST })
    return { image: decoded(p), mask: p.mask }
  })
  model = createModel(1, { inputSize: 64, base: 8, depth: 2 })
  await trainLocal(model, samples, { epochs: 15, batchSize: 8, learningRate: 0.005, seed: 1 })
  modelCid = CID.create(1, raw.code, await sha256.digest(serializeWeights(model)))
  analyser = createDetectStrange({ model, modelCid })
})

test.after(() => {
  model.dispose()
})

function decodePngRgba (png: Uint8Array): { width: number, height: number, data: Uint8Array } {
  const img = PNG.sync.read(Buffer.from(png))
  return { width: img.width, height: img.height, data: new Uint8Array(img.data) }
}

function overlaps (a: { x: number, y: number, width: number, height: number }, b: { x: number, y: number, width: number, height: number }): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

test('a phantom with a known lesion: marked in colour, boxed, and scored above the same phantom without it', async () => {
  const { sick, healthy } = lesionCase()
  const before = tf.memory().numTensors
  const result: AnalysisResult = await analyser.analyse(decoded(sick))
  const clean = await analyser.analyse(decoded(healthy))
  assert.is(tf.memory().numTensors, before, 'no tensor leaks')

  assert.ok(result.model.equals(modelCid))
  assert.is(result.backend, 'wasm')
  const png = decodePngRgba(result.png)
  assert.is(png.width, SOURCE)
  assert.is(png.height, SOURCE)

  // Most ground-truth lesion pixels are coloured (red overlay or yellow outline), not gray.
  let lesionPixels = 0
  let coloured = 0
  for (let i = 0; i < sick.mask.length; i++) {
    if (sick.mask[i] === 0) continue
    lesionPixels++
    const [r, g, b] = png.data.subarray(i * 4, i * 4 + 3)
    if (r - Math.min(g, b) > 24) coloured++
  }
  assert.ok(coloured / lesionPixels > 0.5, `${coloured} of ${lesionPixels} lesion pixels coloured`)

  assert.ok(result.boxes.length >= 1, 'at least one box')
  assert.ok(result.boxes.some(b => overlaps(b, sick.boxes[0])), `boxes ${JSON.stringify(result.boxes)} vs truth ${JSON.stringify(sick.boxes[0])}`)
  for (const b of result.boxes) {
    assert.ok(b.x >= 0 && b.y >= 0 && b.x + b.width <= SOURCE && b.y + b.height <= SOURCE, 'boxes in source pixels')
    assert.ok(b.score >= 0.5 && b.score <= 1)
  }
  assert.ok(result.score > clean.score, `score ${result.score} vs lesion-free ${clean.score}`)
  assert.ok(result.score >= 0 && result.score <= 1)
})

test('the result PNG carries the abnormal-region mask: the kept regions of the probability map, drawn red on the overlay', async () => {
  const { sick } = lesionCase()
  const result = await analyser.analyse(decoded(sick))
  const mask = readResultMask(result.png)
  assert.ok(mask !== undefined, 'the mask chunk is there')
  assert.equal([mask.width, mask.height], [SOURCE, SOURCE])
  // The same prediction, thresholded and cleaned as detect-strange does (0.5; 2 model pixels, 4 source pixels each).
  const { probability } = await predictImage(model, decoded(sick))
  const { labels } = findLesions(probability, SOURCE, SOURCE, { threshold: 0.5, minArea: Math.round(2 * (SOURCE * SOURCE) / (64 * 64)) })
  let set = 0
  let truthHit = 0
  const png = decodePngRgba(result.png)
  for (let i = 0; i < labels.length; i++) {
    assert.is(maskBit(mask, i), labels[i] !== 0, `pixel ${i}`)
    if (!maskBit(mask, i)) continue
    set++
    if (sick.mask[i] !== 0) truthHit++
    const [r, g, b] = png.data.subarray(i * 4, i * 4 + 3)
    assert.ok(r > b, `a masked pixel is drawn red or yellow (${r},${g},${b})`)
  }
  assert.ok(set > 0 && set < SOURCE * SOURCE / 4, `a non-trivial mask (${set} pixels)`)
  assert.ok(truthHit > 0, 'the mask covers part of the real lesion')
  // A result PNG without the chunk (another analyser's) carries no mask.
  assert.is(readResultMask(encodePng(new Uint8Array(4), 1, 1, 4)), undefined)
})

test('an image of another size and aspect is analysed at its own resolution', async () => {
  const p = generatePhantom(5, { size: 96, contrast: CONTRAST })
  const wide: DecodedImage = { ...decoded(p), width: 192, height: 48, pixels: p.pixels.slice(0, 192 * 48) }
  const result = await analyser.analyse(wide)
  const png = decodePngRgba(result.png)
  assert.equal([png.width, png.height], [192, 48])
  for (const b of result.boxes) assert.ok(b.x + b.width <= 192 && b.y + b.height <= 48)
})

test('bad images and options are refused with INVALID, and the analyser keeps working', async () => {
  const good = decoded(generatePhantom(1, { size: 64 }))
  await rejects(async () => await analyser.analyse({ ...good, width: 65 }), 'INVALID')
  await rejects(async () => await analyser.analyse({ ...good, pixels: good.pixels.map((v, i) => i === 7 ? Number.NaN : v) }), 'INVALID')
  throwsCode(() => createDetectStrange({ model, modelCid, threshold: 1.5 }), 'INVALID')
  throwsCode(() => createDetectStrange({ model, modelCid, overlayAlpha: -0.1 }), 'INVALID')
  throwsCode(() => createDetectStrange({ model, modelCid, minModelPixels: Number.NaN }), 'INVALID')
  const result = await analyser.analyse(good)
  assert.is(decodePngRgba(result.png).width, 64)
  // A model input prepared elsewhere (a decode worker) gives the same result; one of the wrong size is remade.
  assert.equal(await analyser.analyse(good, imageToInput(good, analyser.inputSize ?? 0)), result)
  assert.equal(await analyser.analyse(good, new Float32Array(3)), result)
})

test('the analyser plugs into the pipeline slot, which announces the model CID', () => {
  const slot = new AnalyserSlot()
  let announced: unknown = null
  slot.addEventListener('analyser:changed', e => { announced = e instanceof CustomEvent ? e.detail : null })
  slot.set(analyser)
  assert.is(slot.current, analyser)
  assert.is(announced, modelCid.toString())
})

test.run()
