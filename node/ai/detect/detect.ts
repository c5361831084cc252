// Detect-strange, the analyser of the upload pipeline (docs/design.md §5 step 2, §6): the current model's
// lesion probability map for an image, lesion boxes, an image-level abnormality score, and the
// result image (PNG overlay, carrying the abnormal-region mask), all stamped with the CID of the
// weights that produced them.
import * as tf from '@tensorflow/tfjs'
import type { CID } from 'multiformats/cid'
import type { Analyser, AnalysisResult } from '../../analysis/analyser.ts'
import { encodePng } from '../../imaging/raster/encode.ts'
import { packMask, withResultMask } from '../../imaging/derived/result-mask.ts'
import type { DecodedImage } from '../../imaging/types.ts'
import { activeBackend } from '../runtime/backend.ts'
import { findLesions } from './components.ts'
import { AiInputError } from '../errors.ts'
import { imageScores, serializeWeights } from '../model/model.ts'
import type { SegmentationModel } from '../model/model.ts'
import { renderOverlay } from './overlay.ts'
import { imageToInput, validateImage } from '../model/preprocess.ts'

/** Options of createDetectStrange. */
export interface DetectStrangeInit {
  model: SegmentationModel
  /** CID of the weights `model` was loaded from. */
  modelCid: CID
  /** Lesion probability threshold for boxes and outlines; default 0.5. */
  threshold?: number
  /**
   * Smallest lesion kept, in model-input pixels; default 2. Scaled to source pixels per image, so a
   * region must span about this much of the model's own resolution to count.
   */
  minModelPixels?: number
  /** Opacity of the probability overlay at probability 1; default 0.6. */
  overlayAlpha?: number
}

/** The model's output for one image at source resolution, before drawing. */
export interface Prediction {
  /** Lesion probability per source pixel, row-major. */
  probability: Float32Array
  /** Image-level score (imageScores of the model-resolution map). */
  score: number
}

function checkUnit (name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new AiInputError(`${name} must be in [0, 1], got ${v}`)
}

/**
 * Runs `model` on one image: resample to the model input (unless `input` already holds it, made
 * off the main thread), predict, and resample the probabilities back to the source size
 * (bilinear, half-pixel centres). Disposes every tensor it makes.
 */
export async function predictImage (model: SegmentationModel, image: DecodedImage, input?: Float32Array): Promise<Prediction> {
  validateImage(image)
  const size = model.config.inputSize
  const prepared = input !== undefined && input.length === size * size ? input : imageToInput(image, size)
  const x = tf.tensor4d(prepared, [1, size, size, 1])
  const [score, probability] = tf.tidy(() => {
    const p = model.predict(x)
    return [imageScores(p), tf.image.resizeBilinear(p, [image.height, image.width], false, true)]
  })
  try {
    const [s, prob] = await Promise.all([score.data(), probability.data()])
    return { probability: prob instanceof Float32Array ? prob : Float32Array.from(prob), score: s[0] }
  } finally {
    tf.dispose([x, score, probability])
  }
}

/**
 * Runs `model` on several images in one predict call (a batch of N inputs), then resamples each
 * image's probabilities back to its own size as predictImage does. The results equal
 * predictImage's for each image alone: the network has no cross-sample operation.
 */
export async function predictImages (model: SegmentationModel, items: Array<{ image: DecodedImage, input?: Float32Array }>): Promise<Prediction[]> {
  if (items.length === 1) return [await predictImage(model, items[0].image, items[0].input)]
  const size = model.config.inputSize
  const batch = new Float32Array(items.length * size * size)
  items.forEach(({ image, input }, i) => {
    validateImage(image)
    batch.set(input !== undefined && input.length === size * size ? input : imageToInput(image, size), i * size * size)
  })
  const x = tf.tensor4d(batch, [items.length, size, size, 1])
  const [scores, probabilities] = tf.tidy(() => {
    const p = model.predict(x)
    const maps = items.map(({ image }, i) => tf.image.resizeBilinear(tf.slice(p, [i, 0, 0, 0], [1, size, size, 1]), [image.height, image.width], false, true))
    return [imageScores(p), maps] as const
  })
  try {
    const s = await scores.data()
    const maps = await Promise.all(probabilities.map(async m => await m.data()))
    return maps.map((prob, i) => ({ probability: prob instanceof Float32Array ? prob : Float32Array.from(prob), score: s[i] }))
  } finally {
    tf.dispose([x, scores, ...probabilities])
  }
}

/** A detect-strange analyser, which also analyses several images per predict call. */
export interface DetectStrange extends Analyser {
  /** Analyses `items` with one predict call; the same results as `analyse` on each in turn. */
  analyseMany(items: Array<{ image: DecodedImage, input?: Float32Array }>): Promise<AnalysisResult[]>
}

/**
 * The detect-strange analyser for one model. Its `analyse` returns the result PNG (RGBA, source
 * size), lesion boxes in source pixels with their mean probability, the image score, the model CID
 * and the backend that ran. Throws INVALID for an image with bad dimensions or non-finite pixels.
 */
export function createDetectStrange (init: DetectStrangeInit): DetectStrange {
  const threshold = init.threshold ?? 0.5
  const alpha = init.overlayAlpha ?? 0.6
  const minModelPixels = init.minModelPixels ?? 2
  checkUnit('threshold', threshold)
  checkUnit('overlayAlpha', alpha)
  if (!Number.isFinite(minModelPixels) || minModelPixels < 0) throw new AiInputError('minModelPixels must be ≥ 0')
  const side = init.model.config.inputSize
  const draw = (image: DecodedImage, { probability, score }: Prediction): AnalysisResult => {
    const sourcePerModelPixel = (image.width * image.height) / (side * side)
    const minArea = Math.max(1, Math.round(minModelPixels * sourcePerModelPixel))
    const { boxes, labels } = findLesions(probability, image.width, image.height, { threshold, minArea })
    const rgba = renderOverlay(image, probability, labels, boxes, { alpha })
    // The kept regions' mask rides in the PNG (result-mask.ts): what the DICOM Segmentation is made from.
    const png = withResultMask(encodePng(rgba, image.width, image.height, 4, { fast: true }), packMask(labels, image.width, image.height))
    return {
      // One filter for every row: the analysis worker's largest cost after the prediction.
      png,
      score,
      boxes,
      model: init.modelCid,
      backend: activeBackend()
    }
  }
  let weights: Uint8Array | undefined
  return {
    model: init.modelCid,
    inputSize: side,
    // MCW1 bytes of the model (made once, on first ask): what an analysis worker loads.
    weights: () => (weights ??= serializeWeights(init.model)),
    async analyse (image: DecodedImage, input?: Float32Array): Promise<AnalysisResult> {
      return draw(image, await predictImage(init.model, image, input))
    },
    async analyseMany (items) {
      const predictions = await predictImages(init.model, items)
      return predictions.map((p, i) => draw(items[i].image, p))
    }
  }
}
