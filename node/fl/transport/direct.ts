// Direct delivery to a task's coordinator over `/medichain/fl/update/1.0.0` (docs/design.md §6): a
// hospital's update, or a step of its secure-aggregation exchange, goes as one length-prefixed
// dag-cbor frame on a stream to the coordinator, which answers with one frame carrying its verdict.
// Gossip reaches only the peers the sender knows to be subscribed to the task topic, and a
// subscription sent while gossip's streams to a fresh connection were still opening can be lost
// for good; a stream to the coordinator does not depend on that. The sender retries with back-off
// until it holds a verdict, the round's deadline passes or the round is aborted.
//
// The coordinator also pushes a round-start this way to a connected member it does not see on
// the control topic, whose subscription may have been lost the same way.
//
// The server admits a frame as the gossip validator does (admit.ts) and more strictly: members
// only, at most FL_MESSAGE_MAX_BYTES (a larger length prefix aborts the stream before the body is
// read), only an update, a hospital's secure step or a round-start (never a round-end or a
// coordinator's secure list), signed by the sending peer's own member key. A refusal after the
// frame is read is answered with its code.
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { Logger } from 'pino'
import { equals } from '../../../protocol/bytes.ts'
import { decode, encode } from '../../../protocol/codec.ts'
import type { Verifier } from '../../../protocol/crypto/ed25519.ts'
import { MedichainError } from '../../../protocol/errors.ts'
import { expectEnum, expectFields, expectString, nullable } from '../../../protocol/schema.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { codeOf } from '../../p2p/errors.ts'
import { isMemberPeer } from '../../p2p/gater.ts'
import { memberKeyOfPeer, peerIdFromMemberKey } from '../../p2p/identity.ts'
import { FL_DIRECT_ATTEMPT_MS, FL_DIRECT_BACKOFF_MS, FL_DIRECT_PROTOCOL, FL_DIRECT_STREAMS, FL_MESSAGE_MAX_BYTES } from '../constants.ts'
import { admitFlMessage } from './admit.ts'
import type { Refusal } from './admit.ts'
import { encodeFlMessage, isCoordinatorMessage, signerOf } from './messages.ts'
import type { RoundStart, SecAggEnvelope, Update } from './messages.ts'
import type { Verdict } from './gossip.ts'

/**
 * What travels directly: a hospital's update or one of its secure-aggregation steps, to the
 * coordinator; a coordinator's round-start, to a member it does not see on the control topic.
 */
export type DirectMessage = Update | SecAggEnvelope | RoundStart

/** The coordinator's answer to one frame. `code` says why when the result is not 'accept'. */
export interface Ack { result: Verdict['result'], code: string | null }

/** How a delivery ended, as the participant records it. */
export type Delivery =
  | { outcome: 'accepted' }
  | { outcome: 'refused', code: string }
  | { outcome: 'undelivered', code: string }

/** Judges a direct message admitted by the checks; undefined when a hospital's message is for a task this peer does not coordinate. */
export type DirectHandler = (message: DirectMessage) => Verdict | undefined

/** What the direct transport needs. */
export interface FlDirectComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  ledger: Pick<Ledger, 'id' | 'isMember'>
  verify: Verifier
  logger: Logger
  handle: DirectHandler
}

/** Options of one delivery. */
export interface DeliverOptions {
  /** No attempt starts after this time (ms since the epoch). */
  deadline: number
  signal?: AbortSignal
  /** Called once, after the first attempt fails without a verdict: the gossip fallback. */
  fallback?: () => Promise<void>
  clock?: () => number
}

/**
 * The direct transport. Events: 'message:refused' (Refusal) for every frame refused,
 * 'message:received' ({ message: DirectMessage, result }) for every frame this peer's coordinator judged.
 */
export interface FlDirect extends EventTarget {
  start(): Promise<void>
  stop(): Promise<void>
  /** One attempt: sends `message` to member `to` and resolves with its verdict; throws DirectError when none came. */
  send(to: Uint8Array, message: DirectMessage, signal?: AbortSignal): Promise<Ack>
  /** Attempts until a verdict, the deadline or abort; never throws. */
  deliver(to: Uint8Array, message: DirectMessage, options: DeliverOptions): Promise<Delivery>
}

