// Tunables and wire constants of federated learning (docs/design.md §6). Each value says where it comes
// from. The topic names and domain tags are part of the FL wire format: peers must agree on them.

/**
 * Domain tag of a hospital's signature over its update (docs/design.md §4 "Signatures": every signature
 * covers `tag || 0x00 || bytes`). Kept here rather than in protocol/constants.ts DOMAIN because FL
 * messages are a peer-to-peer protocol of node/, not ledger data; the bytes are built the same way.
 */
export const FL_UPDATE_TAG = 'medichain/fl-update/v1'

/** Domain tag of the coordinator's signature over round-start and round-end messages. */
export const FL_ROUND_TAG = 'medichain/fl-round/v1'

/**
 * Share of a round's timeout given to each exchange step of secure aggregation (keys, shares,
 * unmasking): those steps carry only keys and shares, no training, so a fifth is generous; the
 * masked inputs get the time up to the round's deadline, as plain updates do.
 */
export const SECAGG_STEP_FRACTION = 0.2

/**
 * Share of a round's timeout the key step may take: keys leave a hospital right after its consent
 * check, which reads the ledger and, in a task's first round, follows joining the task topic.
 */
export const SECAGG_KEYS_FRACTION = 0.3

/** Domain tag of secure-aggregation step envelopes (node/fl/secagg): a step cannot pass for an update or a round message. */
export const FL_SECAGG_TAG = 'medichain/fl-secagg/v1'

/**
 * Gossipsub topic every FL service listens on: round announcements, by CID, so that a hospital
 * learns of a task (and of a round it missed) without knowing the task topic in advance.
 */
export function controlTopic (ledgerIdHex: string): string {
  return `/medichain/${ledgerIdHex}/fl`
}

/**
 * The prefix of every task topic, `/medichain/<ledgerIdHex>/fl/`: the control topic and `/`.
 * The P2P host must admit it from creation (P2PInit `topicPrefixes`), because task topics are
 * named only when a task starts and gossipsub drops for good a subscription it did not admit.
 */
export function flTopicPrefix (ledgerIdHex: string): string {
  return `${controlTopic(ledgerIdHex)}/`
}

/** Gossipsub topic of one task's rounds: `/medichain/<ledgerIdHex>/fl/<task>` (issue 4). */
export function taskTopic (ledgerIdHex: string, task: string): string {
  return flTopicPrefix(ledgerIdHex) + task
}

/** What createP2P must admit for FL on ledger `ledgerIdHex`: spread into its init. */
export function flTopicAllowance (ledgerIdHex: string): { extraTopics: string[], topicPrefixes: string[] } {
  return { extraTopics: [controlTopic(ledgerIdHex)], topicPrefixes: [flTopicPrefix(ledgerIdHex)] }
}

/**
 * Largest weights payload sent inline in a gossip message (docs/design.md §6: "weights travel inline up
 * to 1 MiB; anything larger goes through helia by CID", because gossipsub drops messages over
 * about 4 MiB silently — STACK.md).
 */
export const INLINE_MAX_BYTES = 1024 * 1024

/** Largest FL gossip message: an inline payload plus generous room for the other fields. */
export const FL_MESSAGE_MAX_BYTES = INLINE_MAX_BYTES + 64 * 1024

/**
 * Protocol of direct delivery to a task's coordinator (transport/direct.ts): a hospital's update or
 * secure-aggregation step, one length-prefixed dag-cbor frame each way (the message, then the
 * coordinator's verdict). Gossip depends on the coordinator's task-topic subscription having
 * reached the sender; a direct stream does not (docs/design.md §6).
 */
export const FL_DIRECT_PROTOCOL = '/medichain/fl/update/1.0.0'

/** Longest one direct delivery attempt may take, dial to acknowledgement (ms): a 1 MiB frame on a loaded link. */
export const FL_DIRECT_ATTEMPT_MS = 15_000

/**
 * Back-off between direct delivery attempts (ms): doubling from the first to the last value, each
 * attempt bounded by the round's deadline. A coordinator briefly unreachable (redial in progress)
 * is retried within a second; one that stays away costs a dial every few seconds, not a storm.
 */
export const FL_DIRECT_BACKOFF_MS = { first: 250, max: 5_000 } as const

/** Direct streams a peer serves at once per connection: a coordinator takes one per hospital and step. */
export const FL_DIRECT_STREAMS = 16

/** Largest model or update file fetched by CID: the biggest U-Net unet-config.ts allows is ~90 MiB. */
export const MODEL_MAX_BYTES = 128 * 1024 * 1024

/**
 * Root-mean-square change per parameter above which an update is absurd (ABSURD_NORM) rather than
 * merely large: weights of this model are O(0.1), and Adam moves each by at most about the
 * learning rate per step, so an honest RMS change stays orders of magnitude below 100.
 */
export const ABSURD_RMS = 100

/**
 * Task ids as the coordinator makes them (`<name>-<16 hex coordinator fingerprint><8 hex nonce>`,
 * ledger/rules/fl.ts): in messages, routes and the stored history. At most 64 characters, the
 * ledger's bound on model.publish `task`.
 */
export const TASK_ID = /^[a-z0-9][a-z0-9-]{0,63}$/

