// The FL wire format (docs/design.md §6, issue 4): dag-cbor messages on `/medichain/<ledgerId>/fl/<task>`
// — round-start (global weights inline up to 1 MiB, else by helia CID), update (a hospital's
// trained weights, sample count and local loss) and round-end. Every message is signed over
// `tag || 0x00 || dag-cbor({ledger, …fields})`, so it cannot be replayed in another consortium or
// passed off as another kind; updates use FL_UPDATE_TAG, coordinator messages FL_ROUND_TAG.
import type { CID } from 'multiformats/cid'
import { concat, utf8 } from '../../../protocol/bytes.ts'
import { decode, encode } from '../../../protocol/codec.ts'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../../../protocol/constants.ts'
import type { Identity, Verifier } from '../../../protocol/crypto/ed25519.ts'
import { SchemaError, TooLargeError } from '../../../protocol/errors.ts'
import {
  expectArray, expectBytes, expectCid, expectEnum, expectFields, expectFinite, expectString, expectUint, nullable
} from '../../../protocol/schema.ts'
import { FL_MESSAGE_MAX_BYTES, FL_ROUND_TAG, FL_SECAGG_TAG, FL_UPDATE_TAG, INLINE_MAX_BYTES, TASK_ID, TASK_LIMITS } from '../constants.ts'
import { UpdateRefusedError } from '../errors.ts'

/** Local-training settings every participant uses in a round. */
export interface RoundConfig {
  epochs: number
  batchSize: number
  /** Adam step size at the first local step of the round. */
  learningRate: number
  /**
   * Step size at the last local step, reached by a cosine (node/ai/train/train.ts): the round's segment
   * of the task's schedule (task/schedule.ts); equal to learningRate when the rate is constant.
   */
  learningRateEnd: number
  /** FedProx proximal weight μ (Li et al., MLSys 2020); 0 trains plain FedAvg clients. */
  mu: number
  /**
   * Present when the task aggregates securely (node/fl/secagg): each hospital clips its update to
   * `clip`, adds its share of the DP noise (σ = `dpSigma`, when set) and sends it masked.
   */
  secure?: SecureRoundConfig
}

/** A secure round's settings, the same for every hospital of the round. */
export interface SecureRoundConfig {
  clip: number
  dpSigma?: number
  /** How long after the deadline hospitals keep waiting to reveal unmask shares (ms). */
  graceMs: number
}

/** Weights carried inline (≤ INLINE_MAX_BYTES) or stored in helia and named by CID. */
export type Payload = Uint8Array | CID

/** The coordinator opens a round: the global model and the deadline for updates. */
export interface RoundStart {
  kind: 'round-start'
  task: string
  round: number
  /** Updates must arrive before this time (ms since the epoch, coordinator's clock). */
  deadline: number
  /** The global weights as an MCW1 file (node/ai/model/weights-format.ts), inline or by CID. */
  global: Payload
  /** CID of the same MCW1 file in helia: a hospital that missed the inline copy fetches it. */
  model: CID
  config: RoundConfig
  coordinator: Uint8Array
  sig: Uint8Array
}

/** A hospital's trained weights for one round, signed by the hospital's member key. */
export interface Update {
  kind: 'update'
  task: string
  round: number
  hospital: Uint8Array
  /** Training images used (the FedAvg weight). */
  samples: number
  /** Mean local task loss over the last epoch. */
  loss: number
  /** Wall time of local training (ms), for the round-overhead figure. */
  trainMs: number
  /** Local weights, float32 little-endian, every tensor in layout order (see flattenWeights). */
  weights: Payload
  sig: Uint8Array
}

/** The coordinator closes a round: who took part, the validation figures, and the published model. */
export interface RoundEnd {
  kind: 'round-end'
  task: string
  round: number
  status: 'aggregated' | 'insufficient'
  participants: Uint8Array[]
  /** Validation loss and Dice of the new global model (null when the round did not aggregate). */
  loss: number | null
  dice: number | null
  /** True on the last round of the task. */
  done: boolean
  /** CID of the published model, on the last round. */
  published: CID | null
  coordinator: Uint8Array
  sig: Uint8Array
}

