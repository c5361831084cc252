// The coordinator's side of a round with secure aggregation (node/fl/secagg, Bonawitz et al. 2017):
// instead of collecting readable updates, it runs the four steps over the task topic — keys (U1),
// sealed shares (U2), masked inputs (U3), revealed shares — relaying the signed lists between them,
// and ends with the FedAvg delta of the survivors' clipped (and noised) updates: the only thing it
// learns. Each step closes when everyone admitted to it has answered (and the minimum is met) or
// at its own deadline, so a hospital that drops out never stalls the round.
import type { Logger } from 'pino'
import { toHex } from '../../../protocol/bytes.ts'
import type { Identity, Verifier } from '../../../protocol/crypto/ed25519.ts'
import type { Clock } from '../../../ledger/types.ts'
import { codeOf } from '../../p2p/errors.ts'
import type { Delta } from './aggregate.ts'
import { SECAGG_KEYS_FRACTION, SECAGG_STEP_FRACTION } from '../constants.ts'
import { signSecAggEnvelope } from '../transport/messages.ts'
import type { SecAggEnvelope, SecAggStep } from '../transport/messages.ts'
import type { RefusedUpdate } from './collect.ts'
import { secureAverage } from '../secagg/contribution.ts'
import type { SecureRoundParams } from '../secagg/contribution.ts'
import { SecAggError } from '../secagg/errors.ts'
import { createSecAggServer } from '../secagg/server.ts'
import { decodeStep, encodeStep } from '../secagg/wire.ts'
import type { StepBodies } from '../secagg/wire.ts'
import type { RoundParticipant } from '../task/record.ts'
import type { Verdict } from '../transport/gossip.ts'

/** The round: identity, timing, layout and the task's secure settings. */
export interface SecureRoundInit {
  ledgerId: Uint8Array
  task: string
  round: number
  startedAt: number
  deadline: number
  roundTimeoutMs: number
  sizes: readonly number[]
  minParticipants: number
  secure: { clip: number, dpSigma?: number }
}

/** What a secure round uses. */
export interface SecureRoundComponents {
  identity: Identity
  /** This coordinator's member key. */
  self: Uint8Array
  verify: Verifier
  clock: Clock
  logger: Logger
  /** Hex keys of the hospitals expected to answer now (as for a plain round). */
  expected: () => Set<string>
  /**
   * Hex keys expected to advertise keys. Keys come within milliseconds of the round-start, before
   * a hospital new to the task has even joined its topic, so in a task's first round the caller
   * counts every listener on the control topic; the step then waits for them up to its deadline.
   */
  expectedKeys: () => Set<string>
  /** Sends a coordinator step to the task's hospitals (gossip and this peer's own participant). */
  publish: (envelope: SecAggEnvelope) => Promise<void>
  onRefused: (refusal: RefusedUpdate) => void
}

/** How a secure round ended. */
export interface SecureOutcome {
  /** FedAvg of the survivors' clipped updates (with their noise shares), or null when the round failed. */
  delta: Delta | null
  participants: RoundParticipant[]
  /** Hospitals that shared keys but sent no masked input: their masks were removed, their input is not in the sum. */
  dropped: string[]
  refused: RefusedUpdate[]
  closedBy: 'deadline' | 'all-answered' | 'stopped'
  /** Code of the failure when delta is null and the round was not stopped (e.g. SECAGG_TOO_FEW). */
  code?: string
}

/** A running secure round. */
export interface SecureRound {
  /** Judges a hospital's step (synchronously: it runs in the gossip validator). */
  offer(envelope: SecAggEnvelope): Verdict
  recheck(): void
  abort(): void
  readonly done: Promise<SecureOutcome>
}

const REJECT_CODES = new Set(['BAD_SIGNATURE', 'SHARE_FORGED', 'BAD_SCHEMA', 'BAD_ENCODING', 'NON_CANONICAL', 'SECAGG_BAD_INPUT'])

