// "Fetch model" (issue 4), with this hospital's consent to deploy (issue 11): every model.publish on
// the ledger is a candidate, considered in ledger order (deploy/publications.ts), never by the time its
// publisher claims. A candidate later in ledger order than the deployed model is deployed into the
// upload pipeline's analyser slot only once its weights were fetched, pass the format checks and do
// no worse on this hospital's held-out images (deploy/check.ts); otherwise it stays "available, not
// deployed" with a reason. An admin may pin a model or roll back. Decisions are stored
// (deploy/record.ts), so a restart deploys the same model and keeps the pin.
import type { Logger } from 'pino'
import type { CID } from 'multiformats/cid'
import { InvalidRequestError, NotFoundError } from '../../../protocol/errors.ts'
import type { Block } from '../../../protocol/chain/block.ts'
import type { Clock, Ledger } from '../../../ledger/types.ts'
import { createDetectStrange } from '../../ai/detect/detect.ts'
import type { SegmentationModel } from '../../ai/model/model.ts'
import type { TrainSample } from '../../ai/train/train.ts'
import type { Analyser, AnalyserSlot } from '../../analysis/analyser.ts'
import { codeOf } from '../../p2p/errors.ts'
import { DEPLOY_MIN_VALIDATION, DEPLOY_START_CANDIDATES, FETCH_TIMEOUT_MS, HOTLOAD_SCAN_BLOCKS } from '../constants.ts'
import { checkLocally, fetchModel } from './check.ts'
import { createDeploymentState } from './state.ts'
import type { DeploymentView } from './state.ts'
import type { HoldCode, LocalCheck, ModelRecord } from './record.ts'
import { ModelNotDeployableError, NoEarlierModelError } from '../errors.ts'
import type { ModelStore } from '../transport/model-store.ts'
import { comparePositions, publicationsIn, scanPublications } from './publications.ts'
import type { PublishedModel } from './publications.ts'

export type { PublishedModel } from './publications.ts'
export { isNewer, publicationsIn } from './publications.ts'
export type { DeploymentView } from './state.ts'

/** Where the deployment record is kept: the FL history's store (TaskHistory `deployment`/`saveDeployment`). */
export interface DeploymentStore {
  deployment(): string | null
  saveDeployment(json: string): Promise<void>
}

/** What the hot-loader needs. */
export interface HotLoaderComponents {
  ledger: Pick<Ledger, 'heads' | 'blocks' | 'addEventListener' | 'removeEventListener'>
  models: ModelStore
  analysers: AnalyserSlot
  logger: Logger
  /** This hospital's held-out labelled images (default none: the local comparison is skipped). */
  validationSet?: () => Promise<TrainSample[]>
  /** Where decisions and pins persist (default memory only). */
  store?: DeploymentStore
  clock?: Clock
}

/** Options of the hot-loader. */
export interface HotLoaderInit {
  fetchTimeoutMs?: number
  /** Blocks per chain read at start. */
  scanBlocks?: number
  /** Held-out images needed to compare a candidate with the deployed model (default DEPLOY_MIN_VALIDATION). */
  minValidation?: number
  /** Builds the analyser of a loaded model; default detect-strange. */
  analyser?: (model: SegmentationModel, cid: CID) => Analyser
}

/**
 * Events: 'model:loaded' (PublishedModel) when a model is deployed; 'model:failed' ({ cid, code })
 * when its weights could not be fetched or failed the format checks; 'model:decided' (ModelRecord)
 * after every decision about a publication.
 */
export interface HotLoader extends EventTarget {
  /** Restores the stored deployment, then considers the publications already on the ledger and follows new ones. */
  start(): Promise<void>
  stop(): void
  /** The deployed model, if any. */
  current(): PublishedModel | null
  /** Waits for decisions in progress (tests, shutdown). */
  idle(): Promise<void>
  /** Every publication considered, with its state and reason. */
  deployment(): DeploymentView
  /** Deploys a published model and holds it against newer ones (NOT_FOUND, FETCH_FAILED, BAD_WEIGHTS); resolves once stored. */
  pin(cid: string): Promise<DeploymentView>
  /** Lifts the pin: the newest publication held back by it is considered again. */
  unpin(): Promise<DeploymentView>
  /** Deploys the model deployed before the current one, pinned (NO_EARLIER_MODEL). */
  rollback(): Promise<DeploymentView>
}

