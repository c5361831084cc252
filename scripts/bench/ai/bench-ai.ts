// `npm run bench:ai`: detect-strange model figures (issue 4): backend start-up, inference latency
// for one 256×256 image on the active backend beside the cpu backend in the same run, and local
// training time per epoch; then federated learning: centralised vs FedAvg across three non-IID
// hospitals (held-out Dice and AUROC, same total epochs) and the round overhead of three peer
// processes on loopback. Output lines are `name: value`. `--quick` uses fewer runs, images and
// seeds; `--seeds 7,17,…` sets the seeds of the quality comparison, `--task '{"mu":0.01}'` gives its federated
// arm further task options and `--central-epochs N` its centralised arm's epochs.
import type { Tensor4D } from '@tensorflow/tfjs'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { DecodedImage } from '../../../node/imaging/types.ts'
import { generatePhantom } from '../../synth/phantom.ts'

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
const { activeBackend, initBackend } = await import('../../../node/ai/runtime/backend.ts')
const { createDetectStrange } = await import('../../../node/ai/detect/detect.ts')
const { createModel, serializeWeights } = await import('../../../node/ai/model/model.ts')
const { trainLocal } = await import('../../../node/ai/train/train.ts')
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
await trainLocal(model, samples, { epochs: 1, batchSize: 4, learningRate: 0.003 })
const epoch = (performance.now() - t) / 1000
line(`${activeBackend()} train epoch ${count} images (s)`, epoch)
line(`${activeBackend()} train per image (ms)`, (epoch * 1000) / count)
model.dispose()

// Federated learning (issue 4 "Quality and speed"): the production model and training recipe
// (128×128 U-Net, Adam with one cosine over the task, batch 4), centralised on the union of three
// non-IID hospitals' images vs FedAvg across them with the same total epochs, scored on one
// held-out set from all three profiles. The two arms train at once in two processes, about
// 25 minutes on 2 cores; the round overhead then runs the production model on three peer processes.
const { centralEpochs, flQuality, flTask } = await import('./fl-quality.ts')
const { flRound } = await import('./fl-round.ts')
const { DEFAULT_UNET, parameterCount } = await import('../../../node/ai/model/unet-config.ts')
const fq = quick
  ? { perHospital: 16, heldOut: 24, rounds: 4, localEpochs: 1 }
  : { perHospital: 96, heldOut: 300, rounds: 20, localEpochs: 4 }
line('fl quality model parameters', parameterCount(DEFAULT_UNET), 0)
line('fl quality images per hospital (3 hospitals, non-IID)', fq.perHospital, 0)
line('fl quality held-out images', fq.heldOut, 0)
line('fl quality batch size', 4, 0)
// Quality on every seed (issue 17): the comparison runs once per seed (data, held-out set and
// initial weights all follow it); the first seed's figures are printed in full, then the Dice ratio
// and FedAvg's AUROC over all seeds, median and worst. `--seeds 7,17` chooses them.
const seedsArg = process.argv.indexOf('--seeds')
const seeds = seedsArg > 0
  ? process.argv[seedsArg + 1].split(',').map(Number)
  : (quick ? [7] : [7, 17, 27, 37, 47])
