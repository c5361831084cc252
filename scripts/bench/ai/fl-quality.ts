// Centralised training vs FedAvg (issue 4 "Quality and speed"): the same model trained on the union
// of three non-IID hospitals' images, and by FedAvg across those hospitals, with about the same
// total number of passes over the data (the federated arm's local epochs over all rounds, its
// first round included, against the centralised epochs), the same batch size and the same cosine
// step-size schedule over those passes. Both are scored on one held-out set
// drawn from all three profiles, by evaluate() — whose image score is the one detect-strange
// reports. The federated arm runs node/fl's own schedule, aggregation and server step; the gossip
// and storage around it are measured by fl-round.ts. The two arms are independent, so each runs in its own process
// (fl-quality-arm.ts) and both run at once on a two-core machine.
import { fork } from 'node:child_process'
import { createModel } from '../../../node/ai/model/model.ts'
import type { SegmentationModel } from '../../../node/ai/model/model.ts'
import { evaluate, trainLocal } from '../../../node/ai/train/train.ts'
import type { EvalResult, TrainSample } from '../../../node/ai/train/train.ts'
import { sizeOf } from '../../../node/ai/model/unet-config.ts'
import type { UNetConfig } from '../../../node/ai/model/unet-config.ts'
import { createPrng } from '../../../node/ai/model/prng.ts'
import { absurdNormBound, validateUpdate } from '../../../node/fl/round/aggregate.ts'
import { roundConfig } from '../../../node/fl/task/schedule.ts'
import { aggregateRound } from '../../../node/fl/round/server-step.ts'
import type { ServerState } from '../../../node/fl/round/server-step.ts'
import { parseTaskOptions } from '../../../node/fl/task/options.ts'
import type { TaskOptions } from '../../../node/fl/task/options.ts'
import { generateDataset } from '../../synth/dataset.ts'

/** Settings of the comparison. */
export interface FlQualityOptions {
  seed: number
  /** Training images per hospital (three hospitals, non-IID profiles). */
  perHospital: number
  heldOut: number
  rounds: number
  localEpochs: number
  /** Local epochs of the federated arm's first round (the task's firstRoundEpochs; default localEpochs). */
  firstRoundEpochs?: number
  /** Epochs of the centralised arm (default: the federated arm's local epochs over all its rounds). */
  centralEpochs?: number
  batchSize: number
  /** Adam step size at the start; it follows a cosine to 0 over all rounds × local epochs. */
  learningRate: number
  /** FedProx μ of the federated arm (0: plain FedAvg clients). */
  mu?: number
  /**
   * Further task options of the federated arm (node/fl/task/options.ts: serverMomentum,
   * serverLearningRate, epochs, …), over the ones above; checked as a task's are. The centralised
   * arm then trains for the task's total local epochs, unless `centralEpochs` says otherwise.
   */
  task?: Record<string, unknown>
  /** Side of the generated images (resampled to the model input). */
  imageSize: number
  model: Partial<UNetConfig>
}

/** The two sides of the comparison. */
export type Arm = 'central' | 'fedavg'