/** Steps of a secure-aggregation round sent by hospitals, and those sent by the coordinator. */
export const SECAGG_HOSPITAL_STEPS = ['keys', 'shares', 'masked', 'unmask'] as const
export const SECAGG_COORDINATOR_STEPS = ['key-list', 'share-list', 'survivors'] as const
export type SecAggStep = typeof SECAGG_HOSPITAL_STEPS[number] | typeof SECAGG_COORDINATOR_STEPS[number]

/**
 * One step of a secure-aggregation round (node/fl/secagg): `body` is the step's dag-cbor payload
 * (node/fl/secagg/wire.ts), whose inner messages carry their hospitals' own signatures so the
 * coordinator can relay them; the envelope is signed by `from`, a hospital for its own steps and
 * the task's coordinator for the lists.
 */
export interface SecAggEnvelope {
  kind: 'secagg'
  task: string
  round: number
  step: SecAggStep
  from: Uint8Array
  body: Uint8Array
  sig: Uint8Array
}

/** Any FL message. */
export type FlMessage = RoundStart | Update | RoundEnd | SecAggEnvelope

/** True for the messages only the task's coordinator may send. */
export function isCoordinatorMessage (message: FlMessage): boolean {
  if (message.kind === 'update') return false
  if (message.kind === 'secagg') return (SECAGG_COORDINATOR_STEPS as readonly string[]).includes(message.step)
  return true
}

/** A message before signing (distributes over the union, so `kind` still narrows). */
export type Unsigned<M extends FlMessage> = M extends FlMessage ? Omit<M, 'sig'> : never

const KEY = ED25519_PUBLIC_KEY_BYTES

/** The domain tag a kind of message is signed under. */
function tagOf (kind: FlMessage['kind']): string {
  return kind === 'update' ? FL_UPDATE_TAG : kind === 'secagg' ? FL_SECAGG_TAG : FL_ROUND_TAG
}

/** The bytes a message's signature covers: `utf8(tag) || 0x00 || dag-cbor({ledger, …fields})`. */
export function flSigningBytes (ledgerId: Uint8Array, message: Unsigned<FlMessage>): Uint8Array {
  return concat(utf8(tagOf(message.kind)), new Uint8Array([0]), encode({ ...message, ledger: ledgerId }))
}

/** The key that must have signed a message: the hospital of an update, the sender of a secagg step, else the coordinator. */
export function signerOf (message: Unsigned<FlMessage>): Uint8Array {
  if (message.kind === 'update') return message.hospital
  if (message.kind === 'secagg') return message.from
  return message.coordinator
}

/** The signature of `identity` (the message's signer) over a message. */
export function signatureOf (ledgerId: Uint8Array, message: Unsigned<FlMessage>, identity: Identity): Uint8Array {
  return identity.sign(flSigningBytes(ledgerId, message))
}

/** A round-start signed by the coordinator. */
export function signRoundStart (ledgerId: Uint8Array, message: Unsigned<RoundStart>, identity: Identity): RoundStart {
  return { ...message, sig: signatureOf(ledgerId, message, identity) }
}

/** An update signed by its hospital. */
export function signUpdate (ledgerId: Uint8Array, message: Unsigned<Update>, identity: Identity): Update {
  return { ...message, sig: signatureOf(ledgerId, message, identity) }
}

/** A secure-aggregation step signed by its sender. */
export function signSecAggEnvelope (ledgerId: Uint8Array, message: Unsigned<SecAggEnvelope>, identity: Identity): SecAggEnvelope {
  return { ...message, sig: signatureOf(ledgerId, message, identity) }
}

/** A round-end signed by the coordinator. */
export function signRoundEnd (ledgerId: Uint8Array, message: Unsigned<RoundEnd>, identity: Identity): RoundEnd {
  return { ...message, sig: signatureOf(ledgerId, message, identity) }
}

/** Throws BAD_SIGNATURE unless the message is signed by its signer under strict RFC 8032 rules. */
export function verifyFlMessage (ledgerId: Uint8Array, message: FlMessage, verify: Verifier): void {
  const { sig, ...unsigned } = message
  if (!verify(signerOf(message), flSigningBytes(ledgerId, unsigned), sig)) {
    throw new UpdateRefusedError('BAD_SIGNATURE', `${message.kind} for round ${message.round} is not signed by its sender`)
  }
}

