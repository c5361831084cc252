// Local training and validation on generated phantoms: a few epochs lower the loss, FedProx keeps
// weights nearer the global model, an aborted run stops with ABORTED, every bad option or sample is
// refused with INVALID, and neither training nor evaluation leaks tensors.
import * as tf from '@tensorflow/tfjs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { initBackend } from '../../node/ai/backend.ts'
import { createModel } from '../../node/ai/model.ts'
import type { SegmentationModel } from '../../node/ai/model.ts'
import { evaluate, trainLocal } from '../../node/ai/train.ts'
import type { TrainSample } from '../../node/ai/train.ts'
import { generatePhantom } from '../../scripts/synth/phantom.ts'
import { rejects } from '../helpers/assert.ts'

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

test('bad options and samples are refused with INVALID before any step', async () => {
  const model: SegmentationModel = createModel(5, SMALL)
  const w0 = model.getWeights()
  const ok = { epochs: 1, batchSize: 4, learningRate: 0.01 }
  const cases: Array<[string, () => Promise<unknown>]> = [
    ['epochs 0', async () => await trainLocal(model, train, { ...ok, epochs: 0 })],
    ['fractional batch', async () => await trainLocal(model, train, { ...ok, batchSize: 1.5 })],
    ['NaN learning rate', async () => await trainLocal(model, train, { ...ok, learningRate: Number.NaN })],
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
