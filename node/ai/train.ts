// Local training and validation of the segmenter: the "learn" and "validate" steps of the seed's
// federated loop (DESIGN §6). Loss is binary cross-entropy plus soft Dice; with FedProx a proximal
// term keeps local weights near the round's global weights (Li et al., MLSys 2020, eq. 2).
import * as tf from '@tensorflow/tfjs'
import { MedichainError } from '../../protocol/errors.ts'
import { AiInputError } from './errors.ts'
import { auroc, diceFromCounts } from './metrics.ts'
import { imageScores } from './model.ts'
import type { SegmentationModel } from './model.ts'
import { hasLesion, imageToInput, maskToTarget, validateImage, validateMask } from './preprocess.ts'
import { createPrng, shuffledIndices } from './prng.ts'
import { sizeOf } from './unet-config.ts'
import type { DecodedImage } from '../imaging/types.ts'

/** One labelled image: the decoded frame and its ground-truth mask (one byte per pixel, non-zero = lesion). */
export interface TrainSample { image: DecodedImage, mask: Uint8Array }

/** Options of trainLocal. */
export interface TrainOptions {
  epochs: number
  batchSize: number
  /** Adam step size (Kingma & Ba, 2015). */
  learningRate: number
  /** FedProx μ; 0 or absent trains plain FedAvg clients. */
  proximalMu?: number
  /** The round's global weights, in layout order; required when proximalMu > 0. */
  globalWeights?: readonly Float32Array[]
  /** Seeds shuffling and flips; default 0. */
  seed?: number
  /** Random horizontal and vertical flips per batch; default true. */
  augment?: boolean
  /** Aborts between batches (a round deadline); the model keeps the steps already taken. */
  signal?: AbortSignal
  /** Called (and awaited) after each epoch with its mean loss. */
  onEpoch?: (epoch: number, loss: number) => void | Promise<void>
}

/** What a local training run reports (the update's "local loss" and "sample count"). */
export interface TrainResult {
  /** Mean task loss (BCE + Dice, without the proximal term) over the last epoch. */
  loss: number
  samples: number
  epochLosses: number[]
}

/** Validation figures of a model on a labelled set. */
export interface EvalResult {
  /** Mean pixel BCE plus (1 − soft Dice), both over the whole set. */
  loss: number
  /** Hard Dice at probability 0.5, pixel counts pooled over the whole set. */
  dice: number
  /** Image-level AUROC of imageScores against "has a lesion"; absent when one class is missing. */
  auroc?: number
  samples: number
}

/** Thrown when training is aborted through its signal (e.g. the round's deadline passed). */
export class TrainingAbortedError extends MedichainError {
  constructor () {
    super('ABORTED', 'local training was aborted')
    this.name = 'TrainingAbortedError'
  }
}

// Additive smoothing of the soft Dice ratio, in pixels: keeps the gradient finite on batches with
// no lesion at all (Milletari et al., V-Net, 3DV 2016, use the squared form; this is the linear one).
const DICE_SMOOTH = 1

/**
 * The training loss on logits z and soft targets y: mean BCE, computed stably as
 * max(z, 0) − z·y + log(1 + e^−|z|), plus 1 − soft Dice pooled over the batch.
 */
export function segmentationLoss (logits: tf.Tensor4D, target: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const bce = tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, target)), tf.softplus(tf.neg(tf.abs(logits)))))
    const p = tf.sigmoid(logits)
    const overlap = tf.sum(tf.mul(p, target))
    const dice = tf.div(tf.add(tf.mul(overlap, 2), DICE_SMOOTH), tf.add(tf.add(tf.sum(p), tf.sum(target)), DICE_SMOOTH))
    return tf.add(bce, tf.sub(1, dice))
  })
}

