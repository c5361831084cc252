// The hospital side of a round (docs/design.md §6, seed: "learn → send back"): on a round-start, keep only
// this hospital's images whose patients hold a live training consent, train a copy of the global
// model on them for E local epochs (FedProx when μ > 0) along the round's learning-rate segment,
// and send a signed update with the sample count and the local loss. What was excluded is counted
// and reported, never the images themselves.
import type { Logger } from 'pino'
import type { Identity, Verifier } from '../../../protocol/crypto/ed25519.ts'
import { MedichainError } from '../../../protocol/errors.ts'
import type { Clock, Ledger } from '../../../ledger/types.ts'
import { loadWeights } from '../../ai/model/model.ts'
import { trainLocal } from '../../ai/train/train.ts'
import { codeOf } from '../../p2p/errors.ts'
import { FETCH_TIMEOUT_MS, INLINE_MAX_BYTES } from '../constants.ts'
import { filterByTrainingConsent, sampleOf } from './consent.ts'
import type { ConsentFilterResult, ExclusionReason, TrainingSet } from './consent.ts'
import { flattenWeights, signUpdate } from '../transport/messages.ts'
import type { RoundStart, SecAggEnvelope, Update } from '../transport/messages.ts'
import { participateSecurely } from './secure-participant.ts'
import type { SecureInbox, Trained } from './secure-participant.ts'
import { UpdateRefusedError } from '../errors.ts'
import type { Delivery } from '../transport/direct.ts'
import type { ModelStore } from '../transport/model-store.ts'

/**
 * How this hospital's part in one round ended. 'sent': the coordinator acknowledged taking the
 * update; 'refused': it answered with a refusal (`code`); 'undelivered': no answer came before the
 * deadline (`code`: the last failure); 'late': trained past the deadline, or the coordinator said LATE.
 */
export type ParticipationStatus = 'sent' | 'no-data' | 'late' | 'failed' | 'superseded' | 'refused' | 'undelivered'

/** Where and until when a hospital's message is delivered: the round's coordinator, its deadline, the round's abort signal. */
export interface DeliveryRoute { coordinator: Uint8Array, deadline: number, signal: AbortSignal }

/** Thrown inside a secure exchange when a step was not taken by the coordinator: `status` and `code` go to the record. */
class StepNotDeliveredError extends MedichainError {
  readonly status: 'refused' | 'undelivered'
  constructor (status: 'refused' | 'undelivered', code: string, step: string) {
    super(code, `the ${step} step was ${status} (${code})`)
    this.name = 'StepNotDeliveredError'
    this.status = status
  }
}

/** The record's status and code for how a delivery ended. */
function statusOf (delivery: Delivery): Pick<ParticipationRecord, 'status' | 'code'> {
  if (delivery.outcome === 'accepted') return { status: 'sent' }
  if (delivery.outcome === 'refused' && delivery.code === 'LATE') return { status: 'late', code: 'LATE' }
  return { status: delivery.outcome, code: delivery.code }
}

/** This hospital's record of one round it was asked to join. */
export interface ParticipationRecord {
  task: string
  round: number
  status: ParticipationStatus
  /** Images offered by the training set, kept after the consent check, and excluded (by reason). */
  total: number
  kept: number
  excluded: number
  reasons: Record<ExclusionReason, number>
  loss: number | null
  trainMs: number | null
  /** Error code when status is 'failed', 'refused' or 'undelivered' (and 'late' when the coordinator said so). */
  code?: string
}

/** What a participant needs. */
export interface ParticipantComponents {
  ledger: Pick<Ledger, 'id' | 'self' | 'queries'>
  identity: Identity
  models: ModelStore
  trainingSet: TrainingSet
  logger: Logger
  clock: Clock
  /** Delivers a signed update to the round's coordinator (directly, gossip as the fallback, or this peer's own); resolves with how it ended. */
  send: (update: Update, route: DeliveryRoute) => Promise<Delivery>
  /** Secure aggregation: the inbox of coordinator steps, how to deliver this hospital's steps, and a signature check. */
  secure?: { inbox: SecureInbox, send: (envelope: SecAggEnvelope, route: DeliveryRoute) => Promise<Delivery>, verify: Verifier }
}