/** Thrown by `send` when no verdict came back: dial, stream or frame failed (`code` says which). */
export class DirectError extends MedichainError {
  constructor (code: string, message: string, options?: ErrorOptions) {
    super(code, message, options)
    this.name = 'DirectError'
  }
}

/** Largest acknowledgement frame: a result and a short code. */
const ACK_MAX_BYTES = 256

function encodeAck (ack: Ack): Uint8Array {
  return encode({ t: 'fl-ack', result: ack.result, code: ack.code })
}

function decodeAck (bytes: Uint8Array): Ack {
  const f = expectFields(decode(bytes), 'ack', ['t', 'result', 'code'])
  expectEnum(f.t, 'ack.t', ['fl-ack'] as const)
  return { result: expectEnum(f.result, 'ack.result', ['accept', 'ignore', 'reject'] as const), code: nullable(f.code, 'ack.code', (v, p) => expectString(v, p, 64)) }
}

/** Verdict codes that mean the coordinator already holds the message. */
const ALREADY_HELD = new Set(['DUPLICATE', 'SECAGG_DUPLICATE'])

/**
 * What a verdict means to the sender. A duplicate counts as accepted: only this hospital can sign
 * its message, so the coordinator already holds it (an earlier attempt whose answer was lost, or gossip).
 */
export function deliveryOf (verdict: Pick<Ack, 'result'> & { code?: string | null }): Delivery {
  if (verdict.result === 'accept' || ALREADY_HELD.has(verdict.code ?? '')) return { outcome: 'accepted' }
  return { outcome: 'refused', code: verdict.code ?? 'REFUSED' }
}

/** Resolves after `ms`, or at once on abort. */
async function pause (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done)
  })
}