/**
 * Task names: short, URL- and topic-safe (they become part of a gossipsub topic and a route). At
 * most 39 characters, so that name, dash and the 24 hex of fingerprint and nonce fit the 64 of TASK_ID.
 */
export const TASK_NAME = /^[a-z0-9][a-z0-9-]{0,38}$/

/** Defaults of a task (POST /api/fl/tasks may override each). */
export const TASK_DEFAULTS = {
  name: 'detect-strange',
  /**
   * 20 rounds × 4 local epochs, batch 4, Adam from 0.003 down a cosine: the best recipe measured
   * over three non-IID hospitals in docs/benchmarks.md (image AUROC 0.96–0.98; 0.88 to 1.03 of
   * centralised Dice depending on the seed). With 2 local epochs, 20 rounds reach 0.86 of it.
   */
  rounds: 20,
  minParticipants: 2,
  /** Four local epochs of a few hundred 128×128 images take minutes on 2 cores (about 55 ms per image-epoch on wasm). */
  roundTimeoutMs: 600_000,
  epochs: 4,
  batchSize: 4,
  learningRate: 0.003,
  /**
   * One cosine over the whole task, cut per round: trains much better than a constant rate in
   * docs/benchmarks.md (SGDR without restarts, Loshchilov & Hutter, ICLR 2017).
   */
  schedule: 'cosine',
  /** Server learning rate η_g (Reddi et al., ICLR 2021, Alg. 1 with an SGD server): 1 is plain FedAvg. */
  serverLearningRate: 1,
  /** Server momentum β (FedAvgM, Hsu et al. 2019): 0 is plain FedAvg. */
  serverMomentum: 0,
  aggregation: 'fedavg',
  /** Fraction trimmed from each side by the trimmed mean (Yin et al., ICML 2018, β). */
  trim: 0.2,
  /** Early rounds at a high step size can stall for a round or two before the loss falls again. */
  patience: 5,
  seed: 1
} as const

/** Upper bounds on task options, so one admin request cannot ask for unbounded work. */
export const TASK_LIMITS = {
  rounds: 200,
  minParticipants: 256,
  roundTimeoutMs: 24 * 3600_000,
  epochs: 100,
  batchSize: 256,
  patience: 200,
  /**
   * Largest server learning rate η_g: beyond 10 a round's step would extrapolate an order of
   * magnitude past anything the hospitals trained.
   */
  serverLearningRate: 10,
  /** Largest server momentum β: at β → 1 the velocity never forgets; 0.99 already averages ~100 rounds. */
  serverMomentum: 0.99
} as const

/**
 * Longest wait at a task's start for enough FL peers to be reachable (ms): gossipsub learns of a
 * member's subscriptions a moment after connecting (STACK.md: mesh ready ~100 ms after subscribe).
 */
export const START_WAIT_MS = 10_000

/**
 * Default number of tasks whose history a peer keeps, in memory and in `<data>/fl` (FederationInit
 * `keepTasks`): beyond it the oldest finished tasks are dropped, rounds and all. 64 tasks of at
 * most 200 rounds is a few MiB at worst, and years of history at one task a week.
 */
export const MAX_TASKS_KEPT = 64

/** Largest `keepTasks` accepted: every kept task is held in memory and loaded at start. */
export const MAX_TASKS_KEPT_LIMIT = 10_000

/** Rounds of this hospital's own participation kept (in memory and on disk), as the participant keeps. */
export const PARTICIPATION_KEPT = 256

/** Folder of the FL history's level database inside the peer's data folder. */
export const FL_DIR = 'fl'

/** Most model.publish metrics the ledger accepts (protocol/chain/tx.ts `metrics`: at most 16 keys). */
export const MAX_METRICS = 16

/** Metric key prefix of one participant's sample count: `samples:<first 8 hex of its key>`. */
export const SAMPLES_METRIC_PREFIX = 'samples:'

/** Blocks per chain (the newest) the hot-loader reads at start for publications it has not decided about. */
export const HOTLOAD_SCAN_BLOCKS = 4096

/**
 * Fewest held-out labelled images on which a hospital compares a published model with the deployed
 * one before deploying it (FederationInit `deployMinValidation`, config `fl.deployMinValidation`).
 * With 20 images one unusual image moves the mean loss by about 5% at most, so no single image
 * decides; below it the comparison is skipped (said so in the model's record), since a handful of
 * images would refuse good models at random.
 */
export const DEPLOY_MIN_VALIDATION = 20

/** Publication records the deployment keeps (oldest in ledger order dropped first; never the deployed one or the roll-back trail). */
export const DEPLOY_MODELS_KEPT = 256

/** Models kept on the roll-back trail: how far back an admin can roll back step by step. */
export const DEPLOY_TRAIL_KEPT = 32

/**
 * Publications fetched and checked at start, newest first, among those not yet decided and later
 * than the deployed model: each one whose weights nobody holds costs a fetch timeout, so a ledger
 * full of unfetchable publications cannot stall the loader for long; the rest are recorded as
 * superseded.
 */
export const DEPLOY_START_CANDIDATES = 4

/** Time a hot-load or a participant may wait for model bytes over bitswap (ms). */
export const FETCH_TIMEOUT_MS = 30_000
