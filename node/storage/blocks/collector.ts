// Collects orphan blocks: blocks on this disk that no root references — no pin, no image record of
// the ledger (raw, result, model), no upload or pin in flight. An upload cut off by a crash leaves
// its blocks unpinned and unrecorded, and without this they would stay for ever. A block younger
// than the grace period is never deleted (a record naming it may be on its way), nor one an
// operation holds; every pass logs and keeps what it freed, for /api/health.
import * as dagPb from '@ipld/dag-pb'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import { toHex } from '../../../protocol/bytes.ts'
import type { Blocks } from './blocks.ts'

/** Options of createCollector. */
export interface CollectorInit {
  /** Blocks written within this many ms are kept whatever references them. */
  graceMs: number
  /** Period of the passes after the one at start (ms); 0: none (collect() still works). */
  intervalMs: number
}

/** What one pass found and freed. */
export interface CollectReport {
  /** When the pass ended (ms since the epoch). */
  at: number
  freedBlocks: number
  freedBytes: number
  /** Blocks left on disk, referenced, held or young. */
  keptBlocks: number
  /** Blocks reachable from a root. */
  liveBlocks: number
  ms: number
}

/** What the collector reads. */
export interface CollectorComponents {
  blocks: Pick<Blocks, 'list' | 'local' | 'remove'>
  /** Every root that keeps its DAG: pins and the CIDs of the ledger's image records. */
  roots(): Promise<CID[]>
  logger: Logger
  clock: () => number
}

/** The collector of one peer's storage. */
export interface Collector {
  start(): void
  stop(): Promise<void>
  /** Runs a pass now; a call during a pass waits for it and runs its own after. */
  collect(): Promise<CollectReport>
  /** The last pass, and what every pass since start freed. */
  status(): { last: CollectReport | undefined, freedBlocks: number, freedBytes: number }
}

/**
 * Keys (hex multihash) of every local block reachable from `roots`. dag-pb nodes are read from
 * disk to follow their links; raw leaves are never read. A block missing here ends its branch:
 * what is not on this disk cannot be collected.
 */
async function reachable (roots: CID[], blocks: Pick<Blocks, 'local'>): Promise<Set<string>> {
  const live = new Set<string>()
  const stack = [...roots]
  for (let cid = stack.pop(); cid !== undefined; cid = stack.pop()) {
    const key = toHex(cid.multihash.bytes)
    if (live.has(key)) continue
    live.add(key)
    if (cid.code !== dagPb.code) continue
    const bytes = await blocks.local(cid)
    if (bytes === undefined) continue
    try {
      for (const link of dagPb.decode(bytes).Links) stack.push(link.Hash)
    } catch {
      // Not a dag-pb node after all: nothing below it to keep.
    }
  }
  return live
}

/** Creates the collector: `createCollector(init)(components)`, then `start()`. */
export function createCollector (init: CollectorInit) {
  return (c: CollectorComponents): Collector => {
    const log = c.logger.child({ component: 'collector' })
    let last: CollectReport | undefined
    const total = { freedBlocks: 0, freedBytes: 0 }
    let running: Promise<unknown> = Promise.resolve()
    let timer: NodeJS.Timeout | undefined
    let stopped = false

    const pass = async (): Promise<CollectReport> => {
      const started = performance.now()
      const live = await reachable(await c.roots(), c.blocks)
      // Listed after the roots: a block written since is either held or younger than the grace.
      const files = await c.blocks.list()
      const notAfter = c.clock() - init.graceMs
      let freedBlocks = 0
      let freedBytes = 0
      for (const f of files) {
        if (stopped) break
        if (live.has(f.key) || f.mtimeMs > notAfter) continue
        const freed = await c.blocks.remove(f, notAfter)
        if (freed === undefined) continue
        freedBlocks++
        freedBytes += freed
      }
      const report: CollectReport = {
        at: c.clock(), freedBlocks, freedBytes, keptBlocks: files.length - freedBlocks, liveBlocks: live.size, ms: Math.round(performance.now() - started)
      }
      last = report
      total.freedBlocks += freedBlocks
      total.freedBytes += freedBytes
      log.info({ ...report, graceMs: init.graceMs }, 'orphan blocks collected')
      return report
    }

    const collect = async (): Promise<CollectReport> => {
      const run = running.then(pass, pass)
      running = run.catch(() => undefined)
      return await run
    }

    const tick = (): void => {
      if (init.intervalMs <= 0 || stopped) return
      timer = setTimeout(() => {
        collect().catch((err: unknown) => log.warn({ err }, 'collection failed')).finally(() => { if (!stopped) tick() })
      }, init.intervalMs)
      timer.unref()
    }

    return {
      start () {
        stopped = false
        // A first pass at start frees what a crash left, once it is older than the grace period.
        collect().catch((err: unknown) => log.warn({ err }, 'collection failed')).finally(() => { if (!stopped) tick() })
      },
      async stop () {
        stopped = true
        clearTimeout(timer)
        await running
      },
      collect,
      status: () => ({ last, ...total })
    }
  }
}