function checkPositive (name: string, v: number, integer: boolean): void {
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v))) {
    throw new AiInputError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${v}`)
  }
}

function checkSamples (samples: readonly TrainSample[]): void {
  if (samples.length === 0) throw new AiInputError('at least one sample is needed')
  for (const s of samples) {
    validateImage(s.image)
    validateMask(s.mask, s.image.width, s.image.height)
  }
}

/** Inputs and targets of all samples as two [N, S, S, 1] tensors (the caller disposes them). */
function toTensors (samples: readonly TrainSample[], size: number): { x: tf.Tensor4D, y: tf.Tensor4D } {
  const plane = size * size
  const xs = new Float32Array(samples.length * plane)
  const ys = new Float32Array(samples.length * plane)
  samples.forEach((s, i) => {
    xs.set(imageToInput(s.image, size), i * plane)
    ys.set(maskToTarget(s.mask, s.image.width, s.image.height, size), i * plane)
  })
  return { x: tf.tensor4d(xs, [samples.length, size, size, 1]), y: tf.tensor4d(ys, [samples.length, size, size, 1]) }
}

function checkOptions (model: SegmentationModel, o: TrainOptions): void {
  checkPositive('epochs', o.epochs, true)
  checkPositive('batchSize', o.batchSize, true)
  checkPositive('learningRate', o.learningRate, false)
  const mu = o.proximalMu ?? 0
  if (!Number.isFinite(mu) || mu < 0) throw new AiInputError(`proximalMu must be ≥ 0, got ${mu}`)
  if (mu > 0) {
    const g = o.globalWeights
    if (g === undefined || g.length !== model.layout.length || g.some((w, i) => w.length !== sizeOf(model.layout[i].shape))) {
      throw new AiInputError('proximalMu > 0 needs globalWeights in the model layout')
    }
  }
}

/** Lets the event loop run (gossip, HTTP) between batches: tfjs on wasm and cpu is synchronous. */
const yieldToLoop = async (): Promise<void> => await new Promise(resolve => setImmediate(resolve))

/**
 * Trains `model` in place on `samples` with Adam, returning the last epoch's mean task loss. With
 * proximalMu > 0 the loss adds (μ/2)·‖w − w_global‖² (FedProx). Throws INVALID on bad input and
 * ABORTED when `signal` fires.
 */
export async function trainLocal (model: SegmentationModel, samples: readonly TrainSample[], options: TrainOptions): Promise<TrainResult> {
  checkOptions(model, options)
  checkSamples(samples)
  const mu = options.proximalMu ?? 0
  const prng = createPrng(options.seed ?? 0)
  const { x, y } = toTensors(samples, model.config.inputSize)
  const global = mu > 0 && options.globalWeights !== undefined
    ? options.globalWeights.map((w, i) => tf.tensor(w, model.layout[i].shape))
    : []
  const optimizer = tf.train.adam(options.learningRate)
  const epochLosses: number[] = []
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = shuffledIndices(samples.length, prng)
      let sum = 0
      for (let start = 0; start < order.length; start += options.batchSize) {
        if (options.signal?.aborted === true) throw new TrainingAbortedError()
        const batch = order.slice(start, start + options.batchSize)
        const flips = options.augment === false ? [] : [1, 2].filter(() => prng.next() < 0.5)
        sum += trainBatch(model, optimizer, x, y, batch, flips, mu, global) * batch.length
        await yieldToLoop()
      }
      epochLosses.push(sum / samples.length)
      await options.onEpoch?.(epoch, sum / samples.length)
    }
  } finally {
    optimizer.dispose()
    tf.dispose([x, y, ...global])
  }
  return { loss: epochLosses[epochLosses.length - 1], samples: samples.length, epochLosses }
}

/** One Adam step on the samples `batch` of x/y, flipped along `flips` axes; returns the task loss. */
function trainBatch (model: SegmentationModel, optimizer: tf.Optimizer, x: tf.Tensor4D, y: tf.Tensor4D,
  batch: number[], flips: number[], mu: number, global: tf.Tensor[]): number {
  const kept: { task?: tf.Scalar } = {}
  tf.tidy(() => {
    const index = tf.tensor1d(batch, 'int32')
    let xb = tf.gather(x, index)
    let yb = tf.gather(y, index)
    if (flips.length > 0) {
      xb = tf.reverse(xb, flips)
      yb = tf.reverse(yb, flips)
    }
    optimizer.minimize(() => {
      const loss = segmentationLoss(model.logits(xb), yb)
      kept.task = tf.keep(loss.clone())
      if (mu === 0) return loss
      const drift = tf.addN(model.variables.map((v, i) => tf.sum(tf.square(tf.sub(v, global[i])))))
      return tf.add(loss, tf.mul(drift, mu / 2))
    }, false, [...model.variables])
  })
  const task = kept.task
  if (task === undefined) throw new Error('train: the loss function did not run')
  const value = task.dataSync()[0]
  task.dispose()
  return value
}

/**
 * Validation of `model` on labelled `samples` (the coordinator's held-out set): loss as in training,
 * hard Dice, and image-level AUROC of imageScores. Runs in batches; no gradients are kept.
 */
export async function evaluate (model: SegmentationModel, samples: readonly TrainSample[], options: { batchSize?: number } = {}): Promise<EvalResult> {
  checkSamples(samples)
  const batchSize = options.batchSize ?? 16
  checkPositive('batchSize', batchSize, true)
  const size = model.config.inputSize
  // [bce sum, Σp·y, Σp, Σy, TP, FP, FN] over every pixel of the set.
  const totals = new Float64Array(7)
  const scores: number[] = []
  for (let start = 0; start < samples.length; start += batchSize) {
    const part = samples.slice(start, start + batchSize)
    const { x, y } = toTensors(part, size)
    const [sums, batchScores] = tf.tidy(() => {
      const z = model.logits(x)
      const p = tf.sigmoid(z)
      const bce = tf.sum(tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.softplus(tf.neg(tf.abs(z)))))
      const hard = tf.cast(tf.greater(p, 0.5), 'float32')
      const truth = tf.cast(tf.greater(y, 0.5), 'float32')
      const tp = tf.sum(tf.mul(hard, truth))
      const stats = tf.stack([bce, tf.sum(tf.mul(p, y)), tf.sum(p), tf.sum(y), tp, tf.sub(tf.sum(hard), tp), tf.sub(tf.sum(truth), tp)])
      return [stats, imageScores(p)]
    })
    const values = await sums.data()
    values.forEach((v, i) => { totals[i] += v })
    scores.push(...await batchScores.data())
    tf.dispose([x, y, sums, batchScores])
  }
  const pixels = samples.length * size * size
  const softDice = (2 * totals[1] + DICE_SMOOTH) / (totals[2] + totals[3] + DICE_SMOOTH)
  const area = auroc(scores, samples.map(s => hasLesion(s.mask)))
  return {
    loss: totals[0] / pixels + (1 - softDice),
    dice: diceFromCounts(totals[4], totals[5], totals[6]),
    ...(area === undefined ? {} : { auroc: area }),
    samples: samples.length
  }
}
