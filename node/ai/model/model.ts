// The detect-strange segmenter (docs/design.md §6): a small U-Net for one-channel images whose output is a
// per-pixel lesion logit. Written on tfjs ops rather than tfjs-layers so that its parameters are a
// plain, ordered list of Float32Arrays (the unit federated learning averages) with stable names,
// and so that initialisation is reproducible from a seed on every backend.
import * as tf from '@tensorflow/tfjs'
import { createPrng } from './prng.ts'
import { DEFAULT_UNET, parameterLayout, parameterCount, sizeOf, validateConfig } from './unet-config.ts'
import type { ParamSpec, UNetConfig } from './unet-config.ts'
import { checkWeights, decodeWeights, encodeWeights } from './weights-format.ts'

// Logit of the head's initial bias: lesions cover a few per cent of pixels, so starting near that
// prior (sigmoid(−3) ≈ 0.05) keeps the first steps from being spent unlearning a 0.5 guess
// (Lin et al., "Focal Loss for Dense Object Detection", 2017, §3.3).
const HEAD_BIAS_PRIOR = -3

/** A U-Net whose parameters live in tfjs variables. Call dispose() when it is replaced. */
export interface SegmentationModel {
  readonly config: UNetConfig
  /** Parameter names and shapes, in the order of getWeights/setWeights. */
  readonly layout: readonly ParamSpec[]
  /** The trainable variables, in layout order. */
  readonly variables: readonly tf.Variable[]
  /** Number of trainable scalars. */
  readonly parameterCount: number
  /** Per-pixel lesion logits [N, S, S, 1] for inputs [N, S, S, 1], S = config.inputSize. */
  logits: (x: tf.Tensor4D) => tf.Tensor4D
  /** Per-pixel lesion probabilities, sigmoid of logits. */
  predict: (x: tf.Tensor4D) => tf.Tensor4D
  /** Copies of the parameters, in layout order. */
  getWeights: () => Float32Array[]
  /** Replaces the parameters; throws BAD_WEIGHTS unless they match the layout and are finite. */
  setWeights: (weights: readonly Float32Array[]) => void
  /** Frees the variables; the model is unusable afterwards. */
  dispose: () => void
}

/**
 * He-normal convolution kernels (He et al., ICCV 2015: variance 2 / fan-in, for ReLU), zero biases,
 * and a head started at the lesion prior. The same seed gives the same numbers on every backend.
 */
export function initialWeights (config: UNetConfig, seed: number): Float32Array[] {
  const prng = createPrng(seed)
  return parameterLayout(config).map(p => {
    const w = new Float32Array(sizeOf(p.shape))
    if (p.shape.length === 4) {
      const fanIn = p.shape[0] * p.shape[1] * p.shape[2]
      const std = Math.sqrt((p.name.startsWith('head') ? 1 : 2) / fanIn)
      for (let i = 0; i < w.length; i++) w[i] = prng.normal() * std
    } else if (p.name === 'head.b') {
      w.fill(HEAD_BIAS_PRIOR)
    }
    return w
  })
}

type ParamLookup = (name: string) => tf.Variable

/** A 3×3 (or 1×1 head) convolution with bias, 'same' padding, stride 1, optionally ReLU. */
function convLayer (param: ParamLookup, x: tf.Tensor4D, name: string, relu: boolean): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    filter: param(`${name}.w`) as tf.Tensor4D,
    bias: param(`${name}.b`),
    strides: 1,
    pad: 'same',
    activation: relu ? 'relu' : 'linear'
  })
}

/**
 * relu(conv(concat(up, skip), W) + b), computed as conv(up, W_up) + conv(skip, W_skip) on the two
 * channel slices of W: the same function and parameters, without materialising the concatenation
 * (whose copy and gradient split cost a tenth of a training step on wasm).
 */
function mergeSkip (param: ParamLookup, up: tf.Tensor4D, skip: tf.Tensor4D, name: string): tf.Tensor4D {
  const w = param(`${name}.w`) as tf.Tensor4D
  const [k, , , cout] = w.shape
  const cu = up.shape[3]
  const fromUp = tf.conv2d(up, tf.slice(w, [0, 0, 0, 0], [k, k, cu, cout]), 1, 'same')
  const fromSkip = tf.fused.conv2d({
    x: skip, filter: tf.slice(w, [0, 0, cu, 0], [k, k, skip.shape[3], cout]), bias: param(`${name}.b`), strides: 1, pad: 'same'
  })
  return tf.relu(tf.add(fromUp, fromSkip))
}

