// Federated learning of one hospital peer (docs/design.md §6, issue 4): the FL gossip transport, this
// hospital's participant (trains on its own consented images when a round starts), the coordinator
// of tasks an admin starts here, and the hot-loader that deploys a published model in the upload
// pipeline's analyser slot once it passes this hospital's checks (or an admin pins it). The history
// of tasks and participations, and the deployment, are kept in a level store under `<data>/fl`
// and survive restarts. `createFederation(init)(components)`, then `start()`.
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { toHex } from '../../protocol/bytes.ts'
import { MedichainError, NotFoundError } from '../../protocol/errors.ts'
import { nodeVerify } from '../../ledger/verify/node-crypto.ts'
import { codeOf } from '../p2p/errors.ts'
import { peerIdFromMemberKey } from '../p2p/identity.ts'
import { createCoordinator } from './round/coordinator.ts'
import type { Coordinator } from './round/coordinator.ts'
import { controlTopic, FL_DIR, INLINE_MAX_BYTES, taskTopic } from './constants.ts'
import { FederationNotStartedError } from './errors.ts'
import { createHotLoader } from './deploy/hotload.ts'
import type { HotLoader } from './deploy/hotload.ts'
import { isCoordinatorMessage } from './transport/messages.ts'
import type { FlMessage, RoundStart, SecAggEnvelope, Update } from './transport/messages.ts'
import { createFlDirect, deliveryOf } from './transport/direct.ts'
import type { Delivery, FlDirect } from './transport/direct.ts'
import { storageModelStore } from './transport/model-store.ts'
import { createParticipant } from './round/participant.ts'
import type { DeliveryRoute, Participant, ParticipationRecord } from './round/participant.ts'
import { createSecureInbox } from './round/secure-participant.ts'
import type { SecureInbox } from './round/secure-participant.ts'
import { createTaskHistory } from './task/history.ts'
import { fitToConsortium, parseTaskOptions } from './task/options.ts'
import type { TaskView } from './task/record.ts'
import { createFlTransport } from './transport/gossip.ts'
import type { FlTransport, Verdict, Via } from './transport/gossip.ts'

export type { TaskOptions } from './task/options.ts'
export type { TaskView, TaskSummary, RoundRecord } from './task/record.ts'
export type { TrainingItem, TrainingSet } from './round/consent.ts'
export type { ParticipationRecord } from './round/participant.ts'
export type { PublishedModel, DeploymentView } from './deploy/hotload.ts'
export type { ModelRecord, HoldCode } from './deploy/record.ts'
export type { ModelStore } from './transport/model-store.ts'
export { storageModelStore } from './transport/model-store.ts'
export { FL_STATUS_BY_CODE } from './errors.ts'
export { controlTopic, flTopicAllowance, flTopicPrefix, taskTopic } from './constants.ts'
export { flRoutes } from './routes.ts'
export type { Federation, FederationComponents, FederationInit, FlLibp2p } from './federation.ts'
import type { Federation, FederationComponents, FederationInit, FlLibp2p } from './federation.ts'

/** Thrown by `start()` when the P2P host does not admit FL's gossip topics (P2PInit `extraTopics` and `topicPrefixes`). */
export class FlTopicsNotAllowedError extends MedichainError {
  constructor (topic: string) {
    super('FL_TOPICS_NOT_ALLOWED', `the P2P host does not admit the FL topic ${topic.slice(0, 120)}: create it with flTopicAllowance(<ledger id hex>) in its init`)
    this.name = 'FlTopicsNotAllowedError'
  }
}

interface Running { transport: FlTransport, direct: FlDirect, coordinator: Coordinator, participant: Participant | null, hotloader: HotLoader | null, detach: () => void }

const FORWARDED = {
  coordinator: ['round:started', 'round:ended', 'task:ended', 'update:refused'],
  participant: ['training:filtered', 'participation:done'],
  hotloader: ['model:loaded', 'model:failed', 'model:decided']
} as const