/** Canonical bytes of a message; throws TOO_LARGE past the gossip bound. */
export function encodeFlMessage (message: FlMessage): Uint8Array {
  const bytes = encode(message)
  if (bytes.length > FL_MESSAGE_MAX_BYTES) throw new TooLargeError(`an FL message may be at most ${FL_MESSAGE_MAX_BYTES} bytes, got ${bytes.length}`)
  return bytes
}

function payload (v: unknown, p: string): Payload {
  return v instanceof Uint8Array ? expectBytes(v, p, undefined, INLINE_MAX_BYTES) : expectCid(v, p)
}

function taskId (v: unknown, p: string): string {
  const s = expectString(v, p, 64)
  if (!TASK_ID.test(s)) throw new SchemaError(`${p}: expected lower-case letters, digits and dashes`)
  return s
}

function positive (v: unknown, p: string): number {
  const n = expectFinite(v, p)
  if (n <= 0) throw new SchemaError(`${p}: expected a positive number, got ${n}`)
  return n
}

function nonNegative (v: unknown, p: string): number {
  const n = expectFinite(v, p)
  if (n < 0) throw new SchemaError(`${p}: expected a number ≥ 0, got ${n}`)
  return n
}

function roundConfig (v: unknown, p: string): RoundConfig {
  const f = expectFields(v, p, ['epochs', 'batchSize', 'learningRate', 'learningRateEnd', 'mu'], ['secure'])
  const epochs = expectUint(f.epochs, `${p}.epochs`, TASK_LIMITS.epochs)
  const batchSize = expectUint(f.batchSize, `${p}.batchSize`, TASK_LIMITS.batchSize)
  if (epochs === 0 || batchSize === 0) throw new SchemaError(`${p}: epochs and batchSize must be positive`)
  return {
    epochs,
    batchSize,
    learningRate: positive(f.learningRate, `${p}.learningRate`),
    // 0 is legitimate: the cosine ends at 0 on the task's last local step.
    learningRateEnd: nonNegative(f.learningRateEnd, `${p}.learningRateEnd`),
    mu: nonNegative(f.mu, `${p}.mu`),
    ...(f.secure === undefined ? {} : { secure: secureConfig(f.secure, `${p}.secure`) })
  }
}

function secureConfig (v: unknown, p: string): SecureRoundConfig {
  const f = expectFields(v, p, ['clip', 'graceMs'], ['dpSigma'])
  return {
    clip: positive(f.clip, `${p}.clip`),
    graceMs: expectUint(f.graceMs, `${p}.graceMs`, TASK_LIMITS.roundTimeoutMs),
    ...(f.dpSigma === undefined ? {} : { dpSigma: nonNegative(f.dpSigma, `${p}.dpSigma`) })
  }
}

function parseRoundStart (v: unknown): RoundStart {
  const f = expectFields(v, 'fl', ['kind', 'task', 'round', 'deadline', 'global', 'model', 'config', 'coordinator', 'sig'])
  return {
    kind: 'round-start',
    task: taskId(f.task, 'fl.task'),
    round: expectUint(f.round, 'fl.round'),
    deadline: expectUint(f.deadline, 'fl.deadline'),
    global: payload(f.global, 'fl.global'),
    model: expectCid(f.model, 'fl.model'),
    config: roundConfig(f.config, 'fl.config'),
    coordinator: expectBytes(f.coordinator, 'fl.coordinator', KEY),
    sig: expectBytes(f.sig, 'fl.sig', ED25519_SIGNATURE_BYTES)
  }
}

function parseUpdate (v: unknown): Update {
  const f = expectFields(v, 'fl', ['kind', 'task', 'round', 'hospital', 'samples', 'loss', 'trainMs', 'weights', 'sig'])
  const samples = expectUint(f.samples, 'fl.samples', 1e9)
  if (samples === 0) throw new SchemaError('fl.samples: an update needs at least one sample')
  return {
    kind: 'update',
    task: taskId(f.task, 'fl.task'),
    round: expectUint(f.round, 'fl.round'),
    hospital: expectBytes(f.hospital, 'fl.hospital', KEY),
    samples,
    loss: nonNegative(f.loss, 'fl.loss'),
    trainMs: expectUint(f.trainMs, 'fl.trainMs'),
    weights: payload(f.weights, 'fl.weights'),
    sig: expectBytes(f.sig, 'fl.sig', ED25519_SIGNATURE_BYTES)
  }
}

