// The interface of federated learning as the rest of the peer sees it (createFederation in
// index.ts builds it; routes.ts serves it): its options, what it uses from the peer, and what it
// offers. Types only, so the HTTP routes need not import the implementation.
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { Identity, Verifier } from '../../protocol/crypto/ed25519.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import type { TrainSample } from '../ai/train/train.ts'
import type { AnalyserSlot } from '../analysis/analyser.ts'
import type { Storage } from '../storage/index.ts'
import type { TrainingSet } from './round/consent.ts'
import type { DeploymentView, PublishedModel } from './deploy/hotload.ts'
import type { ModelStore } from './transport/model-store.ts'
import type { ParticipationRecord } from './round/participant.ts'
import type { TaskSummary, TaskView } from './task/record.ts'

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

/** The libp2p node FL runs on: gossipsub for messages, streams for delivery to a coordinator, connection events for dropouts. */
export type FlLibp2p = Pick<Libp2p, 'getConnections' | 'addEventListener' | 'removeEventListener' | 'handle' | 'unhandle' | 'dialProtocol'> & { services: { pubsub: GossipSub } }

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
 * 'update:refused' ({ code, hospital, … }: every refused FL message, from the gossip or direct
 * checks or a round's rules), 'update:received' ({ kind, task, round, hospital, step, weights:
 * 'inline' | 'cid' | null, result }: a hospital's message that came over the direct protocol, and
 * the verdict of this peer's coordinator on it), 'training:filtered', 'participation:done', 'model:loaded', 'model:failed',
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