/** The U-Net forward pass: two convolutions per level, 2×2 max-pooling down, 2× up-sampling up. */
function unetLogits (config: UNetConfig, param: ParamLookup, x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const block = (h: tf.Tensor4D, name: string): tf.Tensor4D =>
      convLayer(param, convLayer(param, h, `${name}.c1`, true), `${name}.c2`, true)
    const skips: tf.Tensor4D[] = []
    let h = x
    for (let l = 0; l < config.depth; l++) {
      h = block(h, `enc${l}`)
      skips.push(h)
      h = tf.maxPool(h, 2, 2, 'valid')
    }
    h = block(h, 'mid')
    for (let l = config.depth - 1; l >= 0; l--) {
      h = convLayer(param, mergeSkip(param, upsample2(h), skips[l], `dec${l}.c1`), `dec${l}.c2`, true)
    }
    return convLayer(param, h, 'head', false)
  })
}

/** Builds a model around `weights`; throws BAD_WEIGHTS unless they fit the layout of `config`. */
function buildModel (config: UNetConfig, weights: readonly Float32Array[]): SegmentationModel {
  checkWeights(config, weights)
  const layout = parameterLayout(config)
  const variables = layout.map((p, i) => tf.tidy(() => tf.variable(tf.tensor(weights[i], p.shape), true)))
  const byName = new Map(layout.map((p, i) => [p.name, variables[i]]))
  const param = (name: string): tf.Variable => {
    const v = byName.get(name)
    if (v === undefined) throw new Error(`unet: no parameter ${name}`)
    return v
  }
  const logits = (x: tf.Tensor4D): tf.Tensor4D => unetLogits(config, param, x)
  return {
    config,
    layout,
    variables,
    parameterCount: parameterCount(config),
    logits,
    predict: x => tf.tidy(() => tf.sigmoid(logits(x))),
    getWeights: () => variables.map(v => new Float32Array(v.dataSync())),
    setWeights: w => {
      checkWeights(config, w)
      tf.tidy(() => variables.forEach((v, i) => v.assign(tf.tensor(w[i], layout[i].shape))))
    },
    dispose: () => variables.forEach(v => v.dispose())
  }
}

/**
 * Nearest-neighbour 2× up-sampling, before a convolution: unlike a transposed convolution it makes
 * no checkerboard artefacts (Odena et al., Distill 2016). Written as a broadcast multiply because
 * tfjs-backend-cpu 4.22's ResizeNearestNeighborGrad is wrong for batches of more than one image
 * (it reads every image's gradient from the first), which would silently corrupt cpu training.
 */
export function upsample2 (x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape
    const spread = tf.mul(tf.reshape(x, [n, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1]))
    return tf.reshape(spread, [n, h * 2, w * 2, c])
  })
}

/** A freshly initialised model; `config` defaults to DEFAULT_UNET (128×128, 121k parameters). */
export function createModel (seed: number, config: Partial<UNetConfig> = {}): SegmentationModel {
  const full = validateConfig({ ...DEFAULT_UNET, ...config })
  return buildModel(full, initialWeights(full, seed))
}

/** The model's weights in the deterministic MCW1 format (weights-format.ts). */
export function serializeWeights (model: SegmentationModel): Uint8Array {
  return encodeWeights(model.config, model.getWeights())
}

/** A model built from MCW1 bytes; throws BAD_WEIGHTS when they are malformed. */
export function loadWeights (bytes: Uint8Array): SegmentationModel {
  const { config, weights } = decodeWeights(bytes)
  return buildModel(config, weights)
}

/**
 * Image-level abnormality score from a probability map [N, S, S, 1]: the maximum of the map after
 * a 3×3 mean filter, so one stray pixel cannot raise it alone but a lesion of a few pixels can.
 * Returns [N] in [0, 1]. Training, validation AUROC and detect-strange all use this definition.
 */
export function imageScores (probabilities: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.max(tf.avgPool(probabilities, 3, 1, 'same'), [1, 2, 3]))
}