/** Options of a participant. */
export interface ParticipantInit {
  /** How long the global model may take to arrive by CID (ms). */
  fetchTimeoutMs?: number
  /** Records kept for `history()`. */
  keep?: number
  /** Largest update sent inline (bytes); larger ones are stored and sent by CID. Default INLINE_MAX_BYTES. */
  inlineMaxBytes?: number
}

/**
 * The participant. Events: 'training:filtered' (detail: { task, round, total, kept, excluded,
 * reasons }) after each consent check, 'participation:done' (ParticipationRecord) after each round.
 */
export interface Participant extends EventTarget {
  /**
   * Takes part in a round (once per task and round). `membership.join` is called at once, so the
   * coordinator counts this hospital in before its update can arrive, and `leave` when the consent
   * check finds nothing to train on: the caller subscribes to and leaves the task topic then.
   */
  onRoundStart(start: RoundStart, membership?: { join: () => void, leave: () => void }): Promise<ParticipationRecord | undefined>
  /** The consent filter as it stands now, without training (for status pages and tests). */
  eligible(): Promise<ConsentFilterResult>
  /** Aborts any round in progress. */
  stop(): void
  /** Recent rounds, oldest first. */
  history(): ParticipationRecord[]
}

/** Rounds remembered to ignore a round-start heard twice (inline on the task topic, by CID on the control topic). */
const SEEN_ROUNDS = 4096

function noReasons (): Record<ExclusionReason, number> {
  return { 'no-consent': 0, revoked: 0, expired: 0, 'other-purpose': 0, 'out-of-scope': 0 }
}

