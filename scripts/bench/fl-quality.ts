// Centralised training vs FedAvg (issue 4 "Quality and speed"): the same model trained on the union
// of three non-IID hospitals' images, and by FedAvg across those hospitals, with the same total
// number of passes over the data (rounds × local epochs = centralised epochs). Both are scored on
// one held-out set drawn from all three profiles. In one process: the aggregation is node/fl's own
// (aggregate.ts); the gossip and storage around it are measured by fl-round.ts.
import { createModel } from '../../node/ai/model.ts'
import type { SegmentationModel } from '../../node/ai/model.ts'
import { evaluate, trainLocal } from '../../node/ai/train.ts'
import type { EvalResult, TrainSample } from '../../node/ai/train.ts'
import { parameterLayout, sizeOf } from '../../node/ai/unet-config.ts'
import type { UNetConfig } from '../../node/ai/unet-config.ts'
import { absurdNormBound, aggregate, validateUpdate } from '../../node/fl/aggregate.ts'
import { generateDataset } from '../synth/dataset.ts'

/** Settings of the comparison. */
export interface FlQualityOptions {
  seed: number
  /** Training images per hospital (three hospitals, non-IID profiles). */
  perHospital: number
  heldOut: number
  rounds: number
  localEpochs: number
  batchSize: number
  learningRate: number
  /** Side of the generated images (resampled to the model input). */
  imageSize: number
  model: Partial<UNetConfig>
  /** Called after each FedAvg round with its validation. */
  onRound?: (round: number, result: EvalResult) => void
}

/** What the comparison found. */
export interface FlQualityResult {
  central: EvalResult
  centralSeconds: number
  /** FedAvg after the last round, and per round. */
  fedavg: EvalResult
  perRound: EvalResult[]
  fedavgSeconds: number
  /** First round whose Dice reaches 0.95 of the centralised Dice (null: none did, or the centralised Dice is 0). */
  roundsToGoal: number | null
}

function samplesOf (items: Iterable<{ hospital: string, phantom: { size: number, pixels: Float32Array, mask: Uint8Array } }>): Map<string, TrainSample[]> {
  const out = new Map<string, TrainSample[]>()
  for (const { hospital, phantom } of items) {
    const sample = { image: { format: 'png' as const, width: phantom.size, height: phantom.size, bitsStored: 8, pixels: phantom.pixels, modality: 'OT' }, mask: phantom.mask }
    out.set(hospital, [...(out.get(hospital) ?? []), sample])
  }
  return out
}

/** One FedAvg round in process: each hospital trains a copy of `global`, the deltas are averaged. */
async function fedAvgRound (model: SegmentationModel, global: Float32Array[], hospitals: TrainSample[][], o: FlQualityOptions, round: number): Promise<Float32Array[]> {
  const sizes = model.layout.map(p => sizeOf(p.shape))
  const bound = absurdNormBound(model.parameterCount)
  const updates = []
  for (const data of hospitals) {
    model.setWeights(global)
    const r = await trainLocal(model, data, { epochs: o.localEpochs, batchSize: o.batchSize, learningRate: o.learningRate, seed: round })
    updates.push({ delta: validateUpdate(sizes, model.getWeights(), global, bound), samples: r.samples })
  }
  return aggregate(global, updates, { method: 'fedavg' }).weights
}

/** Runs both trainings and scores them. */
export async function flQuality (o: FlQualityOptions): Promise<FlQualityResult> {
  const train = samplesOf(generateDataset({ seed: o.seed, count: 3 * o.perHospital, hospitals: 3, nonIid: true, size: o.imageSize }))
  const held = [...samplesOf(generateDataset({ seed: o.seed + 1, count: o.heldOut, hospitals: 3, nonIid: true, size: o.imageSize })).values()].flat()
  const hospitals = [...train.values()]
  const union = hospitals.flat()

  let t = performance.now()
  const central = createModel(o.seed, o.model)
  await trainLocal(central, union, { epochs: o.rounds * o.localEpochs, batchSize: o.batchSize, learningRate: o.learningRate, seed: 0 })
  const centralResult = await evaluate(central, held)
  const centralSeconds = (performance.now() - t) / 1000

  t = performance.now()
  const model = createModel(o.seed, o.model)
  let global = model.getWeights()
  const perRound: EvalResult[] = []
  for (let round = 1; round <= o.rounds; round++) {
    global = await fedAvgRound(model, global, hospitals, o, round)
    model.setWeights(global)
    const result = await evaluate(model, held)
    perRound.push(result)
    o.onRound?.(round, result)
  }
  const fedavgSeconds = (performance.now() - t) / 1000
  central.dispose()
  model.dispose()
  const goal = 0.95 * centralResult.dice
  const hit = centralResult.dice > 0 ? perRound.findIndex(r => r.dice >= goal) : -1
  return {
    central: centralResult,
    centralSeconds,
    fedavg: perRound[perRound.length - 1],
    perRound,
    fedavgSeconds,
    roundsToGoal: hit < 0 ? null : hit + 1
  }
}

/** Parameters of a model config, for the report. */
export function parametersOf (config: UNetConfig): number {
  return parameterLayout(config).reduce((n, p) => n + sizeOf(p.shape), 0)
}
