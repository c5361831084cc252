// One round of a task this peer coordinates (docs/design.md §6, seed: "send model → … → aggregate →
// validate"): announce the global model, collect signed updates until the deadline or until every
// hospital still taking part has answered (round/collect.ts), aggregate them with the server step,
// and validate the result on the held-out set. A task with secure aggregation runs the masked
// exchange of round/secure-round.ts instead. The task's loop is the coordinator's (coordinator.ts).
import type { Logger } from 'pino'
import { toHex } from '../../../protocol/bytes.ts'
import type { Identity, Verifier } from '../../../protocol/crypto/ed25519.ts'
import type { Clock, Ledger } from '../../../ledger/types.ts'
import type { SegmentationModel } from '../../ai/model/model.ts'
import { evaluate } from '../../ai/train/train.ts'
import type { TrainSample } from '../../ai/train/train.ts'
import { parameterLayout, sizeOf } from '../../ai/model/unet-config.ts'
import type { UNetConfig } from '../../ai/model/unet-config.ts'
import { encodeWeights } from '../../ai/model/weights-format.ts'
import { absurdNormBound } from './aggregate.ts'
import type { Announcer } from './announce.ts'
import { FETCH_TIMEOUT_MS, SECAGG_STEP_FRACTION, TASK_LIMITS } from '../constants.ts'
import type { RoundStart, SecAggEnvelope } from '../transport/messages.ts'
import { runSecureRound } from './secure-round.ts'
import type { SecureRound } from './secure-round.ts'
import type { ModelStore } from '../transport/model-store.ts'
import type { ParticipationRecord } from './participant.ts'
import { createRoundCollector } from './collect.ts'
import type { RefusedUpdate, RoundCollector, RoundOutcome } from './collect.ts'
import { roundConfig, roundTimeout } from '../task/schedule.ts'
import { aggregateRound, serverStep } from './server-step.ts'
import type { ServerState } from './server-step.ts'
import { participantOf, validationOf } from '../task/record.ts'
import type { RoundRecord, TaskView, Validation } from '../task/record.ts'
import type { TaskOptions } from '../task/options.ts'
import type { FlTransport } from '../transport/gossip.ts'

/** The running task a round belongs to: the coordinator reaches its open round through `collector` or `secure`. */
export interface RoundTask {
  view: TaskView
  options: TaskOptions
  controller: AbortController
  collector: RoundCollector | null
  /** The open round of a task with secure aggregation. */
  secure: SecureRound | null
}

/** What every round of one task shares: model shape, evaluator, held-out set, server state (DP noise, velocity). */
export interface TaskContext { config: UNetConfig, evaluator: SegmentationModel, held: TrainSample[], server: ServerState }

/** A round's record, and the new global weights when it aggregated (else null). */
export interface RoundResult { record: RoundRecord, weights: Float32Array[] | null }

/** What the rounds use of the coordinator's components. */
export interface RoundRunnerComponents {
  ledger: Pick<Ledger, 'id' | 'self'>
  identity: Identity
  models: ModelStore
  transport: Pick<FlTransport, 'publish' | 'subscribers'>
  announcer: Announcer
  logger: Logger
  clock: Clock
  /** Hands a round-start to this peer's own participant; undefined when it does not take part. */
  local?: (start: RoundStart) => Promise<ParticipationRecord | undefined>
  /** Checks hospitals' signatures inside secure-aggregation steps (needed for tasks with aggregation 'secure'). */
  verify?: Verifier
  /** Hands a coordinator step of a secure round to this peer's own participant (gossip does not loop back). */
  localSecAgg?: (envelope: SecAggEnvelope) => void
  /** Emits a coordinator event ('round:started', 'update:refused'). */
  emit: (type: string, detail: unknown) => void
}

/** Runs rounds and validates models for the coordinator. */
export interface RoundRunner {
  /** One full round: collect, aggregate, validate; returns its record and the new global. */
  run(r: RoundTask, round: number, global: Float32Array[], ctx: TaskContext): Promise<RoundResult>
  /** The validation figures of `weights` on the held-out set. */
  validate(evaluator: SegmentationModel, weights: Float32Array[], held: TrainSample[]): Promise<Validation>
}