/** Creates a participant: `createParticipant(init)(components)`. */
export function createParticipant (init: ParticipantInit = {}) {
  return (components: ParticipantComponents): Participant => {
    const { ledger, identity, models, clock } = components
    const log = components.logger.child({ module: 'fl:participant' })
    const events = new EventTarget()
    const seen = new Set<string>()
    const active = new Map<string, AbortController>()
    const records: ParticipationRecord[] = []
    const keep = init.keep ?? 256

    const eligible = async (): Promise<ConsentFilterResult> => {
      const items = await components.trainingSet()
      return await filterByTrainingConsent(items, { consentsOf: ledger.queries.consentsOf, hospital: ledger.self, now: clock() })
    }

    const finish = (record: ParticipationRecord): ParticipationRecord => {
      records.push(record)
      if (records.length > keep) records.shift()
      log.info({ task: record.task, round: record.round, status: record.status, kept: record.kept, excluded: record.excluded, code: record.code }, 'round participation')
      events.dispatchEvent(new CustomEvent('participation:done', { detail: record }))
      return record
    }

    /** Loads the global model and the consented samples, and trains; the caller sends the result. */
    const trainOn = async (start: RoundStart, filter: ConsentFilterResult, signal: AbortSignal): Promise<Trained & { global: Float32Array[], samples: number }> => {
      const bytes = start.global instanceof Uint8Array
        ? start.global
        : await models.get(start.global, { signal, timeoutMs: init.fetchTimeoutMs ?? FETCH_TIMEOUT_MS })
      const model = loadWeights(bytes)
      try {
        // Only consented items are ever loaded: excluded ones are not even read from disk.
        const samples = await Promise.all(filter.kept.map(sampleOf))
        const { epochs, batchSize, learningRate, learningRateEnd, mu } = start.config
        const global = model.getWeights()
        const began = performance.now()
        const result = await trainLocal(model, samples, {
          epochs, batchSize, learningRate, learningRateEnd, proximalMu: mu, globalWeights: mu > 0 ? global : undefined, seed: start.round, signal
        })
        return { weights: model.getWeights(), global, loss: result.loss, trainMs: Math.round(performance.now() - began), samples: result.samples }
      } finally {
        model.dispose()
      }
    }

    const train = async (start: RoundStart, filter: ConsentFilterResult, signal: AbortSignal): Promise<Pick<ParticipationRecord, 'status' | 'loss' | 'trainMs' | 'code'>> => {
      if (start.config.secure !== undefined) {
        // Secure aggregation: keys go out at once, the update leaves this peer only masked (round/secure-participant.ts).
        const secure = components.secure
        if (secure === undefined) throw new UpdateRefusedError('WRONG_ROUND', 'this participant cannot take part in secure rounds')
        // Unmask shares are taken until graceMs past the deadline.
        const route = { coordinator: start.coordinator, deadline: start.deadline + start.config.secure.graceMs, signal }
        const send = async (envelope: SecAggEnvelope): Promise<void> => {
          const delivery = await secure.send(envelope, route)
          if (delivery.outcome === 'undelivered' && signal.aborted) throw new MedichainError('ABORTED', `the round ended before the coordinator took the ${envelope.step} step`)
          if (delivery.outcome !== 'accepted') throw new StepNotDeliveredError(delivery.outcome, delivery.code, envelope.step)
        }
        const done = await participateSecurely(start, filter.kept.length, trainOn(start, filter, signal), {
          ledgerId: ledger.id, self: ledger.self, identity, verify: secure.verify, inbox: secure.inbox, send, signal
        })
        return { status: 'sent', loss: done.loss, trainMs: done.trainMs }
      }
      const trained = await trainOn(start, filter, signal)
      if (clock() > start.deadline) return { status: 'late', loss: trained.loss, trainMs: trained.trainMs }
      const flat = flattenWeights(trained.weights)
      const weights = flat.length <= (init.inlineMaxBytes ?? INLINE_MAX_BYTES) ? flat : await models.put(flat)
      const update = signUpdate(ledger.id, {
        kind: 'update', task: start.task, round: start.round, hospital: ledger.self, samples: trained.samples, loss: trained.loss, trainMs: trained.trainMs, weights
      }, identity)
      const delivery = await components.send(update, { coordinator: start.coordinator, deadline: start.deadline, signal })
      // Cut short by the round's end or a newer round: recorded as late or superseded below.
      if (delivery.outcome === 'undelivered' && signal.aborted) throw new MedichainError('ABORTED', 'the round ended before the coordinator answered')
      return { ...statusOf(delivery), loss: trained.loss, trainMs: trained.trainMs }
    }

    const onRoundStart = async (start: RoundStart, membership?: { join: () => void, leave: () => void }): Promise<ParticipationRecord | undefined> => {
      const key = `${start.task}:${start.round}`
      if (seen.has(key) || clock() > start.deadline) return undefined
      seen.add(key)
      // Rounds are announced in order; remembering the last few thousand is enough to drop repeats.
      if (seen.size > SEEN_ROUNDS) seen.delete(seen.values().next().value ?? key)
      // A new round of the same task supersedes one still training: its deadline has passed.
      active.get(start.task)?.abort()
      const controller = new AbortController()
      active.set(start.task, controller)
      // A secure round's unmasking runs up to graceMs past the deadline.
      const timer = setTimeout(() => controller.abort(), Math.max(0, start.deadline + (start.config.secure?.graceMs ?? 0) - clock()))
      const base = { task: start.task, round: start.round, loss: null, trainMs: null }
      let counts: Pick<ParticipationRecord, 'total' | 'kept' | 'excluded' | 'reasons'> = { total: 0, kept: 0, excluded: 0, reasons: noReasons() }
      membership?.join()
      try {
        const filter = await eligible()
        counts = { total: filter.total, kept: filter.kept.length, excluded: filter.excluded, reasons: filter.reasons }
        events.dispatchEvent(new CustomEvent('training:filtered', { detail: { task: start.task, round: start.round, ...counts } }))
        if (filter.kept.length === 0) {
          membership?.leave()
          return finish({ ...base, ...counts, status: 'no-data' })
        }
        return finish({ ...base, ...counts, ...await train(start, filter, controller.signal) })
      } catch (err) {
        const code = codeOf(err)
        if (err instanceof StepNotDeliveredError) return finish({ ...base, ...counts, ...statusOf({ outcome: err.status, code }) })
        const status: ParticipationStatus = code !== 'ABORTED' ? 'failed' : active.get(start.task) === controller ? 'late' : 'superseded'
        return finish({ ...base, ...counts, status, ...(status === 'failed' ? { code } : {}) })
      } finally {
        clearTimeout(timer)
        if (active.get(start.task) === controller) active.delete(start.task)
      }
    }

    return Object.assign(events, {
      onRoundStart,
      eligible,
      stop () {
        for (const c of active.values()) c.abort()
        active.clear()
      },
      history: () => [...records]
    })
  }
}
