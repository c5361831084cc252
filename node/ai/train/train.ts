// Local training and validation of the segmenter: the "learn" and "validate" steps of the seed's
// federated loop (docs/design.md §6). Loss is lesion-size-weighted binary cross-entropy plus weighted soft
// Dice; with FedProx a proximal term keeps local weights near the round's global weights (Li et al.,
// MLSys 2020, eq. 2). Adam's step size can follow a cosine from one value to another (Loshchilov &
// Hutter, SGDR, ICLR 2017, eq. 5, without restarts), and batches are augmented by the eight
// flips and 90° rotations of the square (lesions have no orientation).
import * as tf from '@tensorflow/tfjs'
import { MedichainError } from '../../../protocol/errors.ts'
import { AiInputError } from '../errors.ts'
import { auroc, diceFromCounts } from './metrics.ts'
import { imageScores } from '../model/model.ts'
import type { SegmentationModel } from '../model/model.ts'
import { hasLesion, imageToInput, lesionWeights, maskToTarget, validateImage, validateMask } from '../model/preprocess.ts'
import { createPrng, shuffledIndices } from '../model/prng.ts'
import { sizeOf } from '../model/unet-config.ts'
import type { DecodedImage } from '../../imaging/types.ts'

/** One labelled image: the decoded frame and its ground-truth mask (one byte per pixel, non-zero = lesion). */
export interface TrainSample { image: DecodedImage, mask: Uint8Array }

/** Options of trainLocal. */
export interface TrainOptions {
  epochs: number
  batchSize: number
  /** Adam step size (Kingma & Ba, 2015) at the first step. */
  learningRate: number
  /**
   * Step size at the last step, reached by a cosine from learningRate; default learningRate
   * (constant). A federated round passes the two ends of its share of the task's schedule.
   */
  learningRateEnd?: number
  /** FedProx μ; 0 or absent trains plain FedAvg clients. */
  proximalMu?: number
  /** The round's global weights, in layout order; required when proximalMu > 0. */
  globalWeights?: readonly Float32Array[]
  /** Seeds shuffling and flips; default 0. */
  seed?: number
  /** A random flip/90° rotation (one of the square's 8 symmetries) per batch; default true. */
  augment?: boolean
  /** Aborts between batches (a round deadline); the model keeps the steps already taken. */
  signal?: AbortSignal
  /** Called (and awaited) after each epoch with its mean loss. */
  onEpoch?: (epoch: number, loss: number) => void | Promise<void>
}

/** What a local training run reports (the update's "local loss" and "sample count"). */
export interface TrainResult {
  /** Mean task loss (weighted BCE + Dice, without the proximal term) over the last epoch. */
  loss: number
  samples: number
  epochLosses: number[]
}

/** Validation figures of a model on a labelled set. */
export interface EvalResult {
  /** The training loss (weighted BCE plus 1 − weighted soft Dice), over the whole set. */
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
 * Lesions smaller than this fraction of the model input are weighted up to it (lesionWeights): at
 * 128×128 about 100 pixels, a disc of radius 5.6 px. Measured in docs/benchmarks.md: held-out AUROC
 * and the first epochs' progress both gain, because the many small lesions stop being a rounding
 * error of the pixel loss.
 */
export const LESION_REFERENCE_FRACTION = 0.006

/** Per-pixel BCE on logits z and soft targets y, computed stably as max(z, 0) − z·y + log(1 + e^−|z|). */
function bceMap (z: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.softplus(tf.neg(tf.abs(z))))
}

/**
 * The training loss on logits z, soft targets y and per-pixel weights w (all 1 when absent): the
 * weighted mean BCE, plus 1 − soft Dice with every pixel counted w times, pooled over the batch.
 */