/** Creates the round runner: `createRoundRunner(init)(components)`. */
export function createRoundRunner (init: { fetchTimeoutMs?: number, evalBatchSize?: number } = {}) {
  return (components: RoundRunnerComponents): RoundRunner => {
    const { ledger, identity, models, transport, announcer, clock, emit } = components
    const log = components.logger

    const validate = async (evaluator: SegmentationModel, weights: Float32Array[], held: TrainSample[]): Promise<Validation> => {
      evaluator.setWeights(weights)
      return validationOf(await evaluate(evaluator, held, { batchSize: init.evalBatchSize ?? 16 }))
    }

    /** Runs one round's collection; `outcome` holds the accepted updates. */
    const collect = async (r: RoundTask, round: number, config: UNetConfig, global: Float32Array[]): Promise<{ outcome: RoundOutcome, startedAt: number, model: string }> => {
      const startedAt = clock()
      const deadline = startedAt + roundTimeout(r.options, round, TASK_LIMITS.roundTimeoutMs)
      const bytes = encodeWeights(config, global)
      const model = await models.put(bytes)
      const self = toHex(ledger.self)
      let selfExpected = false
      const layout = parameterLayout(config)
      const collector = createRoundCollector({
        task: r.view.id,
        round,
        startedAt,
        deadline,
        sizes: layout.map(p => sizeOf(p.shape)),
        global,
        maxNorm: absurdNormBound(layout.reduce((n, p) => n + sizeOf(p.shape), 0)),
        minParticipants: r.options.minParticipants,
        fetchTimeoutMs: init.fetchTimeoutMs ?? FETCH_TIMEOUT_MS
      }, {
        clock,
        models,
        logger: log,
        expected: () => new Set([...transport.subscribers(r.view.id), ...(selfExpected ? [self] : [])]),
        onRefused: (refusal: RefusedUpdate) => emit('update:refused', { ...refusal, task: r.view.id, round })
      })
      r.collector = collector
      const roundSettings = roundConfig(r.options, round)
      emit('round:started', { task: r.view.id, round, deadline, config: roundSettings })
      const start = await announcer.roundStart({ task: r.view.id, round, first: round === r.options.firstRound, deadline, bytes, model, config: roundSettings })
      const local = components.local?.(start)
      if (local !== undefined) {
        selfExpected = true
        void local.then(record => {
          if (record?.status !== 'sent') selfExpected = false
          collector.recheck()
        })
      }
      const onAbort = (): void => collector.abort()
      r.controller.signal.addEventListener('abort', onAbort)
      try {
        return { outcome: await collector.done, startedAt, model: model.toString() }
      } finally {
        r.controller.signal.removeEventListener('abort', onAbort)
        r.collector = null
      }
    }

    /**
     * One secure round (round/secure-round.ts): announce it with the secure settings, let the hospitals
     * run the masked exchange, and apply the unmasked FedAvg delta with the server step.
     */
    const runSecure = async (r: RoundTask, round: number, global: Float32Array[], ctx: TaskContext): Promise<RoundResult> => {
      const t0 = performance.now()
      const startedAt = clock()
      // A long first round scales every step of the exchange with it (schedule.ts roundTimeout).
      const timeoutMs = roundTimeout(r.options, round, TASK_LIMITS.roundTimeoutMs)
      const deadline = startedAt + timeoutMs
      const bytes = encodeWeights(ctx.config, global)
      const model = await models.put(bytes)
      const self = toHex(ledger.self)
      const clip = r.options.clip as number
      const graceMs = Math.max(1, Math.round(timeoutMs * SECAGG_STEP_FRACTION))
      const settings = { ...roundConfig(r.options, round), secure: { clip, graceMs, ...(r.options.dpSigma === undefined ? {} : { dpSigma: r.options.dpSigma }) } }
      if (components.verify === undefined) throw new TypeError('secure aggregation needs the coordinator\'s `verify`')
      let selfExpected = false
      const secure = runSecureRound({
        ledgerId: ledger.id, task: r.view.id, round, startedAt, deadline, roundTimeoutMs: timeoutMs,
        sizes: parameterLayout(ctx.config).map(p => sizeOf(p.shape)), minParticipants: r.options.minParticipants, secure: settings.secure
      }, {
        identity, self: ledger.self, verify: components.verify, clock, logger: log,
        expected: () => new Set([...transport.subscribers(r.view.id), ...(selfExpected ? [self] : [])]),
        expectedKeys: () => new Set([...transport.subscribers(r.view.id), ...(round === r.options.firstRound ? transport.subscribers(null) : []), ...(selfExpected ? [self] : [])]),
        publish: async (envelope) => {
          components.localSecAgg?.(envelope)
          await transport.publish({ topic: 'task', task: r.view.id }, envelope)
        },
        onRefused: (refusal: RefusedUpdate) => emit('update:refused', { ...refusal, task: r.view.id, round })
      })
      r.secure = secure
      emit('round:started', { task: r.view.id, round, deadline, config: settings })
      const start = await announcer.roundStart({ task: r.view.id, round, first: round === r.options.firstRound, deadline, bytes, model, config: settings })
      const local = components.local?.(start)
      if (local !== undefined) {
        selfExpected = true
        void local.then(record => {
          if (record?.status !== 'sent') selfExpected = false
          secure.recheck()
        })
      }
      const onAbort = (): void => secure.abort()
      r.controller.signal.addEventListener('abort', onAbort)
      let outcome
      try {
        outcome = await secure.done
      } finally {
        r.controller.signal.removeEventListener('abort', onAbort)
        r.secure = null
      }
      const collectMs = performance.now() - t0
      const slowest = outcome.participants.length === 0 ? null : Math.max(...outcome.participants.map(p => p.trainMs))
      const base = { round, startedAt, model: model.toString(), refused: outcome.refused, closedBy: outcome.closedBy, improved: false, collectMs, participants: outcome.participants, clipped: 0 }
      if (outcome.delta === null) {
        if (outcome.code !== undefined) log.warn({ task: r.view.id, round, code: outcome.code }, 'secure round did not aggregate')
        return { record: { ...base, status: 'insufficient', validation: null, aggregateMs: 0, validateMs: 0, wallMs: performance.now() - t0, slowestTrainMs: slowest, overhead: null }, weights: null }
      }
      const t1 = performance.now()
      const step = serverStep(global, outcome.delta, ctx.server.velocity, { learningRate: r.options.serverLearningRate, momentum: r.options.serverMomentum })
      ctx.server.velocity = step.velocity
      const aggregateMs = performance.now() - t1
      const t2 = performance.now()
      const validation = await validate(ctx.evaluator, step.weights, ctx.held)
      const validateMs = performance.now() - t2
      const wallMs = performance.now() - t0
      const overhead = slowest === null || slowest === 0 ? null : (wallMs - slowest) / slowest
      return { record: { ...base, status: 'aggregated', validation, aggregateMs, validateMs, wallMs, slowestTrainMs: slowest, overhead }, weights: step.weights }
    }

    /** One full round: collect, aggregate, validate; returns its record and the new global. */
    const runRound = async (r: RoundTask, round: number, global: Float32Array[], ctx: TaskContext): Promise<RoundResult> => {
      if (r.options.aggregation === 'secure') return await runSecure(r, round, global, ctx)
      const t0 = performance.now()
      const { outcome, startedAt, model } = await collect(r, round, ctx.config, global)
      const collectMs = performance.now() - t0
      const base = { round, startedAt, model, refused: outcome.refused, closedBy: outcome.closedBy, improved: false, collectMs }
      const slowest = outcome.accepted.length === 0 ? null : Math.max(...outcome.accepted.map(u => u.trainMs))
      if (outcome.accepted.length < r.options.minParticipants || outcome.closedBy === 'stopped') {
        const participants = outcome.accepted.map(u => participantOf(u, 0))
        const record: RoundRecord = {
          ...base, status: 'insufficient', participants, validation: null, clipped: 0, aggregateMs: 0, validateMs: 0, wallMs: performance.now() - t0, slowestTrainMs: slowest, overhead: null
        }
        return { record, weights: null }
      }
      const t1 = performance.now()
      const agg = aggregateRound(global, outcome.accepted, r.options, ctx.server)
      const aggregateMs = performance.now() - t1
      const t2 = performance.now()
      const validation = await validate(ctx.evaluator, agg.weights, ctx.held)
      const validateMs = performance.now() - t2
      const wallMs = performance.now() - t0
      const participants = outcome.accepted.map((u, i) => participantOf(u, agg.norms[i]))
      const overhead = slowest === null || slowest === 0 ? null : (wallMs - slowest) / slowest
      const record: RoundRecord = {
        ...base, status: 'aggregated', participants, validation, clipped: agg.clipped, aggregateMs, validateMs, wallMs, slowestTrainMs: slowest, overhead
      }
      return { record, weights: agg.weights }
    }

    return { run: runRound, validate }
  }
}
