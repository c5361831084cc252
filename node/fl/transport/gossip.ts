// FL messages over gossipsub: the control topic every FL service listens on, and one topic per
// task (`/medichain/<ledgerId>/fl/<task>`). Every message is judged inside gossipsub's topic
// validator — the checks of admit.ts (sender peer and signer members, signature valid, a round
// message signed by the coordinator its task id names), the topic's task, then the caller's own rules —
// so a refused message is never delivered or forwarded, and each refusal is logged with its code.
// The host must admit these topics from its creation (P2PInit `extraTopics` and `topicPrefixes`,
// see flTopicAllowance in constants.ts): the transport does not widen gossipsub's allow-list.
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { toHex } from '../../../protocol/bytes.ts'
import type { Verifier } from '../../../protocol/crypto/ed25519.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { codeOf } from '../../p2p/errors.ts'
import { isMemberPeer } from '../../p2p/gater.ts'
import { memberHexOfPeer } from '../../p2p/identity.ts'
import { controlTopic, taskTopic } from '../constants.ts'
import { admitFlMessage } from './admit.ts'
import type { Refusal } from './admit.ts'
import { encodeFlMessage, signerOf } from './messages.ts'
import type { FlMessage } from './messages.ts'

/**
 * What the caller decides about a message that passed the transport's checks: accept (deliver and
 * forward), ignore (drop, no penalty: late or stale) or reject (drop and lower the sender's score).
 */
export type Verdict = { result: 'accept' } | { result: 'ignore', code?: string } | { result: 'reject', code: string }

/** Which topic a message came in on. */
export type Via = { topic: 'control' } | { topic: 'task', task: string }

/** Judges (and takes) a well-signed message from a member; must not block: it runs in the validator. */
export type MessageHandler = (message: FlMessage, via: Via) => Verdict

/** Detail of the 'message:refused' event (admit.ts). */
export type { Refusal } from './admit.ts'

/** What the transport needs. */
export interface FlTransportComponents {
  pubsub: GossipSub
  ledger: Pick<Ledger, 'id' | 'isMember'>
  verify: Verifier
  logger: Logger
  handle: MessageHandler
  /** True while a peer has an open connection (gossipsub forgets a dropped peer only later). */
  isConnected?: (peer: PeerId) => boolean
}

/** The FL gossip transport. Event 'message:refused' (Refusal) for every message refused. */
export interface FlTransport extends EventTarget {
  start(): void
  stop(): void
  /** Joins a task's topic (idempotent). */
  joinTask(task: string): void
  leaveTask(task: string): void
  /** Publishes on the control topic or a task topic; resolves to the number of recipients. Never throws. */
  publish(via: Via, message: FlMessage): Promise<number>
  /** Hex member keys of the connected peers subscribed to a task's topic, or to the control topic. */
  subscribers(task: string | null): string[]
}

/** Creates the transport; see the file comment. */
export function createFlTransport (components: FlTransportComponents): FlTransport {
  const { pubsub, ledger, verify, handle } = components
  const log = components.logger.child({ module: 'fl:gossip' })
  const ledgerHex = toHex(ledger.id)
  const control = controlTopic(ledgerHex)
  const events = new EventTarget()
  const tasks = new Map<string, string>()
  let running = false

  const refuse = (refusal: Refusal, result: TopicValidatorResult): TopicValidatorResult => {
    log.warn(refusal, 'refused an FL message')
    events.dispatchEvent(new CustomEvent('message:refused', { detail: refusal }))
    return result
  }

  const judge = (via: Via) => (peer: PeerId, msg: Message): TopicValidatorResult => {
    if (!running) return TopicValidatorResult.Ignore
    const { message, refusal } = admitFlMessage(ledger, verify, peer, msg.data)
    if (refusal !== undefined) return refuse(refusal, TopicValidatorResult.Reject)
    if (via.topic === 'task' && message.task !== via.task) {
      return refuse({ from: peer.toString(), signer: toHex(signerOf(message)), kind: message.kind, code: 'WRONG_TASK' }, TopicValidatorResult.Reject)
    }
    let verdict: Verdict
    try {
      verdict = handle(message, via)
    } catch (err) {
      log.error({ err, kind: message.kind }, 'an FL message handler failed')
      return TopicValidatorResult.Ignore
    }
    // The handler logs and reports its own refusals; here they only decide forwarding.
    if (verdict.result === 'accept') return TopicValidatorResult.Accept
    return verdict.result === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
  }

  const listen = (topic: string, via: Via): void => {
    pubsub.topicValidators.set(topic, judge(via))
    pubsub.subscribe(topic)
  }

  const unlisten = (topic: string): void => {
    pubsub.unsubscribe(topic)
    pubsub.topicValidators.delete(topic)
  }

  const topicOf = (via: Via): string => via.topic === 'control' ? control : taskTopic(ledgerHex, via.task)

  return Object.assign(events, {
    start () {
      if (running) return
      running = true
      listen(control, { topic: 'control' })
      for (const [task, topic] of tasks) listen(topic, { topic: 'task', task })
    },
    stop () {
      if (!running) return
      running = false
      unlisten(control)
      for (const topic of tasks.values()) unlisten(topic)
    },
    joinTask (task: string) {
      if (tasks.has(task)) return
      const topic = taskTopic(ledgerHex, task)
      tasks.set(task, topic)
      if (running) listen(topic, { topic: 'task', task })
    },
    leaveTask (task: string) {
      const topic = tasks.get(task)
      if (topic === undefined) return
      tasks.delete(task)
      if (running) unlisten(topic)
    },
    async publish (via: Via, message: FlMessage): Promise<number> {
      const topic = topicOf(via)
      try {
        const result = await pubsub.publish(topic, encodeFlMessage(message))
        log.debug({ kind: message.kind, round: message.round, recipients: result.recipients.length, known: pubsub.getSubscribers(topic).length, topic: topic.slice(-30) }, 'FL message published')
        return result.recipients.length
      } catch (err) {
        log.warn({ kind: message.kind, code: codeOf(err) }, 'FL publish failed')
        return 0
      }
    },
    subscribers (task: string | null): string[] {
      const out: string[] = []
      for (const peer of pubsub.getSubscribers(task === null ? control : taskTopic(ledgerHex, task))) {
        if (components.isConnected !== undefined && !components.isConnected(peer)) continue
        const hex = memberHexOfPeer(peer)
        if (hex !== undefined && isMemberPeer(ledger, peer)) out.push(hex)
      }
      return out
    }
  })
}