export function segmentationLoss (logits: tf.Tensor4D, target: tf.Tensor4D, weights?: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const w = weights ?? tf.onesLike(target)
    const bce = tf.div(tf.sum(tf.mul(bceMap(logits, target), w)), tf.sum(w))
    const p = tf.sigmoid(logits)
    const overlap = tf.sum(tf.mul(tf.mul(p, target), w))
    const total = tf.add(tf.sum(tf.mul(p, w)), tf.sum(tf.mul(target, w)))
    const dice = tf.div(tf.add(tf.mul(overlap, 2), DICE_SMOOTH), tf.add(total, DICE_SMOOTH))
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

interface SampleTensors { x: tf.Tensor4D, y: tf.Tensor4D, w: tf.Tensor4D }

/** Inputs, targets and loss weights of all samples as [N, S, S, 1] tensors (the caller disposes them). */
function toTensors (samples: readonly TrainSample[], size: number): SampleTensors {
  const plane = size * size
  const referenceArea = LESION_REFERENCE_FRACTION * plane
  const xs = new Float32Array(samples.length * plane)
  const ys = new Float32Array(samples.length * plane)
  const ws = new Float32Array(samples.length * plane)
  samples.forEach((s, i) => {
    const target = maskToTarget(s.mask, s.image.width, s.image.height, size)
    xs.set(imageToInput(s.image, size), i * plane)
    ys.set(target, i * plane)
    ws.set(lesionWeights(target, size, referenceArea), i * plane)
  })
  const shape: [number, number, number, number] = [samples.length, size, size, 1]
  return { x: tf.tensor4d(xs, shape), y: tf.tensor4d(ys, shape), w: tf.tensor4d(ws, shape) }
}

function checkOptions (model: SegmentationModel, o: TrainOptions): void {
  checkPositive('epochs', o.epochs, true)
  checkPositive('batchSize', o.batchSize, true)
  checkPositive('learningRate', o.learningRate, false)
  const end = o.learningRateEnd ?? o.learningRate
  if (!Number.isFinite(end) || end < 0) throw new AiInputError(`learningRateEnd must be ≥ 0, got ${end}`)
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

/** Adam whose step size can be changed between steps (tfjs keeps it in a protected field). */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate (rate: number): void {
    this.learningRate = rate
  }
}

/** Cosine interpolation from `from` (t = 0) to `to` (t = 1). */
function cosineBetween (from: number, to: number, t: number): number {
  return to + (from - to) * (1 + Math.cos(Math.PI * t)) / 2
}

/** Transformations of one batch: axes to reverse and whether to swap rows and columns. */
interface View { flips: number[], transpose: boolean }

/** One of the square's 8 symmetries, uniformly (identity when augmentation is off). */
function randomView (augment: boolean, prng: { next: () => number }): View {
  if (!augment) return { flips: [], transpose: false }
  return { flips: [1, 2].filter(() => prng.next() < 0.5), transpose: prng.next() < 0.5 }
}

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
  const data = toTensors(samples, model.config.inputSize)
  const global = mu > 0 && options.globalWeights !== undefined
    ? options.globalWeights.map((w, i) => tf.tensor(w, model.layout[i].shape))
    : []
  const optimizer = new ScheduledAdam(options.learningRate, 0.9, 0.999)
  const steps = options.epochs * Math.ceil(samples.length / options.batchSize)
  const rateEnd = options.learningRateEnd ?? options.learningRate
  const epochLosses: number[] = []
  let step = 0
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const order = shuffledIndices(samples.length, prng)
      let sum = 0
      for (let start = 0; start < order.length; start += options.batchSize) {
        if (options.signal?.aborted === true) throw new TrainingAbortedError()
        const batch = order.slice(start, start + options.batchSize)
        const view = randomView(options.augment !== false, prng)
        optimizer.setLearningRate(cosineBetween(options.learningRate, rateEnd, steps > 1 ? step / (steps - 1) : 0))
        sum += trainBatch(model, optimizer, data, batch, view, mu, global) * batch.length
        step++
        await yieldToLoop()
      }
      epochLosses.push(sum / samples.length)
      await options.onEpoch?.(epoch, sum / samples.length)
    }
  } finally {
    optimizer.dispose()
    tf.dispose([data.x, data.y, data.w, ...global])
  }
  return { loss: epochLosses[epochLosses.length - 1], samples: samples.length, epochLosses }
}

/** `t` seen through `view` (the same view is applied to inputs, targets and weights). */
function applyView (t: tf.Tensor4D, view: View): tf.Tensor4D {
  let out = view.flips.length > 0 ? tf.reverse(t, view.flips) : t
  if (view.transpose) out = tf.transpose(out, [0, 2, 1, 3])
  return out
}

/** One Adam step on the samples `batch` of `data`, seen through `view`; returns the task loss. */
function trainBatch (model: SegmentationModel, optimizer: tf.Optimizer, data: SampleTensors,
  batch: number[], view: View, mu: number, global: tf.Tensor[]): number {
  const kept: { task?: tf.Scalar } = {}
  tf.tidy(() => {
    const index = tf.tensor1d(batch, 'int32')
    const [xb, yb, wb] = [data.x, data.y, data.w].map(t => applyView(tf.gather(t, index), view))
    optimizer.minimize(() => {
      const loss = segmentationLoss(model.logits(xb), yb, wb)
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
  // [Σw·bce, Σw·p·y, Σw·p, Σw·y, Σw, TP, FP, FN] over every pixel of the set.
  const totals = new Float64Array(8)
  const scores: number[] = []
  for (let start = 0; start < samples.length; start += batchSize) {
    const part = samples.slice(start, start + batchSize)
    const { x, y, w } = toTensors(part, size)
    const [sums, batchScores] = tf.tidy(() => {
      const z = model.logits(x)
      const p = tf.sigmoid(z)
      const hard = tf.cast(tf.greater(p, 0.5), 'float32')
      const truth = tf.cast(tf.greater(y, 0.5), 'float32')
      const tp = tf.sum(tf.mul(hard, truth))
      const stats = tf.stack([
        tf.sum(tf.mul(bceMap(z, y), w)), tf.sum(tf.mul(tf.mul(p, y), w)), tf.sum(tf.mul(p, w)), tf.sum(tf.mul(y, w)), tf.sum(w),
        tp, tf.sub(tf.sum(hard), tp), tf.sub(tf.sum(truth), tp)
      ])
      return [stats, imageScores(p)]
    })
    const values = await sums.data()
    values.forEach((v, i) => { totals[i] += v })
    scores.push(...await batchScores.data())
    tf.dispose([x, y, w, sums, batchScores])
  }
  const softDice = (2 * totals[1] + DICE_SMOOTH) / (totals[2] + totals[3] + DICE_SMOOTH)
  const area = auroc(scores, samples.map(s => hasLesion(s.mask)))
  return {
    loss: totals[0] / totals[4] + (1 - softDice),
    dice: diceFromCounts(totals[5], totals[6], totals[7]),
    ...(area === undefined ? {} : { auroc: area }),
    samples: samples.length
  }
}