/** Creates federated learning for one peer; see the file comment. */
export function createFederation (init: FederationInit = {}) {
  return (components: FederationComponents): Federation => {
    const { ledger, identity, clock } = components
    const log = components.logger.child({ component: 'fl' })
    const events = new EventTarget()
    const models = components.models ?? (components.storage === undefined ? undefined : storageModelStore(components.storage))
    if (models === undefined) throw new TypeError('createFederation needs `storage` or `models`')
    const random = components.random ?? ((n: number) => new Uint8Array(randomBytes(n)))
    const inline = Math.min(init.inlineMaxBytes ?? INLINE_MAX_BYTES, INLINE_MAX_BYTES)
    const history = createTaskHistory({
      path: init.data === undefined ? undefined : join(init.data, FL_DIR), keepTasks: init.keepTasks, keepParticipation: init.keepParticipation
    })({ logger: log })
    let running: Running | undefined

    const forward = (e: Event): void => { events.dispatchEvent(new CustomEvent(e.type, { detail: (e as CustomEvent).detail })) }
    const need = (): Running => {
      if (running === undefined) throw new FederationNotStartedError()
      return running
    }

    const launch = (libp2p: FlLibp2p): Running => {
      // The handler is bound late: the transport judges messages for the coordinator and participant built after it.
      let handle: (message: FlMessage, via: Via) => Verdict = () => ({ result: 'ignore' })
      const transport = createFlTransport({
        pubsub: libp2p.services.pubsub,
        ledger,
        verify: components.verify ?? nodeVerify,
        logger: log,
        handle: (m, v) => handle(m, v),
        isConnected: (peer) => libp2p.getConnections(peer).length > 0
      })
      let coordinator: Coordinator | undefined
      const verify = components.verify ?? nodeVerify
      // Hospitals' messages reach a coordinator directly (transport/direct.ts); judged as from gossip.
      const direct = createFlDirect({
        libp2p,
        ledger,
        verify,
        logger: log,
        handle: (m) => {
          if (m.kind === 'round-start') return handle(m, { topic: 'control' })
          return m.kind === 'update' ? coordinator?.offer(m) : coordinator?.offerSecAgg(m)
        }
      })
      /** Pushes a round-start to each connected active member not seen on the control topic (one attempt each). */
      const pushRoundStart = (start: RoundStart): void => {
        const heard = new Set(transport.subscribers(null))
        for (const m of ledger.members()) {
          const hex = toHex(m.key)
          if (m.status !== 'active' || hex === toHex(ledger.self) || heard.has(hex) || libp2p.getConnections(peerIdFromMemberKey(m.key)).length === 0) continue
          direct.send(m.key, start).then(
            ack => { log.debug({ task: start.task, round: start.round, member: hex.slice(0, 16), result: ack.result, code: ack.code }, 'round-start pushed directly') },
            (err: unknown) => { log.debug({ task: start.task, round: start.round, member: hex.slice(0, 16), code: codeOf(err) }, 'could not push a round-start') }
          )
        }
      }
      /**
       * Delivers a hospital's message to its round's coordinator: this peer's own coordinator at
       * once; else directly, retried until a verdict or the deadline, with one gossip copy on the
       * task topic as the fallback once a direct attempt has failed.
       */
      const deliver = async (message: Update | SecAggEnvelope, route: DeliveryRoute): Promise<Delivery> => {
        const own = message.kind === 'update' ? coordinator?.offer(message) : coordinator?.offerSecAgg(message)
        if (own !== undefined) return deliveryOf(own)
        return await direct.deliver(route.coordinator, message, {
          deadline: route.deadline,
          signal: route.signal,
          clock,
          fallback: async () => { await transport.publish({ topic: 'task', task: message.task }, message) }
        })
      }
      const inbox = createSecureInbox()
      const participant = init.participate === false
        ? null
        : createParticipant({ fetchTimeoutMs: init.fetchTimeoutMs, inlineMaxBytes: inline })({
          ledger, identity, models, trainingSet: components.trainingSet, logger: log, clock,
          send: deliver,
          secure: { inbox, verify, send: deliver }
        })
      coordinator = createCoordinator({ fetchTimeoutMs: init.fetchTimeoutMs, inlineMaxBytes: inline })({
        ledger, identity, models, transport, validationSet: components.validationSet, logger: log, clock, random, history, verify, pushRoundStart,
        ...(participant === null ? {} : { local: async (start: RoundStart) => await participant.onRoundStart(start), localSecAgg: (e: SecAggEnvelope) => { inbox.offer(e) } })
      })
      const c = coordinator
      handle = (message, via) => route(message, via, { transport, coordinator: c, participant, inbox })
      const hotloader = init.hotload === false
        ? null
        : createHotLoader({ fetchTimeoutMs: init.fetchTimeoutMs, minValidation: init.deployMinValidation })({
          ledger, models, analysers: components.analysers, logger: log, validationSet: components.validationSet, store: history, clock
        })
      const recheck = (): void => c.recheck()
      const sources: Array<[EventTarget | null, readonly string[]]> = [
        [c, FORWARDED.coordinator], [participant, FORWARDED.participant], [hotloader, FORWARDED.hotloader]
      ]
      for (const [source, types] of sources) for (const t of types) source?.addEventListener(t, forward)
      transport.addEventListener('message:refused', forwardRefusal)
      direct.addEventListener('message:refused', forwardRefusal)
      direct.addEventListener('message:received', forwardReceived)
      participant?.addEventListener('participation:done', keepParticipation)
      libp2p.services.pubsub.addEventListener('subscription-change', recheck)
      libp2p.addEventListener('peer:disconnect', recheck)
      const detach = (): void => {
        for (const [source, types] of sources) for (const t of types) source?.removeEventListener(t, forward)
        transport.removeEventListener('message:refused', forwardRefusal)
        direct.removeEventListener('message:refused', forwardRefusal)
        direct.removeEventListener('message:received', forwardReceived)
        participant?.removeEventListener('participation:done', keepParticipation)
        libp2p.services.pubsub.removeEventListener('subscription-change', recheck)
        libp2p.removeEventListener('peer:disconnect', recheck)
      }
      return { transport, direct, coordinator: c, participant, hotloader, detach }
    }

    const loader = (): HotLoader => {
      const h = need().hotloader
      if (h === null) throw new FederationNotStartedError('this peer does not deploy published models (hotload is off)')
      return h
    }

    const keepParticipation = (e: Event): void => { history.addParticipation((e as CustomEvent<ParticipationRecord>).detail) }
    history.addEventListener('history:skipped', forward)

    /** FL's topics must be admitted by the host from its creation (see flTopicAllowance). */
    const checkTopics = (): void => {
      const allows = components.p2p.allowsTopic
      if (allows === undefined) return
      const ledgerHex = toHex(ledger.id)
      for (const topic of [controlTopic(ledgerHex), taskTopic(ledgerHex, 'detect-strange-0000000000000000')]) {
        if (!allows(topic)) throw new FlTopicsNotAllowedError(topic)
      }
    }

    const forwardRefusal = (e: Event): void => {
      const r = (e as CustomEvent<{ code: string, from: string, signer?: string, kind?: string }>).detail
      events.dispatchEvent(new CustomEvent('update:refused', { detail: { code: r.code, hospital: r.signer ?? null, kind: r.kind ?? null, peer: r.from } }))
    }

    /** What arrived directly at this peer's coordinator: which hospital, step and how the weights came (never the weights). */
    const forwardReceived = (e: Event): void => {
      const { message: m, result } = (e as CustomEvent<{ message: Update | SecAggEnvelope | RoundStart, result: Verdict['result'] }>).detail
      if (m.kind === 'round-start') return
      const detail = m.kind === 'update'
        ? { kind: m.kind, task: m.task, round: m.round, hospital: toHex(m.hospital), step: null, weights: m.weights instanceof Uint8Array ? 'inline' : 'cid', result }
        : { kind: m.kind, task: m.task, round: m.round, hospital: toHex(m.from), step: m.step, weights: null, result }
      events.dispatchEvent(new CustomEvent('update:received', { detail }))
    }

    /** Sends each verified message to the part of FL it is for. */
    const route = (message: FlMessage, via: Via, parts: Pick<Running, 'transport' | 'coordinator' | 'participant'> & { inbox: SecureInbox }): Verdict => {
      const { transport, coordinator, participant, inbox } = parts
      switch (message.kind) {
        case 'secagg':
          // Hospital steps go to the task's coordinator (forwarded elsewhere); the coordinator's lists to this hospital's rounds.
          if (isCoordinatorMessage(message)) return participant === null ? { result: 'accept' } : inbox.offer(message)
          return coordinator.offerSecAgg(message) ?? { result: 'accept' }
        case 'update':
          // Updates for a task coordinated elsewhere are only forwarded.
          return coordinator.offer(message) ?? { result: 'accept' }
        case 'round-start': {
          // A round is announced on the control topic too (inline in round 1, else by CID): a
          // hospital in the task has usually taken the inline copy, sent first on the same
          // connections, and the participant ignores a round it has seen.
          if (clock() > message.deadline) return { result: 'ignore' }
          void participant?.onRoundStart(message, { join: () => transport.joinTask(message.task), leave: () => transport.leaveTask(message.task) })
          return { result: 'accept' }
        }
        case 'round-end':
          if (message.done && coordinator.task(message.task) === undefined) transport.leaveTask(message.task)
          return { result: 'accept' }
      }
    }

    return Object.assign(events, {
      async start () {
        if (running !== undefined) return
        checkTopics()
        await history.open()
        let r: Running
        try {
          r = launch(components.p2p.libp2p)
        } catch (err) {
          await history.close()
          throw err
        }
        running = r
        r.transport.start()
        await r.direct.start()
        await r.hotloader?.start()
        log.info({ self: toHex(ledger.self).slice(0, 16), participate: r.participant !== null }, 'federated learning started')
      },
      async stop () {
        const r = running
        if (r === undefined) return
        running = undefined
        r.participant?.stop()
        await r.coordinator.stop()
        r.hotloader?.stop()
        await r.hotloader?.idle()
        r.transport.stop()
        await r.direct.stop()
        r.detach()
        await history.close()
        log.info('federated learning stopped')
      },
      startTask: (options: unknown) => need().coordinator.startTask(parseTaskOptions(fitToConsortium(options, components.ledger.members().filter(m => m.status === 'active').length))),
      stopTask: (id: string) => need().coordinator.stopTask(id),
      continueTask: (id: string) => need().coordinator.continueTask(id),
      task (id: string): TaskView {
        const view = need().coordinator.task(id)
        if (view === undefined) throw new NotFoundError(`no federated task ${id.slice(0, 64)}`)
        return view
      },
      tasks: () => need().coordinator.tasks(),
      settled: async (id: string) => await need().coordinator.settled(id),
      participation: () => {
        need()
        return history.participation()
      },
      currentModel: () => running?.hotloader?.current() ?? null,
      deployment: () => loader().deployment(),
      pinModel: async (cid: string) => await loader().pin(cid),
      unpinModel: async () => await loader().unpin(),
      rollbackModel: async () => await loader().rollback()
    })
  }
}