/** Creates the direct transport; see the file comment. */
export function createFlDirect (components: FlDirectComponents): FlDirect {
  const { libp2p, ledger, verify, handle } = components
  const log = components.logger.child({ module: 'fl:direct' })
  const events = new EventTarget()
  let controller = new AbortController()
  let running = false
  const io = (signal?: AbortSignal): AbortSignal => AbortSignal.any([controller.signal, AbortSignal.timeout(FL_DIRECT_ATTEMPT_MS), ...(signal === undefined ? [] : [signal])])

  const refuse = (refusal: Refusal): void => {
    log.warn(refusal, 'refused a direct FL message')
    events.dispatchEvent(new CustomEvent('message:refused', { detail: refusal }))
  }

  /** Judges one admitted frame from `peer`: the stricter rules of the file comment, then the handler. */
  const judge = (peer: PeerId, bytes: Uint8Array): Ack => {
    const { message, refusal } = admitFlMessage(ledger, verify, peer, bytes)
    if (refusal !== undefined) {
      refuse(refusal)
      return { result: 'reject', code: refusal.code }
    }
    const base = { from: peer.toString(), kind: message.kind }
    if (message.kind === 'round-end' || (message.kind === 'secagg' && isCoordinatorMessage(message))) {
      refuse({ ...base, code: 'WRONG_KIND' })
      return { result: 'reject', code: 'WRONG_KIND' }
    }
    const sender = memberKeyOfPeer(peer)
    if (sender === undefined || !equals(sender, signerOf(message))) {
      refuse({ ...base, code: 'NOT_SIGNER' })
      return { result: 'reject', code: 'NOT_SIGNER' }
    }
    let verdict: Verdict | undefined
    try {
      verdict = handle(message)
    } catch (err) {
      log.error({ err, kind: message.kind }, 'an FL message handler failed')
      return { result: 'ignore', code: 'INTERNAL' }
    }
    if (verdict === undefined) {
      refuse({ ...base, code: 'NOT_COORDINATOR' })
      return { result: 'reject', code: 'NOT_COORDINATOR' }
    }
    events.dispatchEvent(new CustomEvent('message:received', { detail: { message, result: verdict.result } }))
    return { result: verdict.result, code: verdict.result === 'accept' ? null : verdict.code ?? null }
  }

  const serve = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer
    if (!running || !isMemberPeer(ledger, peer)) {
      if (running) refuse({ code: 'NOT_MEMBER_PEER', from: peer.toString() })
      stream.abort(new DirectError('NOT_MEMBER_PEER', 'FL delivery is for members only'))
      return
    }
    const lp = lpStream(stream, { maxDataLength: FL_MESSAGE_MAX_BYTES, maxBufferSize: FL_MESSAGE_MAX_BYTES + 16 })
    let bytes: Uint8Array
    try {
      bytes = (await lp.read({ signal: io() })).subarray()
    } catch (err) {
      const code = ['InvalidDataLengthError', 'InvalidDataLengthLengthError'].includes(codeOf(err)) ? 'TOO_LARGE' : codeOf(err)
      if (code === 'TOO_LARGE') refuse({ code, from: peer.toString() })
      else if (running) log.debug({ peer: peer.toString(), code }, 'direct FL stream failed before its frame')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      return
    }
    try {
      await lp.write(encodeAck(judge(peer, bytes)), { signal: io() })
      await stream.close({ signal: io() })
    } catch (err) {
      if (running) log.debug({ peer: peer.toString(), code: codeOf(err) }, 'could not answer a direct FL frame')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  const send = async (to: Uint8Array, message: DirectMessage, signal?: AbortSignal): Promise<Ack> => {
    if (!running) throw new DirectError('NOT_STARTED', 'the direct FL transport is not running')
    const frame = encodeFlMessage(message)
    let stream: Stream
    try {
      stream = await libp2p.dialProtocol(peerIdFromMemberKey(to), FL_DIRECT_PROTOCOL, { signal: io(signal) })
    } catch (err) {
      throw new DirectError('DIAL_FAILED', `could not open a delivery stream: ${codeOf(err)}`, { cause: err })
    }
    try {
      const lp = lpStream(stream, { maxDataLength: ACK_MAX_BYTES, maxBufferSize: ACK_MAX_BYTES + 16 })
      await lp.write(frame, { signal: io(signal) })
      const ack = decodeAck((await lp.read({ signal: io(signal) })).subarray())
      await stream.close({ signal: io(signal) }).catch(() => undefined)
      return ack
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw new DirectError('NO_ACK', `no verdict on the delivery stream: ${codeOf(err)}`, { cause: err })
    }
  }

  const deliver = async (to: Uint8Array, message: DirectMessage, options: DeliverOptions): Promise<Delivery> => {
    const clock = options.clock ?? Date.now
    let wait: number = FL_DIRECT_BACKOFF_MS.first
    let code = 'NO_ATTEMPT'
    let fellBack = false
    for (let attempt = 1; ; attempt++) {
      if (options.signal?.aborted === true) return { outcome: 'undelivered', code: 'ABORTED' }
      if (!running) return { outcome: 'undelivered', code: 'NOT_STARTED' }
      try {
        const ack = await send(to, message, AbortSignal.any([AbortSignal.timeout(Math.max(1, options.deadline - clock())), ...(options.signal === undefined ? [] : [options.signal])]))
        log.debug({ kind: message.kind, round: message.round, attempt, result: ack.result, code: ack.code }, 'FL message delivered directly')
        return deliveryOf(ack)
      } catch (err) {
        code = codeOf(err)
        log.debug({ kind: message.kind, round: message.round, attempt, code, cause: codeOf((err as Error).cause) }, 'direct FL delivery attempt failed')
      }
      if (!fellBack && options.fallback !== undefined) {
        fellBack = true
        await options.fallback().catch(() => undefined)
      }
      if (clock() + wait >= options.deadline) {
        log.warn({ kind: message.kind, round: message.round, attempts: attempt, code }, 'FL message not acknowledged by the deadline')
        return { outcome: 'undelivered', code }
      }
      await pause(wait, options.signal)
      wait = Math.min(wait * 2, FL_DIRECT_BACKOFF_MS.max)
    }
  }

  return Object.assign(events, {
    async start () {
      if (running) return
      running = true
      controller = new AbortController()
      await libp2p.handle(FL_DIRECT_PROTOCOL, serve, { maxInboundStreams: FL_DIRECT_STREAMS, maxOutboundStreams: FL_DIRECT_STREAMS })
    },
    async stop () {
      if (!running) return
      running = false
      controller.abort()
      await libp2p.unhandle(FL_DIRECT_PROTOCOL).catch(() => undefined)
    },
    send,
    deliver
  })
}