/** Creates the hot-loader: `createHotLoader(init)(components)`. */
export function createHotLoader (init: HotLoaderInit = {}) {
  return (components: HotLoaderComponents): HotLoader => {
    const { ledger, models, analysers } = components
    const log = components.logger.child({ module: 'fl:hotload' })
    const clock = components.clock ?? Date.now
    const minimum = init.minValidation ?? DEPLOY_MIN_VALIDATION
    if (!Number.isSafeInteger(minimum) || minimum < 1) throw new InvalidRequestError(`minValidation must be a positive integer, got ${String(minimum)}`)
    const events = new EventTarget()
    const makeAnalyser = init.analyser ?? ((model, modelCid) => createDetectStrange({ model, modelCid }))
    const state = createDeploymentState({ minimum, clock, store: components.store, logger: log })
    /** The deployed model's tfjs object; the previous one is kept one swap longer (an analysis may still hold it). */
    let live: SegmentationModel | null = null
    let previous: SegmentationModel | null = null
    let queue: Promise<unknown> = Promise.resolve()
    let running = false
    let stopping = new AbortController()

    const emit = (type: string, detail: unknown): void => { events.dispatchEvent(new CustomEvent(type, { detail })) }
    /** Runs `fn` after every earlier decision: one decision at a time, in arrival order. */
    const serial = async <T>(fn: () => Promise<T>): Promise<T> => {
      const run = queue.then(fn)
      queue = run.catch(() => {})
      return await run
    }

    const fetch = async (r: ModelRecord): Promise<SegmentationModel> =>
      await fetchModel(models, state.cidOf(r), { timeoutMs: init.fetchTimeoutMs ?? FETCH_TIMEOUT_MS, signal: stopping.signal })

    /** Puts `model` in the analyser slot as `r`; the model it replaces is held with `displaced`. */
    const install = async (r: ModelRecord, model: SegmentationModel, displaced: HoldCode, check: LocalCheck | null): Promise<void> => {
      analysers.set(makeAnalyser(model, state.cidOf(r)))
      previous?.dispose()
      previous = live
      live = model
      state.deploy(r, displaced, check)
      await state.save()
      await models.pin?.(state.cidOf(r), { signal: stopping.signal }).catch((err: unknown) => log.warn({ cid: r.cid, code: codeOf(err) }, 'could not pin the model'))
      log.info({ cid: r.cid, task: r.task, round: r.round, pinned: state.pinned() }, 'model deployed')
      emit('model:loaded', state.publicationOf(r))
      emit('model:decided', r)
    }

    /** Holds `r` as available, not deployed, with `code`, and stores the decision. */
    const hold = async (r: ModelRecord, code: HoldCode, message: string, check: LocalCheck | null = null): Promise<void> => {
      state.hold(r, code, message, check)
      await state.save()
      log.info({ cid: r.cid, task: r.task, round: r.round, code }, 'model available, not deployed')
      emit('model:decided', r)
    }

    /** Fetches, checks and, when it passes, deploys `r`. Returns whether it was deployed. */
    const judge = async (r: ModelRecord): Promise<boolean> => {
      let model: SegmentationModel
      try {
        model = await fetch(r)
      } catch (err) {
        if (!running || !(err instanceof ModelNotDeployableError)) throw err
        const cause = codeOf(err.cause)
        log.warn({ cid: r.cid, code: err.code, cause }, 'model not deployable')
        emit('model:failed', { cid: state.cidOf(r), code: err.hold === 'FETCH_FAILED' ? cause : err.hold })
        await hold(r, err.hold, err.message)
        return false
      }
      if (!running) {
        model.dispose()
        return false
      }
      const held = components.validationSet === undefined ? [] : await components.validationSet()
      const { check, passed } = await checkLocally(model, live, held, minimum)
      if (!passed) {
        model.dispose()
        await hold(r, 'WORSE_ON_LOCAL_VALIDATION', `validation loss ${check.candidate?.loss.toFixed(4) ?? '?'} on ${held.length} held-out images is higher than the deployed model's ${check.deployed?.loss.toFixed(4) ?? '?'}`, check)
        return false
      }
      await install(r, model, 'SUPERSEDED', check)
      return true
    }

    /**
     * Decides about a publication not yet decided: 'judged' when it was fetched and checked,
     * 'held' when held back without that (pinned, older than the deployed one, or `tryIt` false).
     */
    const consider = async (p: PublishedModel, tryIt = true): Promise<'judged' | 'held' | 'known'> => {
      const r = state.note(p)
      if (r === null || !running) return 'known'
      const deployed = state.deployed()
      if (state.pinned()) {
        await hold(r, 'PINNED', 'an admin pinned another model')
      } else if (deployed !== null && comparePositions(r.position, deployed.position) <= 0) {
        await hold(r, 'SUPERSEDED', 'it comes before the deployed model in ledger order')
      } else if (!tryIt) {
        await hold(r, 'SUPERSEDED', 'publications later in ledger order were tried first')
      } else {
        await judge(r)
        return 'judged'
      }
      return 'held'
    }

    const onAppended = (e: Event): void => {
      for (const p of publicationsIn((e as CustomEvent<Block>).detail)) void serial(async () => await consider(p)).catch(failed)
    }
    const failed = (err: unknown): void => { if (running) log.error({ code: codeOf(err) }, 'model decision failed') }

    /** Loads the stored deployment, then considers what the ledger holds, newest first. */
    const restore = async (): Promise<void> => {
      const deployed = state.deployed()
      if (deployed !== null) {
        try {
          const model = await fetch(deployed)
          analysers.set(makeAnalyser(model, state.cidOf(deployed)))
          live = model
          log.info({ cid: deployed.cid, pinned: state.pinned() }, 'deployed model restored')
          emit('model:loaded', state.publicationOf(deployed))
        } catch (err) {
          if (!(err instanceof ModelNotDeployableError)) throw err
          state.undeploy()
          await hold(deployed, err.hold, err.message)
        }
      }
      const found = await scanPublications(ledger, init.scanBlocks ?? HOTLOAD_SCAN_BLOCKS)
      // Newest first: once one is deployed, every older one is superseded without a fetch.
      let tries = 0
      for (const p of found.reverse()) {
        if (!running) return
        if (await consider(p, tries < DEPLOY_START_CANDIDATES) === 'judged') tries++
      }
    }

    const need = (cid: string): ModelRecord => {
      const r = state.get(cid)
      if (r === undefined) throw new NotFoundError('no publication of this model is known here')
      return r
    }

    return Object.assign(events, {
      async start () {
        if (running) return
        running = true
        stopping = new AbortController()
        state.load()
        ledger.addEventListener('block:appended', onAppended)
        void serial(restore).catch(failed)
      },
      stop () {
        if (!running) return
        running = false
        stopping.abort()
        ledger.removeEventListener('block:appended', onAppended)
      },
      current: () => {
        const r = state.deployed()
        return r === null || live === null ? null : state.publicationOf(r)
      },
      async idle () {
        let seen: Promise<unknown> | undefined
        while (seen !== queue) {
          seen = queue
          await queue
        }
      },
      deployment: () => state.view(),
      pin: async (cid: string) => await serial(async () => {
        const r = need(cid)
        const model = state.deployed()?.cid === r.cid && live !== null ? null : await fetch(r)
        state.setPinned(true)
        if (model === null) await state.save()
        else await install(r, model, 'PINNED', r.check)
        log.info({ cid: r.cid }, 'model pinned by an admin')
        return state.view()
      }),
      unpin: async () => await serial(async () => {
        state.setPinned(false)
        const again = state.releasePinned()
        await state.save()
        log.info({ reconsider: again?.cid ?? null }, 'model pin lifted')
        if (again !== null) void serial(async () => await consider(state.publicationOf(again))).catch(failed)
        return state.view()
      }),
      rollback: async () => await serial(async () => {
        const target = state.earlier()
        if (target === null) throw new NoEarlierModelError()
        const model = await fetch(target)
        const from = state.deployed()
        state.dropCurrentFromTrail()
        state.setPinned(true)
        await install(target, model, 'ROLLED_BACK', target.check)
        log.info({ from: from?.cid ?? null, to: target.cid }, 'model rolled back by an admin')
        return state.view()
      })
    })
  }
}
