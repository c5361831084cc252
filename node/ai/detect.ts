// Detect-strange, the analyser of the upload pipeline (docs/design.md §5 step 2, §6): the current model's
// lesion probability map for an image, lesion boxes, an image-level abnormality score, and the
// result image (PNG overlay), all stamped with the CID of the weights that produced them.
import * as tf from '@tensorflow/tfjs'
import type { CID } from 'multiformats/cid'
import type { Analyser, AnalysisResult } from '../analysis/analyser.ts'
import { encodePng } from '../imaging/encode.ts'
import type { DecodedImage } from '../imaging/types.ts'
import { activeBackend } from './backend.ts'
import { findLesions } from './components.ts'
import { AiInputError } from './errors.ts'
import { imageScores } from './model.ts'
import type { SegmentationModel } from './model.ts'
import { renderOverlay } from './overlay.ts'
import { imageToInput, validateImage } from './preprocess.ts'

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
 * The detect-strange analyser for one model. Its `analyse` returns the result PNG (RGBA, source
 * size), lesion boxes in source pixels with their mean probability, the image score, the model CID
 * and the backend that ran. Throws INVALID for an image with bad dimensions or non-finite pixels.
 */
export function createDetectStrange (init: DetectStrangeInit): Analyser {
  const threshold = init.threshold ?? 0.5
  const alpha = init.overlayAlpha ?? 0.6
  const minModelPixels = init.minModelPixels ?? 2
  checkUnit('threshold', threshold)
  checkUnit('overlayAlpha', alpha)
  if (!Number.isFinite(minModelPixels) || minModelPixels < 0) throw new AiInputError('minModelPixels must be ≥ 0')
  const side = init.model.config.inputSize
  return {
    model: init.modelCid,
    inputSize: side,
    async analyse (image: DecodedImage, input?: Float32Array): Promise<AnalysisResult> {
      const { probability, score } = await predictImage(init.model, image, input)
      const sourcePerModelPixel = (image.width * image.height) / (side * side)
      const minArea = Math.max(1, Math.round(minModelPixels * sourcePerModelPixel))
      const { boxes, labels } = findLesions(probability, image.width, image.height, { threshold, minArea })
      const rgba = renderOverlay(image, probability, labels, boxes, { alpha })
      return {
        png: encodePng(rgba, image.width, image.height, 4),
        score,
        boxes,
        model: init.modelCid,
        backend: activeBackend()
      }
    }
  }
}
