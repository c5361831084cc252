// Federated learning of one hospital peer (docs/design.md §6, issue 4): the FL gossip transport, this
// hospital's participant (trains on its own consented images when a round starts), the coordinator
// of tasks an admin starts here, and the hot-loader that deploys a published model in the upload
// pipeline's analyser slot once it passes this hospital's checks (or an admin pins it). The history
// of tasks and participations, and the deployment, are kept in a level store under `<data>/fl`
// and survive restarts. `createFederation(init)(components)`, then `start()`.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'
import { toHex } from '../../protocol/bytes.ts'
import type { Identity, Verifier } from '../../protocol/ed25519.ts'
import { MedichainError, NotFoundError } from '../../protocol/errors.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import { nodeVerify } from '../../ledger/node-crypto.ts'
import type { TrainSample } from '../ai/train.ts'
import type { AnalyserSlot } from '../analysis/analyser.ts'
import type { Storage } from '../storage/index.ts'
import { createCoordinator } from './coordinator.ts'
import type { Coordinator } from './coordinator.ts'
import type { TrainingSet } from './consent.ts'
import { controlTopic, FL_DIR, INLINE_MAX_BYTES, taskTopic } from './constants.ts'
import { FederationNotStartedError } from './errors.ts'
import { createHotLoader } from './hotload.ts'
import type { DeploymentView, HotLoader, PublishedModel } from './hotload.ts'
import { isCoordinatorMessage } from './messages.ts'
import type { FlMessage, RoundStart, SecAggEnvelope } from './messages.ts'
import { storageModelStore } from './model-store.ts'
import type { ModelStore } from './model-store.ts'
import { createParticipant } from './participant.ts'
import type { Participant, ParticipationRecord } from './participant.ts'
import { createSecureInbox } from './secure-participant.ts'
import type { SecureInbox } from './secure-participant.ts'
import { createTaskHistory } from './task-history.ts'
import { fitToConsortium, parseTaskOptions } from './task-options.ts'
import type { TaskSummary, TaskView } from './task-record.ts'
import { createFlTransport } from './transport.ts'
import type { FlTransport, Verdict, Via } from './transport.ts'

export type { TaskOptions } from './task-options.ts'
export type { TaskView, TaskSummary, RoundRecord } from './task-record.ts'
export type { TrainingItem, TrainingSet } from './consent.ts'
export type { ParticipationRecord } from './participant.ts'
export type { PublishedModel, DeploymentView } from './hotload.ts'
export type { ModelRecord, HoldCode } from './deployment-record.ts'
export type { ModelStore } from './model-store.ts'
export { storageModelStore } from './model-store.ts'
export { FL_STATUS_BY_CODE } from './errors.ts'
export { controlTopic, flTopicAllowance, flTopicPrefix, taskTopic } from './constants.ts'
export { flRoutes } from './routes.ts'

/** Options of createFederation. */
export interface FederationInit {
  /** Train on this hospital's images when a round starts (default true). */
  participate?: boolean
  /** Install published models in the analyser slot (default true). */
  hotload?: boolean
  /** How long model or update bytes may take to arrive by CID (ms). */
  fetchTimeoutMs?: number
  /** Largest weights payload sent inline in gossip (bytes; default and maximum 1 MiB); larger ones go by CID. */
  inlineMaxBytes?: number
  /**
   * The peer's data folder: the history of tasks coordinated here (rounds, published model) and
   * of this hospital's participations is kept in a level store at `<data>/fl` and survives
   * restarts. Without it the history lives in memory only.
   */
  data?: string
  /** Tasks whose history is kept (default MAX_TASKS_KEPT, 64): beyond it the oldest finished ones are dropped. */
  keepTasks?: number
  /** Participation records kept (default PARTICIPATION_KEPT, 256): the oldest are dropped. */
  keepParticipation?: number
  /** Held-out images needed before a published model is compared with the deployed one (default DEPLOY_MIN_VALIDATION, 20). */
  deployMinValidation?: number
}

/** Thrown by `start()` when the P2P host does not admit FL's gossip topics (P2PInit `extraTopics` and `topicPrefixes`). */
export class FlTopicsNotAllowedError extends MedichainError {
  constructor (topic: string) {
    super('FL_TOPICS_NOT_ALLOWED', `the P2P host does not admit the FL topic ${topic.slice(0, 120)}: create it with flTopicAllowance(<ledger id hex>) in its init`)
    this.name = 'FlTopicsNotAllowedError'
  }
}

