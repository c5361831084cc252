// Local training and validation on generated phantoms: a few epochs lower the loss, FedProx keeps
// weights nearer the global model, an aborted run stops with ABORTED, every bad option or sample is
// refused with INVALID, and neither training nor evaluation leaks tensors.
import * as tf from '@tensorflow/tfjs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { createModel } from '../../../node/ai/model/model.ts'
import type { SegmentationModel } from '../../../node/ai/model/model.ts'
import { evaluate, segmentationLoss, trainLocal } from '../../../node/ai/train/train.ts'
import { lesionWeights } from '../../../node/ai/model/preprocess.ts'
import type { TrainSample } from '../../../node/ai/train/train.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { rejects } from '../../helpers/assert.ts'

const SMALL = { inputSize: 32, base: 4, depth: 2 }

function phantoms (from: number, count: number, size: number): TrainSample[] {
  return Array.from({ length: count }, (_, i) => {
    const p = generatePhantom(from + i, { size, contrast: 2 })
    return { image: { format: 'png', width: size, height: size, bitsStored: 8, pixels: p.pixels, modality: 'OT' }, mask: p.mask }
  })
}

const train = phantoms(100, 32, 64)
const held = phantoms(9000, 16, 64)

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

function distance (a: Float32Array[], b: readonly Float32Array[]): number {
  let s = 0
  a.forEach((w, i) => { for (let j = 0; j < w.length; j++) s += (w[j] - b[i][j]) ** 2 })
  return Math.sqrt(s)
}

test('a few epochs on 32 phantoms lower training and held-out loss, without leaking tensors', async () => {
  const model = createModel(1, { inputSize: 64, base: 4, depth: 2 })
  const before = tf.memory().numTensors
  const start = await evaluate(model, held)
  const seen: number[] = []
  const result = await trainLocal(model, train, { epochs: 4, batchSize: 8, learningRate: 0.005, seed: 1, onEpoch: (_e, l) => { seen.push(l) } })
  const end = await evaluate(model, held)
  assert.is(result.samples, 32)
  assert.equal(result.epochLosses, seen)
  assert.is(result.loss, seen[3])
  assert.ok(seen[3] < seen[0], `training loss ${seen.join(' → ')}`)
  assert.ok(end.loss < start.loss, `held-out loss ${start.loss} → ${end.loss}`)
  assert.ok(end.dice >= 0 && end.dice <= 1)
  assert.ok(end.auroc !== undefined && end.auroc >= 0 && end.auroc <= 1)
  assert.is(end.samples, 16)
  assert.is(tf.memory().numTensors, before)
  model.dispose()
})

test('training is deterministic for a seed', async () => {
  const run = async (): Promise<Float32Array[]> => {
    const model = createModel(2, SMALL)
    await trainLocal(model, train.slice(0, 8), { epochs: 1, batchSize: 4, learningRate: 0.01, seed: 3 })
    const w = model.getWeights()
    model.dispose()
    return w
  }
  assert.equal(distance(await run(), await run()), 0)
})

test('FedProx: a proximal term keeps local weights closer to the global ones', async () => {
  const local = async (mu: number): Promise<number> => {
    const model = createModel(3, SMALL)
    const global = model.getWeights()
    await trainLocal(model, train.slice(0, 16), { epochs: 2, batchSize: 4, learningRate: 0.01, seed: 4, proximalMu: mu, globalWeights: global })
    const d = distance(model.getWeights(), global)
    model.dispose()
    return d
  }
  const plain = await local(0)
  const prox = await local(50)
  assert.ok(prox < plain * 0.9, `‖w − g‖: FedAvg ${plain}, FedProx ${prox}`)
})

test('an aborted signal stops training with ABORTED and no leaked tensors', async () => {
  const model = createModel(4, SMALL)
  const before = tf.memory().numTensors
  const controller = new AbortController()
  controller.abort()
  await rejects(async () => await trainLocal(model, train, { epochs: 1, batchSize: 4, learningRate: 0.01, signal: controller.signal }), 'ABORTED')
  assert.is(tf.memory().numTensors, before)
  model.dispose()
})