/** What one arm found: the final model's validation and, for FedAvg, every round's. */
export interface ArmResult {
  final: EvalResult
  perRound: EvalResult[]
  seconds: number
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

/**
 * One FedAvg round in process, as node/fl runs it: the round's settings come from the task's
 * schedule (roundConfig), each hospital trains a copy of `global` with them (seeded by the round,
 * as node/fl/round/participant.ts does), and the coordinator's aggregation and server step combine the updates.
 */
async function fedAvgRound (model: SegmentationModel, global: Float32Array[], hospitals: TrainSample[][], task: TaskOptions, server: ServerState, round: number): Promise<Float32Array[]> {
  const sizes = model.layout.map(p => sizeOf(p.shape))
  const bound = absurdNormBound(model.parameterCount)
  const config = roundConfig(task, round)
  const updates = []
  for (const data of hospitals) {
    model.setWeights(global)
    const r = await trainLocal(model, data, {
      epochs: config.epochs,
      batchSize: config.batchSize,
      learningRate: config.learningRate,
      learningRateEnd: config.learningRateEnd,
      proximalMu: config.mu,
      globalWeights: config.mu > 0 ? global : undefined,
      seed: round
    })
    updates.push({ delta: validateUpdate(sizes, model.getWeights(), global, bound), samples: r.samples })
  }
  return aggregateRound(global, updates, task, server).weights
}

/** The federated arm's task: the comparison's settings, then `o.task`'s, checked as a task's. */
export function flTask (o: FlQualityOptions): TaskOptions {
  const first = o.firstRoundEpochs === undefined ? {} : { firstRoundEpochs: o.firstRoundEpochs }
  return parseTaskOptions({ rounds: o.rounds, epochs: o.localEpochs, ...first, batchSize: o.batchSize, learningRate: o.learningRate, mu: o.mu ?? 0, model: o.model, ...o.task })
}

/** Epochs of the centralised arm: `o.centralEpochs`, else as many as the federated arm's local epochs over all rounds. */
export function centralEpochs (o: FlQualityOptions): number {
  const task = flTask(o)
  return o.centralEpochs ?? task.firstRoundEpochs + (task.rounds - 1) * task.epochs
}

/** Trains and scores one arm in this process (the backend must be initialised). */
export async function runArm (o: FlQualityOptions, arm: Arm): Promise<ArmResult> {
  const train = samplesOf(generateDataset({ seed: o.seed, count: 3 * o.perHospital, hospitals: 3, nonIid: true, size: o.imageSize }))
  const held = [...samplesOf(generateDataset({ seed: o.seed + 1, count: o.heldOut, hospitals: 3, nonIid: true, size: o.imageSize })).values()].flat()
  const hospitals = [...train.values()]
  const task = flTask(o)
  const model = createModel(o.seed, o.model)
  const t = performance.now()
  try {
    if (arm === 'central') {
      await trainLocal(model, hospitals.flat(), { epochs: centralEpochs(o), batchSize: o.batchSize, learningRate: o.learningRate, learningRateEnd: 0, seed: 0 })
      const final = await evaluate(model, held)
      return { final, perRound: [], seconds: (performance.now() - t) / 1000 }
    }
    const server: ServerState = { prng: createPrng(o.seed), velocity: null }
    let global = model.getWeights()
    const perRound: EvalResult[] = []
    for (let round = 1; round <= task.rounds; round++) {
      global = await fedAvgRound(model, global, hospitals, task, server, round)
      model.setWeights(global)
      perRound.push(await evaluate(model, held))
    }
    return { final: perRound[perRound.length - 1], perRound, seconds: (performance.now() - t) / 1000 }
  } finally {
    model.dispose()
  }
}

/** Runs one arm in a child process (fl-quality-arm.ts). */
async function armInChild (o: FlQualityOptions, arm: Arm): Promise<ArmResult> {
  const child = fork(new URL('./fl-quality-arm.ts', import.meta.url), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  return await new Promise((resolve, reject) => {
    child.once('message', (m: { result?: ArmResult, error?: string }) => {
      if (m.result !== undefined) resolve(m.result)
      else reject(new Error(`fl quality ${arm}: ${m.error ?? 'no result'}`))
    })
    child.once('exit', code => reject(new Error(`fl quality ${arm}: process exited with ${String(code)}`)))
    child.send({ options: o, arm })
  })
}

/** Runs both arms, each in its own process, at the same time, and compares them. */
export async function flQuality (o: FlQualityOptions): Promise<FlQualityResult> {
  const [central, fedavg] = await Promise.all([armInChild(o, 'central'), armInChild(o, 'fedavg')])
  const goal = 0.95 * central.final.dice
  const hit = central.final.dice > 0 ? fedavg.perRound.findIndex(r => r.dice >= goal) : -1
  return {
    central: central.final,
    centralSeconds: central.seconds,
    fedavg: fedavg.final,
    perRound: fedavg.perRound,
    fedavgSeconds: fedavg.seconds,
    roundsToGoal: hit < 0 ? null : hit + 1
  }
}