/** The libp2p node FL runs on: gossipsub for messages, connection events for dropouts. */
export type FlLibp2p = Pick<Libp2p, 'getConnections' | 'addEventListener' | 'removeEventListener'> & { services: { pubsub: GossipSub } }

/** What federated learning uses from the peer. */
export interface FederationComponents {
  ledger: Ledger
  /**
   * The P2P layer; its `libp2p` is read in `start()`, so pass it before it has started. When it
   * has `allowsTopic` (createP2P's does), `start()` checks that FL's topics are admitted.
   */
  p2p: { readonly libp2p: FlLibp2p, allowsTopic?: (topic: string) => boolean }
  /** helia storage for models and large updates (or `models`, any ModelStore). */
  storage?: Pick<Storage, 'add' | 'cat' | 'pin'>
  models?: ModelStore
  /** The hospital's signing identity (its member key): signs updates and round messages. */
  identity: Identity
  /** Strict Ed25519 verification; default node:crypto. */
  verify?: Verifier
  /** The upload pipeline's analyser slot, where published models are hot-loaded. */
  analysers: AnalyserSlot
  /** This hospital's labelled images; filtered through the ledger's training consents every round. */
  trainingSet: TrainingSet
  /** The held-out labelled set used when this peer coordinates. */
  validationSet: () => Promise<TrainSample[]>
  logger: Logger
  clock: Clock
  /** Random bytes (task ids, the DP noise seed); default node:crypto. */
  random?: (n: number) => Uint8Array
}

/**
 * Federated learning of one peer. Events: 'round:started', 'round:ended', 'task:ended',
 * 'update:refused' ({ code, hospital, … }: every refused FL message, from the gossip checks or a
 * round's rules), 'training:filtered', 'participation:done', 'model:loaded', 'model:failed',
 * 'history:skipped' ({ key, code }: a stored history record that could not be read back at start).
 */
export interface Federation extends EventTarget {
  start(): Promise<void>
  stop(): Promise<void>
  /** Checks the options (INVALID), starts a task coordinated here (CONFLICT if one runs) and returns its id. */
  startTask(options: unknown): string
  /**
   * Continues a task this peer coordinated that ended 'interrupted' (the peer stopped or crashed)
   * or 'stopped' (an admin stopped it), as a new task with its options that starts from the model
   * its last round started from, at that round (`firstRound`); returns the new id. The new task's
   * `continues` is the old id. NOT_FOUND if unknown; TASK_NOT_CONTINUABLE if not coordinated here,
   * in another status, or without a round; CONFLICT if a task runs here.
   */
  continueTask(id: string): string
  /** Stops a running task; NOT_FOUND if unknown. */
  stopTask(id: string): void
  /** A task's history; NOT_FOUND if this peer does not know it. */
  task(id: string): TaskView
  tasks(): TaskSummary[]
  /** Resolves with the task's final view once its loop has ended. */
  settled(id: string): Promise<TaskView>
  /** This hospital's recent round participations (kept across restarts), with consent exclusion counts. */
  participation(): ParticipationRecord[]
  /** The model hot-loaded into the analyser slot, if any. */
  currentModel(): PublishedModel | null
  /** Every publication this hospital considered, deployed or available with the reason (NOT_STARTED without the hot-loader). */
  deployment(): DeploymentView
  /** Deploys a published model and pins it (NOT_FOUND, FETCH_FAILED, BAD_WEIGHTS); resolves once stored. */
  pinModel(cid: string): Promise<DeploymentView>
  /** Lifts the pin; the newest publication it held back is considered again. */
  unpinModel(): Promise<DeploymentView>
  /** Deploys the model deployed before the current one, pinned (NO_EARLIER_MODEL). */
  rollbackModel(): Promise<DeploymentView>
}

interface Running { transport: FlTransport, coordinator: Coordinator, participant: Participant | null, hotloader: HotLoader | null, detach: () => void }

const FORWARDED = {
  coordinator: ['round:started', 'round:ended', 'task:ended', 'update:refused'],
  participant: ['training:filtered', 'participation:done'],
  hotloader: ['model:loaded', 'model:failed', 'model:decided']
} as const

