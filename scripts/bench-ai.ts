// `npm run bench:ai`: detect-strange model figures (issue 4): backend start-up, inference latency
// for one 256×256 image on the active backend beside the cpu backend in the same run, and local
// training time per epoch. Output lines are `name: value`. `--quick` uses fewer runs and images.
// TODO(issue 4): centralised vs FedAvg Dice/AUROC and round overhead, once aggregation lands.
import type { Tensor4D } from '@tensorflow/tfjs'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { DecodedImage } from '../node/imaging/types.ts'
import { generatePhantom } from './synth/phantom.ts'

const quick = process.argv.includes('--quick')
const line = (name: string, value: number | string, digits = 1): void => {
  console.log(`${name}: ${typeof value === 'number' ? value.toFixed(digits) : value}`)
}

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

function phantomImage (seed: number, size = 256): { image: DecodedImage, mask: Uint8Array } {
  const p = generatePhantom(seed, { size })
  return { image: { format: 'png', width: size, height: size, bitsStored: 8, pixels: p.pixels, modality: 'OT' }, mask: p.mask }
}

let t = performance.now()
const tf = await import('@tensorflow/tfjs')
line('tfjs import (ms)', performance.now() - t)
const { activeBackend, initBackend } = await import('../node/ai/backend.ts')
const { createDetectStrange } = await import('../node/ai/detect.ts')
const { createModel, serializeWeights } = await import('../node/ai/model.ts')
const { trainLocal } = await import('../node/ai/train.ts')
t = performance.now()
const backend = await initBackend()
line('backend', backend)
line('backend init (ms)', performance.now() - t)

const model = createModel(1)
line('model parameters', model.parameterCount, 0)
line('model input (px)', model.config.inputSize, 0)
line('weights file (bytes)', serializeWeights(model).length, 0)
const cid = CID.create(1, raw.code, await sha256.digest(serializeWeights(model)))
const analyser = createDetectStrange({ model, modelCid: cid })
const image = phantomImage(42).image

/** Latencies (ms) of `runs` full analyses of one 256×256 image after two warm-up runs. */
async function analyseLatencies (runs: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < runs + 2; i++) {
    const start = performance.now()
    await analyser.analyse(image)
    if (i >= 2) out.push(performance.now() - start)
  }
  return out
}

/** Latencies (ms) of the model alone on one input. */
async function predictLatencies (runs: number): Promise<number[]> {
  const size = model.config.inputSize
  const x = tf.randomNormal([1, size, size, 1]) as Tensor4D
  const out: number[] = []
  for (let i = 0; i < runs + 2; i++) {
    const start = performance.now()
    const p = model.predict(x)
    await p.data()
    p.dispose()
    if (i >= 2) out.push(performance.now() - start)
  }
  x.dispose()
  return out
}

for (const name of [backend, 'cpu'] as const) {
  if (name !== backend) await tf.setBackend(name)
  const runs = name === 'cpu' ? (quick ? 3 : 10) : (quick ? 10 : 50)
  const predict = await predictLatencies(runs)
  const analyse = await analyseLatencies(runs)
  line(`${name} predict p50 (ms)`, percentile(predict, 50))
  line(`${name} predict p95 (ms)`, percentile(predict, 95))
  line(`${name} analyse 256x256 p50 (ms)`, percentile(analyse, 50))
  line(`${name} analyse 256x256 p95 (ms)`, percentile(analyse, 95))
}
await tf.setBackend(backend)

const count = quick ? 64 : 256
const samples = Array.from({ length: count }, (_, i) => phantomImage(1000 + i))
t = performance.now()
await trainLocal(model, samples, { epochs: 1, batchSize: 8, learningRate: 0.003 })
const epoch = (performance.now() - t) / 1000
line(`${activeBackend()} train epoch ${count} images (s)`, epoch)
line(`${activeBackend()} train per image (ms)`, (epoch * 1000) / count)
model.dispose()