function parseRoundEnd (v: unknown): RoundEnd {
  const f = expectFields(v, 'fl', ['kind', 'task', 'round', 'status', 'participants', 'loss', 'dice', 'done', 'published', 'coordinator', 'sig'])
  if (typeof f.done !== 'boolean') throw new SchemaError('fl.done: expected a boolean')
  return {
    kind: 'round-end',
    task: taskId(f.task, 'fl.task'),
    round: expectUint(f.round, 'fl.round'),
    status: expectEnum(f.status, 'fl.status', ['aggregated', 'insufficient']),
    participants: expectArray(f.participants, 'fl.participants', 256, (x, q) => expectBytes(x, q, KEY)),
    loss: nullable(f.loss, 'fl.loss', nonNegative),
    dice: nullable(f.dice, 'fl.dice', nonNegative),
    done: f.done,
    published: nullable(f.published, 'fl.published', expectCid),
    coordinator: expectBytes(f.coordinator, 'fl.coordinator', KEY),
    sig: expectBytes(f.sig, 'fl.sig', ED25519_SIGNATURE_BYTES)
  }
}

function parseSecAggEnvelope (v: unknown): SecAggEnvelope {
  const f = expectFields(v, 'fl', ['kind', 'task', 'round', 'step', 'from', 'body', 'sig'])
  return {
    kind: 'secagg',
    task: taskId(f.task, 'fl.task'),
    round: expectUint(f.round, 'fl.round'),
    step: expectEnum(f.step, 'fl.step', [...SECAGG_HOSPITAL_STEPS, ...SECAGG_COORDINATOR_STEPS]),
    from: expectBytes(f.from, 'fl.from', KEY),
    body: expectBytes(f.body, 'fl.body', undefined, INLINE_MAX_BYTES + 32 * 1024),
    sig: expectBytes(f.sig, 'fl.sig', ED25519_SIGNATURE_BYTES)
  }
}

/**
 * Decodes and shape-checks a message (not its signature: see verifyFlMessage). Throws TOO_LARGE,
 * BAD_ENCODING, NON_CANONICAL or BAD_SCHEMA.
 */
export function decodeFlMessage (bytes: Uint8Array): FlMessage {
  if (bytes.length > FL_MESSAGE_MAX_BYTES) throw new TooLargeError(`an FL message may be at most ${FL_MESSAGE_MAX_BYTES} bytes, got ${bytes.length}`)
  const v = decode(bytes)
  const kindField = typeof v === 'object' && v !== null ? Reflect.get(v, 'kind') : undefined
  const kind = expectEnum(kindField, 'fl.kind', ['round-start', 'update', 'round-end', 'secagg'] as const)
  if (kind === 'secagg') return parseSecAggEnvelope(v)
  if (kind === 'round-start') return parseRoundStart(v)
  if (kind === 'update') return parseUpdate(v)
  return parseRoundEnd(v)
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/** Weights as one byte string: every tensor's float32 values, little-endian, in layout order. */
export function flattenWeights (weights: readonly Float32Array[]): Uint8Array {
  const out = new Uint8Array(weights.reduce((n, w) => n + w.byteLength, 0))
  const view = new DataView(out.buffer)
  let offset = 0
  for (const w of weights) {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), offset)
    else for (let j = 0; j < w.length; j++) view.setFloat32(offset + j * 4, w[j], true)
    offset += w.byteLength
  }
  return out
}

/** Splits flattened weights into tensors of `sizes` values; throws BAD_SHAPE when the length differs. */
export function unflattenWeights (bytes: Uint8Array, sizes: readonly number[]): Float32Array[] {
  const total = sizes.reduce((a, b) => a + b, 0)
  if (bytes.length !== total * 4) throw new UpdateRefusedError('BAD_SHAPE', `expected ${total * 4} bytes of weights, got ${bytes.length}`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let offset = 0
  return sizes.map(n => {
    const w = new Float32Array(n)
    for (let j = 0; j < n; j++) w[j] = view.getFloat32(offset + j * 4, true)
    offset += n * 4
    return w
  })
}
