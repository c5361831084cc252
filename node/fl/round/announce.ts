// The coordinator's messages to the hospitals of a task (docs/design.md §6, seed: "send model"): each
// round's signed round-start, with the global weights inline when small enough or by helia CID,
// and its signed round-end with the validation figures and, on the last one, the published model
// (on the control topic, which does not depend on a task-topic subscription having reached the coordinator).
import type { CID } from 'multiformats/cid'
import { fromHex } from '../../../protocol/bytes.ts'
import type { Identity } from '../../../protocol/crypto/ed25519.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { INLINE_MAX_BYTES } from '../constants.ts'
import { signRoundEnd, signRoundStart } from '../transport/messages.ts'
import type { RoundConfig, RoundStart } from '../transport/messages.ts'
import type { RoundRecord } from '../task/record.ts'
import type { FlTransport } from '../transport/gossip.ts'

/** What the announcer uses. */
export interface AnnouncerComponents {
  ledger: Pick<Ledger, 'id' | 'self'>
  identity: Identity
  transport: Pick<FlTransport, 'publish'>
  /**
   * Sends a round-start directly to the connected members this peer does not know to listen on
   * the control topic (their subscription may have been lost): fire and forget.
   */
  push?: (start: RoundStart) => void
}

/** One round's start, as the coordinator announces it. */
export interface RoundAnnouncement {
  task: string
  round: number
  /** Whether this is the task's first round (`firstRound`): nobody has joined its topic yet. */
  first: boolean
  deadline: number
  /** The global weights (MCW1 bytes) and their CID in helia. */
  bytes: Uint8Array
  model: CID
  config: RoundConfig
}

/** Signs and publishes the coordinator's round messages. */
export interface Announcer {
  /** Announces a round; returns the round-start this peer's own participant should take. */
  roundStart(a: RoundAnnouncement): Promise<RoundStart>
  /** Announces how a round ended; `published` is the chosen model's CID on the task's last round. */
  roundEnd(task: string, record: RoundRecord, done: boolean, published: CID | null): Promise<void>
}

/** Creates the announcer: `createAnnouncer(init)(components)`. */
export function createAnnouncer (init: { inlineMaxBytes?: number } = {}) {
  return (components: AnnouncerComponents): Announcer => {
    const { ledger, identity, transport } = components
    return {
      /**
       * Sends the round-start inline on the task topic (when small enough) and by CID on the
       * control topic, where hospitals not yet in the task (or that missed the inline copy) pick it up.
       */
      async roundStart (a: RoundAnnouncement): Promise<RoundStart> {
        const body = { kind: 'round-start' as const, task: a.task, round: a.round, deadline: a.deadline, model: a.model, config: a.config, coordinator: ledger.self }
        const small = a.bytes.length <= (init.inlineMaxBytes ?? INLINE_MAX_BYTES)
        // First round of the task (round `firstRound`, not always 1): nobody has joined the task
        // topic yet, so the inline copy goes to the control topic. Large models: one copy by CID.
        // Gossipsub identifies messages by their bytes, so two identical copies on two topics would
        // be one message, the second dropped as a duplicate.
        if (a.first || !small) {
          const only = signRoundStart(ledger.id, { ...body, global: small ? a.bytes : a.model }, identity)
          await transport.publish({ topic: 'control' }, only)
          components.push?.(only)
          return only
        }
        const inline = signRoundStart(ledger.id, { ...body, global: a.bytes }, identity)
        await transport.publish({ topic: 'task', task: a.task }, inline)
        await transport.publish({ topic: 'control' }, signRoundStart(ledger.id, { ...body, global: a.model }, identity))
        components.push?.(inline)
        return inline
      },
      async roundEnd (task: string, record: RoundRecord, done: boolean, published: CID | null): Promise<void> {
        const end = signRoundEnd(ledger.id, {
          kind: 'round-end',
          task,
          round: record.round,
          status: record.status,
          participants: record.participants.map(p => fromHex(p.hospital)),
          loss: record.validation?.loss ?? null,
          dice: record.validation?.dice ?? null,
          done,
          published: done ? published : null,
          coordinator: ledger.self
        }, identity)
        // On the control topic, as every round-start goes there too: a hospital receives it from
        // the coordinator whenever the coordinator knows it listens there (it waited for that before
        // the first round), whether or not the coordinator has heard of its task-topic subscription.
        await transport.publish({ topic: 'control' }, end)
      }
    }
  }
}
