// Block and evidence gossip on `/medichain/<ledgerId>/blocks` (docs/design.md §4 Replication). Local
// blocks are published when appended; received ones are judged by the ledger inside gossipsub's
// topic validator, so invalid blocks are never forwarded and their sender's score drops.
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub, Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { Block } from '../../protocol/chain/block.ts'
import { equals, toHex } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import { MAX_BLOCK_BYTES } from '../../protocol/constants.ts'
import { MedichainError, TooLargeError } from '../../protocol/errors.ts'
import { expectBytes, expectEnum, expectFields } from '../../protocol/schema.ts'
import { StorageError } from '../../ledger/store/storage-error.ts'
import type { Evidence, Ledger, ReceiveStatus } from '../../ledger/types.ts'
import { blocksTopic, GOSSIP_MAX_BYTES } from './constants.ts'
import { codeOf } from './errors.ts'
import { isMemberPeer } from './gater.ts'
import { parseEvidence } from './sync-messages.ts'

/** A gossip message: one signed block, or one piece of equivocation evidence. */
export type GossipMessage =
  | { kind: 'block', block: Uint8Array }
  | { kind: 'evidence', evidence: Evidence }

/** Canonical bytes of a gossip message. */
export function encodeGossip (message: GossipMessage): Uint8Array {
  return encode(message)
}

/** Decodes and checks a gossip message; throws TooLargeError, EncodingError or SchemaError. */
export function decodeGossip (bytes: Uint8Array): GossipMessage {
  if (bytes.length > GOSSIP_MAX_BYTES) throw new TooLargeError(`a gossip message may be at most ${GOSSIP_MAX_BYTES} bytes, got ${bytes.length}`)
  const v = decode(bytes)
  const kind = expectEnum(expectFields(v, 'gossip', ['kind'], ['block', 'evidence']).kind, 'gossip.kind', ['block', 'evidence'] as const)
  if (kind === 'block') {
    const f = expectFields(v, 'gossip', ['kind', 'block'])
    return { kind, block: expectBytes(f.block, 'gossip.block', undefined, MAX_BLOCK_BYTES) }
  }
  const f = expectFields(v, 'gossip', ['kind', 'evidence'])
  return { kind, evidence: parseEvidence(f.evidence, 'gossip.evidence') }
}

/** The ledger surface gossip uses. */
export type GossipLedger = Pick<Ledger, 'id' | 'self' | 'receive' | 'receiveEvidence' | 'isMember' | 'addEventListener' | 'removeEventListener'>

/** What gossip needs. */
export interface GossipComponents {
  pubsub: GossipSub
  ledger: GossipLedger
  logger: Logger
  /** Asked to sync with the sender of a block whose dependencies are missing here. */
  sync: { syncWith(peer: PeerId): Promise<unknown> }
}

/**
 * Events: 'gossip:received' ({ from, kind, status }) after the ledger took a gossiped message;
 * 'gossip:invalid' ({ from, code }) when one was refused.
 */
export interface GossipEvents {
  'gossip:received': { from: string, kind: GossipMessage['kind'], status: ReceiveStatus | 'stored' | 'known' }
  'gossip:invalid': { from: string, code: string }
}

/** The gossip service. */
export interface Gossip extends EventTarget {
  readonly topic: string
  start(): void
  stop(): void
  /** Publishes a message; resolves to the number of peers it was sent to. Never throws. */
  publish(message: GossipMessage): Promise<number>
}