/** Starts a secure round; its steps run in the background and `done` resolves with the outcome. */
export function runSecureRound (init: SecureRoundInit, components: SecureRoundComponents): SecureRound {
  const log = components.logger.child({ task: init.task, round: init.round, secure: true })
  const length = init.sizes.reduce((a, b) => a + b, 0)
  const server = createSecAggServer({ ledgerId: init.ledgerId, task: init.task, round: init.round, length, verify: components.verify })
  const refused: RefusedUpdate[] = []
  const answered = new Set<string>()
  const meta = new Map<string, { loss: number, trainMs: number, receivedMs: number }>()
  const samples = new Map<string, number>()
  let step: SecAggStep = 'keys'
  let admitted: Set<string> | null = null
  let stopped = false
  const changed = new EventTarget()
  const poke = (): void => { changed.dispatchEvent(new Event('changed')) }

  const refuse = (hospital: string | null, code: string): void => {
    refused.push({ hospital, code })
    log.warn({ hospital, code }, 'refused a secure-aggregation step')
    components.onRefused({ hospital, code })
  }

  const offer = (envelope: SecAggEnvelope): Verdict => {
    const hospital = toHex(envelope.from)
    if (envelope.round !== init.round || envelope.task !== init.task) {
      refuse(hospital, 'WRONG_ROUND')
      return { result: 'ignore', code: 'WRONG_ROUND' }
    }
    if (envelope.step !== step) {
      const code = stopped ? 'LATE' : 'SECAGG_WRONG_PHASE'
      refuse(hospital, code)
      return { result: 'ignore', code }
    }
    try {
      if (envelope.step === 'keys') {
        const m = decodeStep('keys', envelope.body)
        if (toHex(m.hospital) !== hospital) throw new SecAggError('BAD_SIGNATURE', 'keys inside an envelope of another hospital')
        server.takeKeys(m)
        samples.set(hospital, m.samples)
      } else if (envelope.step === 'shares') {
        const m = decodeStep('shares', envelope.body)
        if (toHex(m.hospital) !== hospital) throw new SecAggError('BAD_SIGNATURE', 'shares inside an envelope of another hospital')
        server.takeShares(m)
      } else if (envelope.step === 'masked') {
        const m = decodeStep('masked', envelope.body)
        if (toHex(m.input.hospital) !== hospital) throw new SecAggError('BAD_SIGNATURE', 'a masked input inside an envelope of another hospital')
        server.takeMasked(m.input)
        meta.set(hospital, { loss: m.loss, trainMs: m.trainMs, receivedMs: components.clock() - init.startedAt })
      } else if (envelope.step === 'unmask') {
        const m = decodeStep('unmask', envelope.body)
        if (toHex(m.hospital) !== hospital) throw new SecAggError('BAD_SIGNATURE', 'unmask shares inside an envelope of another hospital')
        server.takeUnmask(m)
      } else {
        return { result: 'ignore' }
      }
    } catch (err) {
      const code = codeOf(err)
      refuse(hospital, code)
      return REJECT_CODES.has(code) ? { result: 'reject', code } : { result: 'ignore', code }
    }
    answered.add(hospital)
    poke()
    return { result: 'accept' }
  }

  /** Everyone admitted to the current step (or, for keys, everyone expected) has answered, with the minimum met. */
  const complete = (): boolean => {
    if (answered.size < init.minParticipants) return false
    if (admitted === null) {
      for (const h of components.expectedKeys()) if (!answered.has(h)) return false
      return true
    }
    // A hospital admitted to the step that is no longer connected will not answer: do not wait for it.
    const live = components.expected()
    for (const h of admitted) if (live.has(h) && !answered.has(h)) return false
    return true
  }

  let closedBy: SecureOutcome['closedBy'] = 'all-answered'
  const waitStep = async (until: number): Promise<void> => {
    if (complete() || stopped) return
    await new Promise<void>(resolve => {
      const finish = (): void => {
        clearTimeout(timer)
        changed.removeEventListener('changed', onChange)
        resolve()
      }
      const onChange = (): void => { if (complete() || stopped) finish() }
      const timer = setTimeout(() => {
        closedBy = 'deadline'
        finish()
      }, Math.max(0, until - components.clock()))
      changed.addEventListener('changed', onChange)
    })
  }

  const announce = async <S extends 'key-list' | 'share-list' | 'survivors'>(s: S, body: StepBodies[S]): Promise<void> => {
    await components.publish(signSecAggEnvelope(init.ledgerId, { kind: 'secagg', task: init.task, round: init.round, step: s, from: components.self, body: encodeStep(s, body) }, components.identity))
  }

  const next = (s: SecAggStep, who: Iterable<string>): void => {
    step = s
    admitted = new Set(who)
    answered.clear()
  }

  const participantsOf = (survivors: string[]): RoundParticipant[] => survivors.map(h => {
    const m = meta.get(h) ?? { loss: Number.NaN, trainMs: 0, receivedMs: 0 }
    // The coordinator never sees an individual update, so it cannot know its norm.
    return { hospital: h, samples: samples.get(h) ?? 0, loss: m.loss, trainMs: m.trainMs, receivedMs: m.receivedMs, norm: Number.NaN }
  })

  const run = async (): Promise<SecureOutcome> => {
    const stepMs = Math.max(1, Math.round(init.roundTimeoutMs * SECAGG_STEP_FRACTION))
    const fail = (code: string, participants: RoundParticipant[] = []): SecureOutcome => ({
      delta: null, participants, dropped: [], refused: [...refused], closedBy: stopped ? 'stopped' : closedBy, ...(stopped ? {} : { code })
    })
    try {
      await waitStep(Math.min(init.deadline, init.startedAt + Math.round(init.roundTimeoutMs * SECAGG_KEYS_FRACTION)))
      if (stopped) return fail('ABORTED')
      if (answered.size < init.minParticipants) return fail('SECAGG_TOO_FEW')
      const keyList = server.keyList()
      next('shares', keyList.map(k => toHex(k.hospital)))
      await announce('key-list', { keys: keyList })
      await waitStep(Math.min(init.deadline, components.clock() + stepMs))
      if (stopped) return fail('ABORTED')
      const relay = server.sharesToRelay()
      next('masked', relay.map(m => toHex(m.hospital)))
      await announce('share-list', { shares: relay })
      await waitStep(init.deadline)
      if (stopped) return fail('ABORTED')
      if (answered.size < init.minParticipants) return fail('SECAGG_TOO_FEW', participantsOf([...answered]))
      const survivors = server.survivors()
      next('unmask', survivors.map(toHex))
      await announce('survivors', { survivors })
      // Unmasking needs no training: a short grace after the deadline is enough.
      await waitStep(Math.max(init.deadline, components.clock()) + stepMs)
      if (stopped) return fail('ABORTED')
      const result = server.result()
      step = 'key-list' // nothing more is taken
      const params: SecureRoundParams = { clip: init.secure.clip, dpSigma: init.secure.dpSigma, parties: keyList.length, totalSamples: keyList.reduce((s, k) => s + k.samples, 0) }
      log.info({ survivors: result.survivors.length, dropped: result.dropped.length }, 'secure sum unmasked')
      return { delta: secureAverage(result.sum, result.samples, params, init.sizes), participants: participantsOf(result.survivors), dropped: result.dropped, refused: [...refused], closedBy }
    } catch (err) {
      const code = codeOf(err)
      log.warn({ code }, 'secure round failed')
      return fail(code)
    } finally {
      step = 'key-list'
    }
  }

  const done = run()
  return {
    offer,
    recheck: poke,
    abort () {
      stopped = true
      poke()
    },
    done
  }
}
