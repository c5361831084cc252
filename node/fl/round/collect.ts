// One round at the coordinator (docs/design.md §6): collect signed updates until the deadline, or until
// every hospital still taking part has answered and the minimum is met — so a dropout or a late
// hospital never stalls the round. Each update is checked (round, lateness, duplicates, then its
// weights: shape, finiteness, norm) and refused with a logged code when it breaks a rule.
import type { Logger } from 'pino'
import { toHex } from '../../../protocol/bytes.ts'
import type { Clock } from '../../../ledger/types.ts'
import { codeOf } from '../../p2p/errors.ts'
import { validateUpdate } from './aggregate.ts'
import type { Delta, Weights } from './aggregate.ts'
import type { RefusalCode } from '../errors.ts'
import { unflattenWeights } from '../transport/messages.ts'
import type { Update } from '../transport/messages.ts'
import type { ModelStore } from '../transport/model-store.ts'
import type { Verdict } from '../transport/gossip.ts'

/** An update that passed every check, ready to aggregate. */
export interface AcceptedUpdate {
  /** Hex member key of the hospital. */
  hospital: string
  key: Uint8Array
  samples: number
  loss: number
  trainMs: number
  /** Time from round start to arrival (ms). */
  receivedMs: number
  delta: Delta
}

/** An update that was refused, and why. */
export interface RefusedUpdate { hospital: string | null, code: string }

/** How a round's collection ended. */
export interface RoundOutcome {
  accepted: AcceptedUpdate[]
  refused: RefusedUpdate[]
  closedBy: 'deadline' | 'all-answered' | 'stopped'
}

/** What a round is: its identity, deadline and the reference the updates are checked against. */
export interface RoundCollectorInit {
  task: string
  round: number
  startedAt: number
  deadline: number
  /** Values per tensor of the model's layout. */
  sizes: readonly number[]
  /** The global weights this round started from. */
  global: Weights
  /** Bound on ‖update − global‖ (ABSURD_NORM). */
  maxNorm: number
  minParticipants: number
  fetchTimeoutMs: number
}

/** What a collector uses. */
export interface RoundCollectorComponents {
  clock: Clock
  models: ModelStore
  logger: Logger
  /** Hex keys of the hospitals expected to answer now (subscribed, connected, or this peer training). */
  expected: () => Set<string>
  /** Told of every refusal, for events and the round record. */
  onRefused: (refusal: RefusedUpdate) => void
}

/** The collector of one round. */
export interface RoundCollector {
  /** Judges an update (synchronously: it runs in the gossip validator); CID payloads are fetched after. */
  offer(update: Update): Verdict
  /** Re-evaluates early closing (the set of expected hospitals changed). */
  recheck(): void
  /** Closes now (task stopped). */
  abort(): void
  /** Resolves when the round closes. */
  readonly done: Promise<RoundOutcome>
}

/** Creates the collector of one round; its deadline timer starts now. */
export function createRoundCollector (init: RoundCollectorInit, components: RoundCollectorComponents): RoundCollector {
  const log = components.logger.child({ task: init.task, round: init.round })
  const accepted: AcceptedUpdate[] = []
  const refused: RefusedUpdate[] = []
  const answered = new Set<string>()
  const pending = new Map<string, AbortController>()
  let closed = false
  let resolve: (o: RoundOutcome) => void = () => {}
  const done = new Promise<RoundOutcome>(r => { resolve = r })

  const close = (closedBy: RoundOutcome['closedBy']): void => {
    if (closed) return
    closed = true
    clearTimeout(timer)
    for (const c of pending.values()) c.abort()
    resolve({ accepted: [...accepted], refused: [...refused], closedBy })
  }
  const timer = setTimeout(() => close('deadline'), Math.max(0, init.deadline - components.clock()))

  const refuse = (hospital: string | null, code: RefusalCode | string): void => {
    refused.push({ hospital, code })
    log.warn({ hospital, code }, 'refused an FL update')
    components.onRefused({ hospital, code })
  }

  const recheck = (): void => {
    if (closed || pending.size > 0 || accepted.length < init.minParticipants) return
    const expected = components.expected()
    for (const h of expected) if (!answered.has(h)) return
    close('all-answered')
  }

  const take = (update: Update, hospital: string, bytes: Uint8Array): void => {
    let delta: Delta
    try {
      delta = validateUpdate(init.sizes, unflattenWeights(bytes, init.sizes), init.global, init.maxNorm)
    } catch (err) {
      refuse(hospital, codeOf(err))
      return
    }
    accepted.push({
      hospital, key: update.hospital, samples: update.samples, loss: update.loss, trainMs: update.trainMs, receivedMs: components.clock() - init.startedAt, delta
    })
    log.debug({ hospital, samples: update.samples }, 'accepted an FL update')
  }

  const fetchThenTake = async (update: Update, hospital: string, controller: AbortController): Promise<void> => {
    try {
      if (update.weights instanceof Uint8Array) return
      const bytes = await components.models.get(update.weights, { signal: controller.signal, timeoutMs: init.fetchTimeoutMs })
      if (!closed) take(update, hospital, bytes)
    } catch (err) {
      if (!closed) refuse(hospital, codeOf(err))
    } finally {
      pending.delete(hospital)
      recheck()
    }
  }

  const offer = (update: Update): Verdict => {
    const hospital = toHex(update.hospital)
    const ignore = (code: RefusalCode): Verdict => {
      refuse(hospital, code)
      return { result: 'ignore', code }
    }
    if (update.task !== init.task) return ignore('WRONG_TASK')
    if (update.round !== init.round) return ignore('WRONG_ROUND')
    if (closed || components.clock() > init.deadline) return ignore('LATE')
    if (answered.has(hospital)) return ignore('DUPLICATE')
    answered.add(hospital)
    if (update.weights instanceof Uint8Array) {
      const before = refused.length
      take(update, hospital, update.weights)
      recheck()
      return refused.length > before ? { result: 'reject', code: refused[refused.length - 1].code } : { result: 'accept' }
    }
    const controller = new AbortController()
    pending.set(hospital, controller)
    void fetchThenTake(update, hospital, controller)
    return { result: 'accept' }
  }

  return { offer, recheck, abort: () => close('stopped'), done }
}