/** Creates federated learning for one peer; see the file comment. */
export function createFederation (init: FederationInit = {}) {
  return (components: FederationComponents): Federation => {
    const { ledger, identity, clock } = components
    const log = components.logger.child({ component: 'fl' })
    const events = new EventTarget()
    const models = components.models ?? (components.storage === undefined ? undefined : storageModelStore(components.storage))
    if (models === undefined) throw new TypeError('createFederation needs `storage` or `models`')
    const random = components.random ?? ((n: number) => new Uint8Array(randomBytes(n)))
    const inline = Math.min(init.inlineMaxBytes ?? INLINE_MAX_BYTES, INLINE_MAX_BYTES)
    const history = createTaskHistory({
      path: init.data === undefined ? undefined : join(init.data, FL_DIR), keepTasks: init.keepTasks, keepParticipation: init.keepParticipation
    })({ logger: log })
    let running: Running | undefined

    const forward = (e: Event): void => { events.dispatchEvent(new CustomEvent(e.type, { detail: (e as CustomEvent).detail })) }
    const need = (): Running => {
      if (running === undefined) throw new FederationNotStartedError()
      return running
    }

    const launch = (libp2p: FlLibp2p): Running => {
      // The handler is bound late: the transport judges messages for the coordinator and participant built after it.
      let handle: (message: FlMessage, via: Via) => Verdict = () => ({ result: 'ignore' })
      const transport = createFlTransport({
        pubsub: libp2p.services.pubsub,
        ledger,
        verify: components.verify ?? nodeVerify,
        logger: log,
        handle: (m, v) => handle(m, v),
        isConnected: (peer) => libp2p.getConnections(peer).length > 0
      })
      let coordinator: Coordinator | undefined
      const verify = components.verify ?? nodeVerify
      const inbox = createSecureInbox()
      const participant = init.participate === false
        ? null
        : createParticipant({ fetchTimeoutMs: init.fetchTimeoutMs, inlineMaxBytes: inline })({
          ledger, identity, models, trainingSet: components.trainingSet, logger: log, clock,
          send: async (update) => {
            if (coordinator?.offer(update) !== undefined) return
            await transport.publish({ topic: 'task', task: update.task }, update)
          },
          secure: {
            inbox,
            verify,
            send: async (envelope) => {
              if (coordinator?.offerSecAgg(envelope) !== undefined) return
              await transport.publish({ topic: 'task', task: envelope.task }, envelope)
            }
          }
        })
      coordinator = createCoordinator({ fetchTimeoutMs: init.fetchTimeoutMs, inlineMaxBytes: inline })({
        ledger, identity, models, transport, validationSet: components.validationSet, logger: log, clock, random, history, verify,
        ...(participant === null ? {} : { local: async (start: RoundStart) => await participant.onRoundStart(start), localSecAgg: (e: SecAggEnvelope) => { inbox.offer(e) } })
      })
      const c = coordinator
      handle = (message, via) => route(message, via, { transport, coordinator: c, participant, inbox })
      const hotloader = init.hotload === false
        ? null
        : createHotLoader({ fetchTimeoutMs: init.fetchTimeoutMs, minValidation: init.deployMinValidation })({
          ledger, models, analysers: components.analysers, logger: log, validationSet: components.validationSet, store: history, clock
        })
      const recheck = (): void => c.recheck()
      const sources: Array<[EventTarget | null, readonly string[]]> = [
        [c, FORWARDED.coordinator], [participant, FORWARDED.participant], [hotloader, FORWARDED.hotloader]
      ]
      for (const [source, types] of sources) for (const t of types) source?.addEventListener(t, forward)
      transport.addEventListener('message:refused', forwardRefusal)
      participant?.addEventListener('participation:done', keepParticipation)
      libp2p.services.pubsub.addEventListener('subscription-change', recheck)
      libp2p.addEventListener('peer:disconnect', recheck)
      const detach = (): void => {
        for (const [source, types] of sources) for (const t of types) source?.removeEventListener(t, forward)
        transport.removeEventListener('message:refused', forwardRefusal)
        participant?.removeEventListener('participation:done', keepParticipation)
        libp2p.services.pubsub.removeEventListener('subscription-change', recheck)
        libp2p.removeEventListener('peer:disconnect', recheck)
      }
      return { transport, coordinator: c, participant, hotloader, detach }
    }

    const loader = (): HotLoader => {
      const h = need().hotloader
      if (h === null) throw new FederationNotStartedError('this peer does not deploy published models (hotload is off)')
      return h
    }

    const keepParticipation = (e: Event): void => { history.addParticipation((e as CustomEvent<ParticipationRecord>).detail) }
    history.addEventListener('history:skipped', forward)

    /** FL's topics must be admitted by the host from its creation (see flTopicAllowance). */
    const checkTopics = (): void => {
      const allows = components.p2p.allowsTopic
      if (allows === undefined) return
      const ledgerHex = toHex(ledger.id)
      for (const topic of [controlTopic(ledgerHex), taskTopic(ledgerHex, 'detect-strange-0000000000000000')]) {
        if (!allows(topic)) throw new FlTopicsNotAllowedError(topic)
      }
    }

    const forwardRefusal = (e: Event): void => {
      const r = (e as CustomEvent<{ code: string, from: string, signer?: string, kind?: string }>).detail
      events.dispatchEvent(new CustomEvent('update:refused', { detail: { code: r.code, hospital: r.signer ?? null, kind: r.kind ?? null, peer: r.from } }))
    }

    /** Sends each verified message to the part of FL it is for. */
    const route = (message: FlMessage, via: Via, parts: Pick<Running, 'transport' | 'coordinator' | 'participant'> & { inbox: SecureInbox }): Verdict => {
      const { transport, coordinator, participant, inbox } = parts
      switch (message.kind) {
        case 'secagg':
          // Hospital steps go to the task's coordinator (forwarded elsewhere); the coordinator's lists to this hospital's rounds.
          if (isCoordinatorMessage(message)) return participant === null ? { result: 'accept' } : inbox.offer(message)
          return coordinator.offerSecAgg(message) ?? { result: 'accept' }
        case 'update':
          // Updates for a task coordinated elsewhere are only forwarded.
          return coordinator.offer(message) ?? { result: 'accept' }
        case 'round-start': {
          // A round is announced on the control topic too (inline in round 1, else by CID): a
          // hospital in the task has usually taken the inline copy, sent first on the same
          // connections, and the participant ignores a round it has seen.
          if (clock() > message.deadline) return { result: 'ignore' }
          void participant?.onRoundStart(message, { join: () => transport.joinTask(message.task), leave: () => transport.leaveTask(message.task) })
          return { result: 'accept' }
        }
        case 'round-end':
          if (message.done && coordinator.task(message.task) === undefined) transport.leaveTask(message.task)
          return { result: 'accept' }
      }
    }

    return Object.assign(events, {
      async start () {
        if (running !== undefined) return
        checkTopics()
        await history.open()
        let r: Running
        try {
          r = launch(components.p2p.libp2p)
        } catch (err) {
          await history.close()
          throw err
        }
        running = r
        r.transport.start()
        await r.hotloader?.start()
        log.info({ self: toHex(ledger.self).slice(0, 16), participate: r.participant !== null }, 'federated learning started')
      },
      async stop () {
        const r = running
        if (r === undefined) return
        running = undefined
        r.participant?.stop()
        await r.coordinator.stop()
        r.hotloader?.stop()
        await r.hotloader?.idle()
        r.transport.stop()
        r.detach()
        await history.close()
        log.info('federated learning stopped')
      },
      startTask: (options: unknown) => need().coordinator.startTask(parseTaskOptions(fitToConsortium(options, components.ledger.members().filter(m => m.status === 'active').length))),
      stopTask: (id: string) => need().coordinator.stopTask(id),
      continueTask: (id: string) => need().coordinator.continueTask(id),
      task (id: string): TaskView {
        const view = need().coordinator.task(id)
        if (view === undefined) throw new NotFoundError(`no federated task ${id.slice(0, 64)}`)
        return view
      },
      tasks: () => need().coordinator.tasks(),
      settled: async (id: string) => await need().coordinator.settled(id),
      participation: () => {
        need()
        return history.participation()
      },
      currentModel: () => running?.hotloader?.current() ?? null,
      deployment: () => loader().deployment(),
      pinModel: async (cid: string) => await loader().pin(cid),
      unpinModel: async () => await loader().unpin(),
      rollbackModel: async () => await loader().rollback()
    })
  }
}
