// Trains the default detect-strange model that ships in node/ai/detect/default-model/, so that a fresh
// peer (`npm start`) analyses its first upload before any federated task has run. Reproducible:
// the synthetic phantoms, the initial weights and the shuffling all follow --seed, and training
// runs on the wasm backend, whose arithmetic is deterministic on one thread.
// Usage: npm run train:default-model [-- --seed 7 --images 192 --epochs 28 --held-out 96] (about 5
// minutes of CPU on one core; the shipped card records the command, its figures and its time)
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { initBackend, activeBackend } from '../node/ai/runtime/backend.ts'
import { DEFAULT_MODEL_CARD, DEFAULT_MODEL_WEIGHTS, weightsCid } from '../node/ai/detect/default-model.ts'
import { createModel, serializeWeights } from '../node/ai/model/model.ts'
import { evaluate, trainLocal } from '../node/ai/train/train.ts'
import type { TrainSample } from '../node/ai/train/train.ts'
import { DEFAULT_UNET, parameterCount } from '../node/ai/model/unet-config.ts'
import { generateDataset } from './synth/dataset.ts'

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '7' },
    images: { type: 'string', default: '192' },
    'held-out': { type: 'string', default: '96' },
    epochs: { type: 'string', default: '28' }
  }
})
const seed = Number(values.seed)
const images = Number(values.images)
const heldOut = Number(values['held-out'])
const epochs = Number(values.epochs)
const SIZE = DEFAULT_UNET.inputSize
const BATCH = 4
const LEARNING_RATE = 0.003

function samples (s: number, count: number): TrainSample[] {
  return [...generateDataset({ seed: s, count, hospitals: 1, nonIid: false, size: SIZE })].map(({ phantom }) => ({
    image: { format: 'png' as const, width: phantom.size, height: phantom.size, bitsStored: 8, pixels: phantom.pixels, modality: 'OT' },
    mask: phantom.mask
  }))
}

await initBackend({ prefer: 'wasm' })
const train = samples(seed, images)
const held = samples(seed + 1, heldOut)
const model = createModel(seed)
const started = performance.now()
await trainLocal(model, train, {
  epochs,
  batchSize: BATCH,
  learningRate: LEARNING_RATE,
  learningRateEnd: 0,
  seed,
  onEpoch: (e, loss) => { process.stdout.write(`epoch ${e + 1}/${epochs} loss ${loss.toFixed(4)}\n`) }
})
const seconds = (performance.now() - started) / 1000
const metrics = await evaluate(model, held)
const bytes = serializeWeights(model)
const cid = await weightsCid(bytes)
await writeFile(DEFAULT_MODEL_WEIGHTS, bytes)
const card = {
  name: 'detect-strange default (synthetic phantoms)',
  intendedUse: 'Demonstration and testing only. Trained on synthetic phantom images; NOT for clinical use.',
  weights: cid.toString(),
  bytes: bytes.length,
  architecture: { ...DEFAULT_UNET, parameters: parameterCount(DEFAULT_UNET) },
  training: {
    data: `scripts/synth phantoms: ${images} training images and ${heldOut} held-out images, ${SIZE}×${SIZE}, seeds ${seed} and ${seed + 1}`,
    epochs,
    batchSize: BATCH,
    learningRate: `${LEARNING_RATE}, cosine to 0`,
    seed,
    backend: activeBackend(),
    seconds: Math.round(seconds),
    command: `npm run train:default-model -- --seed ${seed} --images ${images} --held-out ${heldOut} --epochs ${epochs}`
  },
  heldOut: { dice: round3(metrics.dice), auroc: metrics.auroc === undefined ? null : round3(metrics.auroc), loss: round3(metrics.loss) },
  score: 'the probability that the image holds an abnormal region, according to this model'
}
await writeFile(DEFAULT_MODEL_CARD, `${JSON.stringify(card, null, 2)}\n`)
process.stdout.write(`wrote ${DEFAULT_MODEL_WEIGHTS} (${bytes.length} bytes, ${cid.toString()}): held-out Dice ${card.heldOut.dice}, AUROC ${card.heldOut.auroc}\n`)
model.dispose()

function round3 (v: number): number { return Math.round(v * 1000) / 1000 }
