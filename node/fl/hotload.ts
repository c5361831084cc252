// "Fetch model" (DESIGN §6, seed): the current model is the latest `model.publish` on the ledger,
// and every peer hot-loads it without a restart. On each appended block that carries one, the
// weights are fetched by CID from helia (from this disk or a member), loaded, and installed in the
// analyser slot of the upload pipeline; at start the latest publication already on the ledger is
// found by reading each chain backwards.
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import { toHex } from '../../protocol/bytes.ts'
import type { Block } from '../../protocol/block.ts'
import type { Ledger } from '../../ledger/types.ts'
import { createDetectStrange } from '../ai/detect.ts'
import { loadWeights } from '../ai/model.ts'
import type { SegmentationModel } from '../ai/model.ts'
import type { Analyser, AnalyserSlot } from '../analysis/analyser.ts'
import { codeOf } from '../p2p/errors.ts'
import { FETCH_TIMEOUT_MS, HOTLOAD_SCAN_BLOCKS } from './constants.ts'
import type { ModelStore } from './model-store.ts'

/** A published model as the ledger records it. */
export interface PublishedModel {
  cid: CID
  task: string
  round: number
  /** Time of the model.publish transaction (ms since the epoch): "latest" is by this. */
  time: number
  /** Member key (hex) of the hospital that published it. */
  publisher: string
}

/** What the hot-loader needs. */
export interface HotLoaderComponents {
  ledger: Pick<Ledger, 'heads' | 'blocks' | 'addEventListener' | 'removeEventListener'>
  models: ModelStore
  analysers: AnalyserSlot
  logger: Logger
}

/** Options of the hot-loader. */
export interface HotLoaderInit {
  fetchTimeoutMs?: number
  /** Blocks per chain read backwards at start. */
  scanBlocks?: number
  /** Builds the analyser of a loaded model; default detect-strange. */
  analyser?: (model: SegmentationModel, cid: CID) => Analyser
}

/** Events: 'model:loaded' (PublishedModel), 'model:failed' ({ cid, code }). */
export interface HotLoader extends EventTarget {
  /** Loads the latest model already on the ledger, then follows new publications. */
  start(): Promise<void>
  stop(): void
  /** The model in the analyser slot now, if this loader put one there. */
  current(): PublishedModel | null
  /** Waits for loads in progress (tests, shutdown). */
  idle(): Promise<void>
}

/** The model.publish transactions of a block, as PublishedModel. */
export function publicationsIn (block: Block): PublishedModel[] {
  const out: PublishedModel[] = []
  for (const { tx } of block.txs) {
    if (tx.type !== 'model.publish') continue
    out.push({ cid: tx.body.model, task: tx.body.task, round: tx.body.round, time: tx.time, publisher: toHex(tx.signer) })
  }
  return out
}

/** True when `a` is newer than `b`: later time, ties broken by CID so every peer picks the same. */
export function isNewer (a: PublishedModel, b: PublishedModel | null): boolean {
  if (b === null) return true
  if (a.time !== b.time) return a.time > b.time
  return a.cid.toString() > b.cid.toString()
}

/** Creates the hot-loader: `createHotLoader(init)(components)`. */
export function createHotLoader (init: HotLoaderInit = {}) {
  return (components: HotLoaderComponents): HotLoader => {
    const { ledger, models, analysers } = components
    const log = components.logger.child({ module: 'fl:hotload' })
    const events = new EventTarget()
    const makeAnalyser = init.analyser ?? ((model, modelCid) => createDetectStrange({ model, modelCid }))
    let current: PublishedModel | null = null
    let wanted: PublishedModel | null = null
    const loaded: SegmentationModel[] = []
    let chain: Promise<void> = Promise.resolve()
    let running = false
    let stopping = new AbortController()

    const install = async (p: PublishedModel): Promise<void> => {
      if (!running || wanted !== p) return
      try {
        const bytes = await models.get(p.cid, { timeoutMs: init.fetchTimeoutMs ?? FETCH_TIMEOUT_MS, signal: stopping.signal })
        const model = loadWeights(bytes)
        if (!running || wanted !== p) {
          model.dispose()
          return
        }
        analysers.set(makeAnalyser(model, p.cid))
        // The previous model may still be finishing an analysis that captured it: keep it one more
        // swap, and free the one before.
        loaded.push(model)
        if (loaded.length > 2) loaded.shift()?.dispose()
        current = p
        await models.pin?.(p.cid, { signal: stopping.signal }).catch((err: unknown) => log.warn({ cid: p.cid.toString(), code: codeOf(err) }, 'could not pin the model'))
        log.info({ cid: p.cid.toString(), task: p.task, round: p.round }, 'model hot-loaded')
        events.dispatchEvent(new CustomEvent('model:loaded', { detail: p }))
      } catch (err) {
        if (!running) return
        log.warn({ cid: p.cid.toString(), code: codeOf(err) }, 'model hot-load failed')
        events.dispatchEvent(new CustomEvent('model:failed', { detail: { cid: p.cid, code: codeOf(err) } }))
      }
    }

    const consider = (p: PublishedModel): void => {
      if (!isNewer(p, wanted)) return
      wanted = p
      chain = chain.then(async () => await install(p))
    }

    const onAppended = (e: Event): void => {
      for (const p of publicationsIn((e as CustomEvent<Block>).detail)) consider(p)
    }

    /** The newest publication in the last `scanBlocks` blocks of each chain. */
    const scan = async (): Promise<PublishedModel | null> => {
      const limit = init.scanBlocks ?? HOTLOAD_SCAN_BLOCKS
      const page = 64
      let latest: PublishedModel | null = null
      for (const head of ledger.heads()) {
        let found = false
        for (let top = head.height; top >= 0 && head.height - top < limit && !found; top -= page) {
          const from = Math.max(0, top - page + 1)
          for (const block of await ledger.blocks(head.author, from, top - from + 1)) {
            for (const p of publicationsIn(block)) {
              found = true
              if (isNewer(p, latest)) latest = p
            }
          }
        }
      }
      return latest
    }

    return Object.assign(events, {
      async start () {
        if (running) return
        running = true
        stopping = new AbortController()
        ledger.addEventListener('block:appended', onAppended)
        const latest = await scan()
        if (latest !== null) consider(latest)
      },
      stop () {
        if (!running) return
        running = false
        stopping.abort()
        ledger.removeEventListener('block:appended', onAppended)
      },
      current: () => current,
      async idle () {
        let seen: Promise<void> | undefined
        while (seen !== chain) {
          seen = chain
          await chain
        }
      }
    })
  }
}
