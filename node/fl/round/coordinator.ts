// The coordinator (docs/design.md §6, seed: "send model → … → aggregate → validate → check loss"): every
// member can run a task that an admin starts. Each round sends the global model, collects signed
// updates until the deadline or until everyone still taking part has answered, aggregates them
// and takes the server step (round/server-step.ts), validates the result on this hospital's held-out
// set, keeps the best and the final model, and stops early after `patience` rounds without
// improvement. The chosen model is stored in helia and published on the ledger with
// `model.publish`: its provenance. Each task's history goes to the TaskHistory (task/history.ts)
// as it happens; a task still running when the coordinator stops ends 'interrupted', and an admin
// can continue it (or a stopped one) as a new task from its last round (task/continuation.ts).
// The rounds themselves are round/round-runner.ts.
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import { toHex, fromHex } from '../../../protocol/bytes.ts'
import type { Identity, Verifier } from '../../../protocol/crypto/ed25519.ts'
import { NotFoundError } from '../../../protocol/errors.ts'
import type { Clock, Ledger } from '../../../ledger/types.ts'
import { TASK_NONCE_HEX, taskIdFor } from '../../../ledger/rules/fl.ts'
import { createModel } from '../../ai/model/model.ts'
import { createPrng } from '../../ai/model/prng.ts'
import type { TrainSample } from '../../ai/train/train.ts'
import type { UNetConfig } from '../../ai/model/unet-config.ts'
import { decodeWeights, encodeWeights } from '../../ai/model/weights-format.ts'
import { codeOf } from '../../p2p/errors.ts'
import { createAnnouncer } from './announce.ts'
import { FETCH_TIMEOUT_MS, START_WAIT_MS } from '../constants.ts'
import { continuationOptions, priorRounds } from '../task/continuation.ts'
import { NoValidationSetError, TaskConflictError } from '../errors.ts'
import type { RoundStart, SecAggEnvelope, Update } from '../transport/messages.ts'
import type { ModelStore } from '../transport/model-store.ts'
import type { ParticipationRecord } from './participant.ts'
import { createRoundRunner } from './round-runner.ts'
import type { RoundTask, TaskContext } from './round-runner.ts'
import { createTaskHistory } from '../task/history.ts'
import type { TaskHistory } from '../task/history.ts'
import { contributorsOf, INTERRUPTED_ERROR, newTaskView, publishMetrics, summaryOf } from '../task/record.ts'
import type { StopReason, TaskSummary, TaskView, Validation } from '../task/record.ts'
import type { TaskOptions } from '../task/options.ts'
import type { FlTransport, Verdict } from '../transport/gossip.ts'

/** What the coordinator needs. */
export interface CoordinatorComponents {
  ledger: Pick<Ledger, 'id' | 'self' | 'submitOwn'>
  identity: Identity
  models: ModelStore
  transport: Pick<FlTransport, 'publish' | 'joinTask' | 'leaveTask' | 'subscribers'>
  /** The held-out labelled set this hospital validates every round's model on. */
  validationSet: () => Promise<TrainSample[]>
  logger: Logger
  clock: Clock
  /** Random bytes for task ids and the DP noise seed. */
  random: (n: number) => Uint8Array
  /** Sends a round-start directly to members not seen on the control topic (round/announce.ts). */
  pushRoundStart?: (start: RoundStart) => void
  /** Hands a round-start to this peer's own participant; undefined when it does not take part. */
  local?: (start: RoundStart) => Promise<ParticipationRecord | undefined>
  /** Where task views are kept (and persisted); default an in-memory history. */
  history?: TaskHistory
  /** Checks hospitals' signatures inside secure-aggregation steps (needed for tasks with aggregation 'secure'). */
  verify?: Verifier
  /** Hands a coordinator step of a secure round to this peer's own participant (gossip does not loop back). */
  localSecAgg?: (envelope: SecAggEnvelope) => void
}

