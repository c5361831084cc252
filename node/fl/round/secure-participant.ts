// The hospital's side of a round with secure aggregation (node/fl/secagg): it advertises its keys
// as soon as the consent check has counted its images, shares its mask secrets while it trains,
// and sends its update only masked — clipped to the task's C, with its σ·C/√m share of the DP noise,
// weighted by its sample count and quantised — then reveals the shares the coordinator needs to
// unmask the sum. The coordinator's lists arrive in an inbox, signed by the task's coordinator.
import { randomBytes } from 'node:crypto'
import type { Identity, Verifier } from '../../../protocol/crypto/ed25519.ts'
import { MedichainError } from '../../../protocol/errors.ts'
import { createPrng } from '../../ai/model/prng.ts'
import { UpdateRefusedError } from '../errors.ts'
import { signSecAggEnvelope } from '../transport/messages.ts'
import type { RoundStart, SecAggEnvelope } from '../transport/messages.ts'
import { createSecAggClient } from '../secagg/client.ts'
import { secureContribution } from '../secagg/contribution.ts'
import { decodeStep, encodeStep } from '../secagg/wire.ts'
import type { StepBodies } from '../secagg/wire.ts'
import type { Verdict } from '../transport/gossip.ts'

type ListStep = 'key-list' | 'share-list' | 'survivors'

/** Coordinator steps waiting for (or waited on by) the rounds this hospital takes part in securely. */
export interface SecureInbox {
  /** Takes a coordinator step; ignored unless this hospital is in that round. */
  offer(envelope: SecAggEnvelope): Verdict
  /** Opens the inbox of one round; `close()` when the round is over. */
  open(task: string, round: number): { next: <S extends ListStep>(step: S, signal: AbortSignal) => Promise<StepBodies[S]>, close: () => void }
}

/**
 * Coordinator steps kept for rounds this hospital has not opened yet: a hospital still checking
 * consents may hear the key list before it starts waiting for it. Bounded: the oldest go first.
 */
const EARLY_STEPS = 64

/** Creates the inbox of coordinator steps. */
export function createSecureInbox (): SecureInbox {
  const rounds = new Map<string, { got: Map<ListStep, SecAggEnvelope>, changed: EventTarget }>()
  const early = new Map<string, SecAggEnvelope>()
  return {
    offer (envelope) {
      if (envelope.step !== 'key-list' && envelope.step !== 'share-list' && envelope.step !== 'survivors') return { result: 'accept' }
      const r = rounds.get(`${envelope.task}:${envelope.round}`)
      if (r === undefined) {
        early.set(`${envelope.task}:${envelope.round}:${envelope.step}`, envelope)
        if (early.size > EARLY_STEPS) early.delete(early.keys().next().value ?? '')
        return { result: 'accept' }
      }
      if (r.got.has(envelope.step)) return { result: 'ignore' }
      r.got.set(envelope.step, envelope)
      r.changed.dispatchEvent(new Event('changed'))
      return { result: 'accept' }
    },
    open (task, round) {
      const key = `${task}:${round}`
      const r = { got: new Map<ListStep, SecAggEnvelope>(), changed: new EventTarget() }
      for (const step of ['key-list', 'share-list', 'survivors'] as const) {
        const e = early.get(`${key}:${step}`)
        if (e === undefined) continue
        r.got.set(step, e)
        early.delete(`${key}:${step}`)
      }
      rounds.set(key, r)
      const next = async <S extends ListStep>(step: S, signal: AbortSignal): Promise<StepBodies[S]> => {
        const have = (): SecAggEnvelope | undefined => r.got.get(step)
        const got = have() ?? await new Promise<SecAggEnvelope>((resolve, reject) => {
          const done = (): void => {
            r.changed.removeEventListener('changed', onChange)
            signal.removeEventListener('abort', onAbort)
          }
          const onChange = (): void => {
            const e = have()
            if (e === undefined) return
            done()
            resolve(e)
          }
          const onAbort = (): void => {
            done()
            reject(new MedichainError('ABORTED', `the round ended before the coordinator's ${step}`))
          }
          if (signal.aborted) return onAbort()
          r.changed.addEventListener('changed', onChange)
          signal.addEventListener('abort', onAbort)
        })
        return decodeStep(step, got.body)
      }
      return { next, close: () => { if (rounds.get(key) === r) rounds.delete(key) } }
    }
  }
}

/** What a secure exchange needs from the participant. */
export interface SecureExchange {
  ledgerId: Uint8Array
  self: Uint8Array
  identity: Identity
  verify: Verifier
  inbox: SecureInbox
  send: (envelope: SecAggEnvelope) => Promise<void>
  signal: AbortSignal
}

/** The trained model's figures the masked step reports, its weights and the global weights it started from. */
export interface Trained { weights: Float32Array[], global: Float32Array[], loss: number, trainMs: number }

/**
 * Runs this hospital's part of a secure round: keys now, shares when the key list arrives, the
 * masked update once `trained` resolves (its delta against the global weights), unmask shares on the
 * survivors. Resolves once the unmask shares are sent.
 */
export async function participateSecurely (start: RoundStart, samples: number, trained: Promise<Trained>, x: SecureExchange): Promise<Trained> {
  const secure = start.config.secure
  if (secure === undefined) throw new UpdateRefusedError('WRONG_ROUND', 'not a secure round')
  const client = createSecAggClient({ ledgerId: x.ledgerId, task: start.task, round: start.round, identity: x.identity, hospital: x.self, verify: x.verify })
  const inbox = x.inbox.open(start.task, start.round)
  const send = async <S extends 'keys' | 'shares' | 'masked' | 'unmask'>(step: S, body: StepBodies[S]): Promise<void> => {
    await x.send(signSecAggEnvelope(x.ledgerId, { kind: 'secagg', task: start.task, round: start.round, step, from: x.self, body: encodeStep(step, body) }, x.identity))
  }
  // An early failure here must not leave the training promise's rejection unobserved.
  trained.catch(() => {})
  try {
    await send('keys', client.advertise(samples))
    const { keys } = await inbox.next('key-list', x.signal)
    await send('shares', client.shareKeys(keys))
    const { shares } = await inbox.next('share-list', x.signal)
    const result = await trained
    const delta = result.weights.map((w, i) => {
      const d = new Float64Array(w.length)
      for (let j = 0; j < w.length; j++) d[j] = w[j] - result.global[i][j]
      return d
    })
    const totalSamples = keys.reduce((s, k) => s + k.samples, 0)
    const noise = createPrng(new DataView(randomBytes(4).buffer).getUint32(0))
    const contribution = secureContribution(delta, samples, { clip: secure.clip, dpSigma: secure.dpSigma, parties: keys.length, totalSamples }, noise)
    await send('masked', { input: client.maskedInput(shares, contribution.encoded), loss: result.loss, trainMs: result.trainMs })
    const { survivors } = await inbox.next('survivors', x.signal)
    // Left out of the survivors: the masked input came after the round closed (the participant records 'late').
    if (!survivors.some(s => s.length === x.self.length && s.every((b, i) => b === x.self[i]))) throw new MedichainError('ABORTED', 'the masked input arrived after the round closed')
    await send('unmask', client.unmask(survivors))
    return result
  } finally {
    inbox.close()
  }
}