if (seeds.length === 0 || seeds.some(n => !Number.isInteger(n) || n < 0)) throw new Error('--seeds: comma-separated non-negative integers')
// A recipe to try (issue 17): `--task '{"mu":0.01}'` gives the federated arm further task options
// (node/fl/task/options.ts, checked as a task's), and the centralised arm trains for as many
// epochs as the federated arm's local epochs over all rounds, unless `--central-epochs N` says.
const taskArg = process.argv.indexOf('--task')
const task = taskArg > 0 ? JSON.parse(process.argv[taskArg + 1]) as Record<string, unknown> : undefined
if (task !== undefined && (typeof task !== 'object' || task === null || Array.isArray(task))) throw new Error('--task: a JSON object of task options')
const centralArg = process.argv.indexOf('--central-epochs')
const centralOverride = centralArg > 0 ? Number(process.argv[centralArg + 1]) : undefined
if (centralOverride !== undefined && !(Number.isInteger(centralOverride) && centralOverride > 0)) throw new Error('--central-epochs: a positive whole number')
const quality = { ...fq, batchSize: 4, learningRate: 0.003, imageSize: 128, model: { ...DEFAULT_UNET }, task, centralEpochs: centralOverride }
const flTaskOptions = flTask({ seed: 0, ...quality })
if (task !== undefined) line('fl federated task options beyond the recipe', JSON.stringify(task))
/** Median; NaN when any value is NaN (a seed whose centralised Dice is 0 has no ratio). */
const median = (v: number[]): number => {
  if (v.some(Number.isNaN)) return Number.NaN
  const s = [...v].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const worst = (v: number[]): number => v.some(Number.isNaN) ? Number.NaN : Math.min(...v)
const perSeed: Array<{ seed: number, ratio: number, auroc: number, centralDice: number, fedavgDice: number, rounds: number | null }> = []
for (const seed of seeds) {
  const q = await flQuality({ seed, ...quality })
  const ratio = q.central.dice === 0 ? Number.NaN : q.fedavg.dice / q.central.dice
  perSeed.push({ seed, ratio, auroc: q.fedavg.auroc ?? Number.NaN, centralDice: q.central.dice, fedavgDice: q.fedavg.dice, rounds: q.roundsToGoal })
  line(`fl seed ${seed}: centralised dice / fedavg dice / ratio / fedavg auroc / rounds to 0.95`,
    `${q.central.dice.toFixed(3)} / ${q.fedavg.dice.toFixed(3)} / ${ratio.toFixed(3)} / ${(q.fedavg.auroc ?? Number.NaN).toFixed(3)} / ${q.roundsToGoal ?? 'not reached'}`)
  line(`fl seed ${seed}: fedavg dice per round`, q.perRound.map(r => r.dice.toFixed(2)).join(', '))
  if (seed !== seeds[0]) continue
  line('fl centralised epochs', centralEpochs({ seed, ...quality }), 0)
  line('fl centralised dice', q.central.dice, 3)
  line('fl centralised auroc', q.central.auroc ?? Number.NaN, 3)
  line('fl centralised train (s)', q.centralSeconds)
  line('fl fedavg rounds', flTaskOptions.rounds, 0)
  line('fl fedavg local epochs per round', flTaskOptions.epochs, 0)
  line('fl fedavg dice', q.fedavg.dice, 3)
  line('fl fedavg auroc (goal >= 0.95)', q.fedavg.auroc ?? Number.NaN, 3)
  for (const round of [5, 10, 15].filter(r => r < flTaskOptions.rounds)) {
    line(`fl fedavg round ${round} dice / auroc`, `${q.perRound[round - 1].dice.toFixed(3)} / ${(q.perRound[round - 1].auroc ?? Number.NaN).toFixed(3)}`)
  }
  line('fl fedavg best dice over rounds', Math.max(...q.perRound.map(r => r.dice)), 3)
  line('fl fedavg / centralised dice (goal >= 0.95)', ratio, 3)
  line('fl fedavg rounds to 0.95 of centralised dice', q.roundsToGoal === null ? 'not reached' : String(q.roundsToGoal))
  line('fl fedavg train incl. per-round validation (s)', q.fedavgSeconds)
}
const ratios = perSeed.map(p => p.ratio)
const aurocs = perSeed.map(p => p.auroc)
line('fl seeds', seeds.join(','))
line(`fl fedavg / centralised dice median over ${seeds.length} seeds (goal >= 0.95)`, median(ratios), 3)
line(`fl fedavg / centralised dice worst over ${seeds.length} seeds (goal >= 0.9)`, worst(ratios), 3)
line(`fl fedavg auroc median over ${seeds.length} seeds`, median(aurocs), 3)
line(`fl fedavg auroc worst over ${seeds.length} seeds`, worst(aurocs), 3)

const fr = quick
  ? { rounds: 2, perHospital: 12, heldOut: 12, epochs: 1 }
  : { rounds: 5, perHospital: 48, heldOut: 32, epochs: 2 }
const r = await flRound({ ...fr, imageSize: 256, seed: 11 })
line('fl round peers (processes on loopback)', 3, 0)
line('fl round images per hospital', fr.perHospital, 0)
line('fl round local epochs', fr.epochs, 0)
line('fl round wall p50 (ms)', r.wallMs, 0)
line('fl round slowest local training p50 (ms)', r.slowestTrainMs, 0)
line('fl round validation p50 (ms)', r.validateMs, 0)
line('fl round overhead p50 (goal < 0.1)', r.overhead, 3)
line('fl round overhead p50 without validation', r.overheadWithoutValidation, 3)
line('fl round 1 overhead (hospitals join the task)', (r.rounds[0].wallMs - (r.rounds[0].slowestTrainMs ?? 0)) / (r.rounds[0].slowestTrainMs ?? 1), 3)

// Secure aggregation (issue 17): the same three peers and model, every update masked (node/fl/secagg);
// the clip norm is far above any update of this recipe, so it changes no weight, only the protocol.
const rs = await flRound({ ...fr, imageSize: 256, seed: 11, task: { aggregation: 'secure', clip: 1000 } })
line('fl secure round wall p50 (ms)', rs.wallMs, 0)
line('fl secure round slowest local training p50 (ms)', rs.slowestTrainMs, 0)
line('secure aggregation round overhead', rs.overhead, 3)
line('secure aggregation round overhead without validation (goal <= 0.2)', rs.overheadWithoutValidation, 3)