/** Options of the coordinator. */
export interface CoordinatorInit {
  fetchTimeoutMs?: number
  /** Largest global model sent inline (bytes); larger ones go by CID. Default INLINE_MAX_BYTES. */
  inlineMaxBytes?: number
  /** Evaluation batch size. */
  evalBatchSize?: number
}

/**
 * Events: 'round:started' ({ task, round, deadline, config }: config is the round-start's training
 * settings) once updates are taken, 'round:ended' (RoundRecord & { task }), 'task:ended'
 * (TaskView), 'update:refused' (RefusedUpdate & { task, round }).
 */
export interface Coordinator extends EventTarget {
  /** Starts a task in the background and returns its id; CONFLICT while another runs here. */
  startTask(options: TaskOptions): string
  /**
   * Starts a new task continuing an interrupted or stopped one coordinated here, from its last
   * round (task/continuation.ts), and returns its id. NOT_FOUND if unknown, TASK_NOT_CONTINUABLE, CONFLICT.
   */
  continueTask(id: string): string
  /** Stops a task after its current step; the model is not published. NOT_FOUND if unknown. */
  stopTask(id: string): void
  /** Judges an update for a task coordinated here; undefined when the task is not ours. */
  offer(update: Update): Verdict | undefined
  /** Judges a hospital's secure-aggregation step for a task coordinated here; undefined when the task is not ours. */
  offerSecAgg(envelope: SecAggEnvelope): Verdict | undefined
  /** Re-evaluates early closing of the open round (subscriptions or connections changed). */
  recheck(): void
  task(id: string): TaskView | undefined
  tasks(): TaskSummary[]
  /** Resolves when the task's loop has ended. */
  settled(id: string): Promise<TaskView>
  /** Stops every task (they end 'interrupted') and waits for their loops. */
  stop(): Promise<void>
}
interface Running extends RoundTask {
  loop: Promise<TaskView>
  /** CID of the published model, once published. */
  published: CID | null
}

/** Abort reason of the tasks still running when the coordinator stops (the peer is stopping). */
const SHUTDOWN = 'shutdown'

/** Why an aborted task stopped: an admin's stop, or this peer stopping. */
function abortReason (signal: AbortSignal): StopReason {
  return signal.reason === SHUTDOWN ? 'interrupted' : 'stopped'
}

interface Kept { round: number, weights: Float32Array[], validation: Validation }


/** Resolves once `check()` holds (re-checked on each 'changed' event), after `ms`, or on abort. */
async function waitUntil (check: () => boolean, changes: EventTarget, ms: number, signal: AbortSignal): Promise<void> {
  if (check() || signal.aborted) return
  await new Promise<void>(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      changes.removeEventListener('changed', onChange)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const onChange = (): void => { if (check()) done() }
    const timer = setTimeout(done, ms)
    changes.addEventListener('changed', onChange)
    signal.addEventListener('abort', done)
  })
}