test('lesionWeights: each lesion smaller than the reference area weighs as much as one of that area', () => {
  // A 6×6 target: one lesion of 2 full pixels, one of 4 (a 2×2 block, one pixel half covered),
  // and background. Reference area 8: the first lesion's pixels weigh 4, the second's 8 / 3.5.
  const t = new Float32Array(36)
  t[0] = 1; t[1] = 1
  t[3 * 6 + 3] = 1; t[3 * 6 + 4] = 1; t[4 * 6 + 3] = 1; t[4 * 6 + 4] = 0.5
  const w = lesionWeights(t, 6, 8)
  assert.is(w[0], 4)
  assert.is(w[1], 4)
  assert.ok(Math.abs(w[3 * 6 + 3] - 8 / 3.5) < 1e-6)
  assert.ok(Math.abs(w[4 * 6 + 4] - (1 + (8 / 3.5 - 1) * 0.5)) < 1e-6)
  assert.is(w[2], 1)
  assert.is(w[35], 1)
  // Lesions at or above the reference area are not weighted up; diagonal neighbours are one lesion.
  const big = lesionWeights(Float32Array.from([1, 0, 0, 1]), 2, 2)
  assert.equal([...big], [1, 1, 1, 1])
  assert.equal([...lesionWeights(Float32Array.from([1, 0, 0, 1]), 2, 4)], [2, 1, 1, 2])
})

test('segmentationLoss: unit weights give plain BCE + soft Dice; weights move it', () => {
  const z = tf.tensor4d([2, -1, 0.5, -3], [1, 2, 2, 1])
  const y = tf.tensor4d([1, 0, 1, 0], [1, 2, 2, 1])
  const sig = (v: number): number => 1 / (1 + Math.exp(-v))
  const zs = [2, -1, 0.5, -3]
  const ys = [1, 0, 1, 0]
  const bce = zs.reduce((s, v, i) => s - (ys[i] * Math.log(sig(v)) + (1 - ys[i]) * Math.log(1 - sig(v))), 0) / 4
  const p = zs.map(sig)
  const dice = (2 * (p[0] + p[2]) + 1) / (p.reduce((a, b) => a + b, 0) + 2 + 1)
  const plain = segmentationLoss(z, y)
  const ones = segmentationLoss(z, y, tf.onesLike(y))
  const heavy = segmentationLoss(z, y, tf.tensor4d([1, 1, 5, 1], [1, 2, 2, 1]))
  assert.ok(Math.abs(plain.dataSync()[0] - (bce + 1 - dice)) < 1e-5)
  assert.ok(Math.abs(ones.dataSync()[0] - plain.dataSync()[0]) < 1e-6)
  // The under-confident lesion pixel (z = 0.5) weighs more, so the loss rises.
  assert.ok(heavy.dataSync()[0] > plain.dataSync()[0] + 0.01)
  tf.dispose([z, y, plain, ones, heavy])
})

test('bad options and samples are refused with INVALID before any step', async () => {
  const model: SegmentationModel = createModel(5, SMALL)
  const w0 = model.getWeights()
  const ok = { epochs: 1, batchSize: 4, learningRate: 0.01 }
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['epochs 0', async () => await trainLocal(model, train, { ...ok, epochs: 0 })],
    ['fractional batch', async () => await trainLocal(model, train, { ...ok, batchSize: 1.5 })],
    ['NaN learning rate', async () => await trainLocal(model, train, { ...ok, learningRate: Number.NaN })],
    ['negative end learning rate', async () => await trainLocal(model, train, { ...ok, learningRateEnd: -0.001 })],
    ['infinite end learning rate', async () => await trainLocal(model, train, { ...ok, learningRateEnd: Number.POSITIVE_INFINITY })],
    ['negative mu', async () => await trainLocal(model, train, { ...ok, proximalMu: -1 })],
    ['mu without global weights', async () => await trainLocal(model, train, { ...ok, proximalMu: 0.1 })],
    ['global weights of another layout', async () => await trainLocal(model, train, { ...ok, proximalMu: 0.1, globalWeights: w0.slice(1) })],
    ['no samples', async () => await trainLocal(model, [], ok)],
    ['short mask', async () => await trainLocal(model, [{ ...train[0], mask: new Uint8Array(10) }], ok)],
    ['bad image', async () => await trainLocal(model, [{ ...train[0], image: { ...train[0].image, width: 0 } }], ok)],
    ['evaluate: no samples', async () => await evaluate(model, [])],
    ['evaluate: bad batch', async () => await evaluate(model, held, { batchSize: 0 })]
  ]
  for (const [name, run] of cases) {
    try {
      await rejects(run, 'INVALID')
    } catch (err) {
      assert.unreachable(`${name}: ${String(err)}`)
    }
  }
  assert.is(distance(model.getWeights(), w0), 0)
  model.dispose()
})

test.run()