/** Creates the gossip service; see the file comment. */
export function createGossip () {
  return (components: GossipComponents): Gossip => {
    const log = components.logger.child({ module: 'p2p:gossip' })
    const { pubsub, ledger } = components
    const topic = blocksTopic(toHex(ledger.id))
    const events = new EventTarget()
    let running = false

    const invalid = (from: string, code: string, result: TopicValidatorResult): TopicValidatorResult => {
      log.warn({ peer: from, code }, 'refused a gossip message')
      events.dispatchEvent(new CustomEvent('gossip:invalid', { detail: { from, code } }))
      return result
    }

    const received = (from: string, kind: GossipMessage['kind'], status: GossipEvents['gossip:received']['status']): void => {
      events.dispatchEvent(new CustomEvent('gossip:received', { detail: { from, kind, status } }))
    }

    const askSync = (peer: PeerId): void => {
      components.sync.syncWith(peer).catch((err: unknown) => {
        log.debug({ peer: peer.toString(), code: codeOf(err) }, 'sync for a buffered block failed')
      })
    }

    const validateBlock = async (peer: PeerId, bytes: Uint8Array): Promise<TopicValidatorResult> => {
      const from = peer.toString()
      let status: ReceiveStatus
      try {
        status = await ledger.receive(bytes)
      } catch (err) {
        if (err instanceof MedichainError && err.code === 'MISSING_DEPENDENCY') {
          askSync(peer)
          return TopicValidatorResult.Ignore
        }
        // Our own disk refused it: not the sender's fault, and sync brings it again once it recovers.
        if (err instanceof StorageError) return TopicValidatorResult.Ignore
        // FLAGGED_MEMBER depends on evidence this peer holds and the forwarder may not have had
        // yet: not the forwarder's fault, so it is ignored rather than held against its score.
        if (err instanceof MedichainError && err.code === 'FLAGGED_MEMBER') return invalid(from, err.code, TopicValidatorResult.Ignore)
        if (err instanceof MedichainError) return invalid(from, err.code, TopicValidatorResult.Reject)
        log.error({ peer: from, err: codeOf(err) }, 'ledger failed while judging a gossiped block')
        return TopicValidatorResult.Ignore
      }
      received(from, 'block', status)
      if (status === 'buffered') {
        // A dependency is missing here; the peer that sent the block has it.
        askSync(peer)
        return TopicValidatorResult.Ignore
      }
      return TopicValidatorResult.Accept
    }

    const validateEvidence = async (peer: PeerId, evidence: Evidence): Promise<TopicValidatorResult> => {
      const from = peer.toString()
      try {
        const stored = await ledger.receiveEvidence(evidence)
        received(from, 'evidence', stored ? 'stored' : 'known')
        return stored ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore
      } catch (err) {
        if (err instanceof StorageError) return TopicValidatorResult.Ignore
        if (err instanceof MedichainError) return invalid(from, err.code, TopicValidatorResult.Reject)
        log.error({ peer: from, err: codeOf(err) }, 'ledger failed while judging gossiped evidence')
        return TopicValidatorResult.Ignore
      }
    }

    const validate = async (peer: PeerId, msg: Message): Promise<TopicValidatorResult> => {
      const from = peer.toString()
      if (!running) return TopicValidatorResult.Ignore
      if (!isMemberPeer(ledger, peer)) return invalid(from, 'NOT_MEMBER_PEER', TopicValidatorResult.Reject)
      let message: GossipMessage
      try {
        message = decodeGossip(msg.data)
      } catch (err) {
        return invalid(from, codeOf(err), TopicValidatorResult.Reject)
      }
      return message.kind === 'block'
        ? await validateBlock(peer, message.block)
        : await validateEvidence(peer, message.evidence)
    }

    const publish = async (message: GossipMessage): Promise<number> => {
      try {
        const result = await pubsub.publish(topic, encodeGossip(message))
        return result.recipients.length
      } catch (err) {
        log.warn({ kind: message.kind, err: codeOf(err) }, 'gossip publish failed')
        return 0
      }
    }

    const onAppended = (e: Event): void => {
      const block = (e as CustomEvent<Block>).detail
      if (!equals(block.header.author, ledger.self)) return
      void publish({ kind: 'block', block: block.bytes })
    }

    const onEvidence = (e: Event): void => {
      void publish({ kind: 'evidence', evidence: (e as CustomEvent<Evidence>).detail })
    }

    return Object.assign(events, {
      topic,
      start () {
        if (running) return
        running = true
        pubsub.topicValidators.set(topic, validate)
        pubsub.subscribe(topic)
        ledger.addEventListener('block:appended', onAppended)
        ledger.addEventListener('evidence:found', onEvidence)
      },
      stop () {
        if (!running) return
        running = false
        ledger.removeEventListener('block:appended', onAppended)
        ledger.removeEventListener('evidence:found', onEvidence)
        pubsub.unsubscribe(topic)
        pubsub.topicValidators.delete(topic)
      },
      publish
    })
  }
}