/** Creates the coordinator: `createCoordinator(init)(components)`. */
export function createCoordinator (init: CoordinatorInit = {}) {
  return (components: CoordinatorComponents): Coordinator => {
    const { ledger, identity, models, transport, clock } = components
    const log = components.logger.child({ module: 'fl:coordinator' })
    const events = new EventTarget()
    const history = components.history ?? createTaskHistory()({ logger: log })
    const announcer = createAnnouncer({ inlineMaxBytes: init.inlineMaxBytes })({ ledger, identity, transport, push: components.pushRoundStart })
    const running = new Map<string, Running>()
    const emit = (type: string, detail: unknown): void => { events.dispatchEvent(new CustomEvent(type, { detail })) }
    /** Told when subscriptions or connections change (through recheck). */
    const peersChanged = new EventTarget()

    /**
     * Waits until enough members listen on the control topic for the first round to reach
     * `minParticipants` (counting this peer when it trains too), or until the wait bound: a task
     * started right after connecting would otherwise announce its first round to nobody.
     */
    const awaitPeers = async (r: Running): Promise<void> => {
      const needed = r.options.minParticipants - (components.local === undefined ? 0 : 1)
      await waitUntil(() => transport.subscribers(null).length >= needed, peersChanged, Math.min(r.options.roundTimeoutMs, START_WAIT_MS), r.controller.signal)
    }

    /** The initial global model: stored weights when asked, else a fresh model from the seed. */
    const initialModel = async (options: TaskOptions, signal: AbortSignal): Promise<{ config: UNetConfig, weights: Float32Array[] }> => {
      if (options.initialModel !== undefined) return decodeWeights(await models.get(options.initialModel, { timeoutMs: init.fetchTimeoutMs ?? FETCH_TIMEOUT_MS, signal }))
      const model = createModel(options.seed, options.model)
      try {
        return { config: model.config, weights: model.getWeights() }
      } finally {
        model.dispose()
      }
    }

    const rounds = createRoundRunner({ fetchTimeoutMs: init.fetchTimeoutMs, evalBatchSize: init.evalBatchSize })({
      ledger, identity, models, transport, announcer, logger: log, clock, emit,
      local: components.local,
      verify: components.verify,
      localSecAgg: components.localSecAgg
    })

    /** Publishes the chosen model: stored in helia, then `model.publish` on the ledger. */
    const publish = async (r: Running, config: UNetConfig, chosen: Kept): Promise<void> => {
      const cid = await models.put(encodeWeights(config, chosen.weights))
      // A continuation's model also holds what the rounds before its first one trained.
      const contributors = contributorsOf([...priorRounds(r.view, history.get), ...r.view.rounds], chosen.round)
      const metrics = publishMetrics({ validation: chosen.validation, roundsRun: r.view.rounds.length, options: r.options, contributors })
      const participants = contributors.map(c => fromHex(c.hospital))
      const loc = await ledger.submitOwn('model.publish', { model: cid, task: r.view.id, round: chosen.round, metrics, participants })
      r.published = cid
      r.view.published = { model: cid.toString(), tx: toHex(loc.txId), round: chosen.round, metrics, participants: contributors.map(c => c.hospital) }
      history.save(r.view)
      log.info({ task: r.view.id, round: chosen.round, model: cid.toString(), loss: chosen.validation.loss, dice: chosen.validation.dice }, 'model published')
    }

    /** The round loop of one task, with "check loss": best, final, early stop. */
    const loop = async (r: Running): Promise<void> => {
      const { options, view } = r
      const held = await components.validationSet()
      if (held.length === 0) throw new NoValidationSetError()
      const { config, weights: initial } = await initialModel(options, r.controller.signal)
      const evaluator = createModel(0, config)
      const ctx: TaskContext = { config, evaluator, held, server: { prng: createPrng(new DataView(components.random(4).buffer).getUint32(0)), velocity: null } }
      try {
        view.baseline = await rounds.validate(evaluator, initial, held)
        history.save(view)
        await awaitPeers(r)
        let global = initial
        let best: Kept | null = null
        let sinceBest = 0
        for (let round = options.firstRound; round <= options.rounds && !r.controller.signal.aborted; round++) {
          const { record, weights } = await rounds.run(r, round, global, ctx)
          if (weights !== null && record.validation !== null) {
            global = weights
            view.final = { round, validation: record.validation }
            record.improved = best === null || record.validation.loss < best.validation.loss
            if (record.improved) best = { round, weights, validation: record.validation }
          }
          sinceBest = record.improved ? 0 : sinceBest + 1
          if (best !== null) view.best = { round: best.round, validation: best.validation }
          view.rounds.push(record)
          history.saveRound(view, record)
          emit('round:ended', { ...record, task: view.id })
          log.info({ task: view.id, round, status: record.status, participants: record.participants.length, loss: record.validation?.loss, closedBy: record.closedBy }, 'round ended')
          const last = r.controller.signal.aborted || round === options.rounds || sinceBest >= options.patience
          if (last) {
            view.stopReason = r.controller.signal.aborted ? abortReason(r.controller.signal) : round === options.rounds ? 'rounds' : 'patience'
            if (best !== null && !r.controller.signal.aborted) await publish(r, config, best)
          }
          await announcer.roundEnd(view.id, record, last, r.published)
        }
        if (view.stopReason === null) view.stopReason = abortReason(r.controller.signal)
        view.status = view.stopReason === 'stopped' || view.stopReason === 'interrupted' ? view.stopReason : view.published !== null ? 'done' : 'failed'
        if (view.status === 'failed') view.error = { code: 'NO_MODEL', message: 'no round gathered enough participants to aggregate' }
        if (view.status === 'interrupted') view.error = { ...INTERRUPTED_ERROR }
      } finally {
        evaluator.dispose()
      }
    }

    const startTask = (options: TaskOptions, continues: string | null = null): string => {
      if (running.size > 0) throw new TaskConflictError('this peer already coordinates a running task')
      const id = taskIdFor(options.task, ledger.self, components.random(TASK_NONCE_HEX / 2))
      const view = newTaskView(id, options, toHex(ledger.self), clock(), continues)
      history.add(view)
      const r: Running = { view, options, controller: new AbortController(), collector: null, secure: null, loop: Promise.resolve(view), published: null }
      transport.joinTask(id)
      r.loop = loop(r).catch((err: unknown) => {
        if (abortReason(r.controller.signal) === 'interrupted') {
          // Stopping the peer aborted a fetch or a wait: not a failure of the task.
          view.status = 'interrupted'
          view.stopReason = 'interrupted'
          view.error = { ...INTERRUPTED_ERROR }
          return
        }
        view.status = 'failed'
        view.stopReason = 'error'
        view.error = { code: codeOf(err), message: err instanceof Error ? err.message : String(err) }
        log.error({ task: id, code: codeOf(err) }, 'task failed')
      }).then(() => {
        view.endedAt = clock()
        history.save(view)
        running.delete(id)
        transport.leaveTask(id)
        emit('task:ended', view)
        return view
      })
      running.set(id, r)
      log.info({ task: id, continues, firstRound: options.firstRound, rounds: options.rounds, minParticipants: options.minParticipants, aggregation: options.aggregation }, 'task started')
      return id
    }

    return Object.assign(events, {
      startTask: (options: TaskOptions) => startTask(options),
      continueTask (id: string) {
        const old = history.get(id)
        if (old === undefined) throw new NotFoundError(`no task ${id.slice(0, 64)}`)
        return startTask(continuationOptions(old, toHex(ledger.self)), old.id)
      },
      stopTask (id: string) {
        const r = running.get(id)
        if (r === undefined) {
          if (history.get(id) !== undefined) return
          throw new NotFoundError(`no task ${id.slice(0, 64)}`)
        }
        r.controller.abort()
      },
      offer (update: Update): Verdict | undefined {
        const r = running.get(update.task)
        if (r === undefined) return undefined
        const collector = r.collector
        if (collector === null) {
          emit('update:refused', { hospital: toHex(update.hospital), code: 'LATE', task: update.task, round: update.round })
          return { result: 'ignore', code: 'LATE' }
        }
        return collector.offer(update)
      },
      offerSecAgg (envelope: SecAggEnvelope): Verdict | undefined {
        const r = running.get(envelope.task)
        if (r === undefined) return undefined
        if (r.secure === null) {
          emit('update:refused', { hospital: toHex(envelope.from), code: 'LATE', task: envelope.task, round: envelope.round })
          return { result: 'ignore', code: 'LATE' }
        }
        return r.secure.offer(envelope)
      },
      recheck () {
        for (const r of running.values()) {
          r.collector?.recheck()
          r.secure?.recheck()
        }
        peersChanged.dispatchEvent(new Event('changed'))
      },
      task: (id: string) => history.get(id),
      tasks: () => history.list().map(summaryOf),
      async settled (id: string): Promise<TaskView> {
        const r = running.get(id)
        if (r !== undefined) return await r.loop
        const v = history.get(id)
        if (v === undefined) throw new NotFoundError(`no task ${id.slice(0, 64)}`)
        return v
      },
      async stop () {
        for (const r of running.values()) r.controller.abort(SHUTDOWN)
        await Promise.all([...running.values()].map(async r => await r.loop))
      }
    })
  }
}
