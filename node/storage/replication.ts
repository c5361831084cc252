// Availability (docs/design.md §5): every image is held by its custodian and by k other active members
// chosen by rendezvous hashing. When a block carrying `image.add` is appended, a chosen member
// fetches the image over bitswap and pins it; a repair loop (every interval, on membership
// change and on every new connection) pins whatever this peer should hold but does not, so the
// count is restored after a member was offline.
import type { Libp2p } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import type { Block } from '../../protocol/block.ts'
import type { Ledger } from '../../ledger/types.ts'
import { codeOf } from '../p2p/errors.ts'
import { PIN_CONCURRENCY } from './constants.ts'
import { shouldPin } from './rendezvous.ts'

/** The ledger surface replication reads. */
export type ReplicationLedger = Pick<Ledger, 'self' | 'members' | 'isMember' | 'queries'> & Pick<EventTarget, 'addEventListener' | 'removeEventListener'>

/** Options of createReplication. */
export interface ReplicationInit {
  /** Members besides the custodian that pin each image. */
  replicas: number
  /** Period of the repair loop (ms); 0 leaves only the event triggers. */
  intervalMs: number
}

/** What replication needs. */
export interface ReplicationComponents {
  ledger: ReplicationLedger
  libp2p: Pick<Libp2p, 'getPeers' | 'addEventListener' | 'removeEventListener'>
  logger: Logger
  isPinned(cid: CID): boolean
  /** Fetches every block of `cid` and records the pin (deduplicated by the caller). */
  pin(cid: CID, signal: AbortSignal): Promise<void>
}

/** What one repair pass found and did. */
export interface RepairResult {
  /** CIDs this peer should hold that were not pinned when the pass began. */
  missing: number
  pinned: number
  failed: number
}

/** The replication service. */
export interface Replication {
  start(): void
  stop(): Promise<void>
  /** Runs a repair pass; a call during a pass queues one more after it (callers share it). */
  repair(): Promise<RepairResult>
}

/** An image as replication sees it: both parts share the raw CID's pinners. */
interface ImageParts { raw: CID, result: CID | null, meta?: CID | null, custodian: Uint8Array }

/** Runs at most `limit` tasks at a time, in call order. */
function limiter (limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: Array<() => void> = []
  return async (task) => {
    if (active >= limit) await new Promise<void>(resolve => waiting.push(resolve))
    active++
    try {
      return await task()
    } finally {
      active--
      waiting.shift()?.()
    }
  }
}

/** Creates the replication service: `createReplication(init)(components)`. */
export function createReplication (init: ReplicationInit) {
  return (components: ReplicationComponents): Replication => {
    const { ledger, libp2p } = components
    const log = components.logger.child({ module: 'storage:replication' })
    const limit = limiter(PIN_CONCURRENCY)
    let controller = new AbortController()
    let timer: ReturnType<typeof setInterval> | undefined
    let pass: Promise<RepairResult> | undefined
    let queued: Promise<RepairResult> | undefined
    const inflight = new Set<Promise<unknown>>()

    /**
     * The parts of `image` this peer must hold. The raw CID names the image, so its raw and result
     * parts and its sealed card go to the same members, and one pinner serves a whole image.
     */
    const wanted = (image: ImageParts): CID[] => {
      const members = ledger.members().filter(m => m.status === 'active').map(m => m.key)
      if (!shouldPin(image.raw.bytes, members, image.custodian, init.replicas, ledger.self)) return []
      return [image.raw, image.result, image.meta ?? null].filter(c => c !== null)
    }

    /** Pins `cid` through the limiter; resolves true when it is held afterwards. */
    const ensure = async (cid: CID): Promise<boolean> => {
      if (components.isPinned(cid)) return true
      const signal = controller.signal
      const task = limit(async () => {
        if (signal.aborted || components.isPinned(cid)) return
        await components.pin(cid, signal)
      })
      inflight.add(task)
      try {
        await task
        return true
      } catch (err) {
        if (!signal.aborted) log.warn({ cid: cid.toString(), code: codeOf(err) }, 'could not pin an image part; the repair loop retries')
        return false
      } finally {
        inflight.delete(task)
      }
    }

    const onBlock = (e: Event): void => {
      const block = (e as CustomEvent<Block>).detail
      for (const { tx } of block.txs) {
        if (tx.type !== 'image.add') continue
        for (const cid of wanted({ raw: tx.body.raw, result: tx.body.result, meta: tx.body.meta, custodian: block.header.author })) void ensure(cid)
      }
    }

    const runPass = async (): Promise<RepairResult> => {
      const missing: CID[] = []
      for (const image of await ledger.queries.getAllResults()) {
        for (const cid of wanted(image)) if (!components.isPinned(cid)) missing.push(cid)
      }
      const result: RepairResult = { missing: missing.length, pinned: 0, failed: 0 }
      // With no member connected there is nobody to fetch from; the next connection re-runs this.
      if (missing.length === 0 || libp2p.getPeers().length === 0) return result
      const done = await Promise.all(missing.map(ensure))
      result.pinned = done.filter(Boolean).length
      result.failed = done.length - result.pinned
      if (result.pinned > 0 || result.failed > 0) log.info(result, 'repair pass')
      return result
    }

    const repair = async (): Promise<RepairResult> => {
      if (pass === undefined) {
        pass = runPass().finally(() => { pass = undefined })
        return await pass
      }
      queued ??= pass.catch(() => undefined).then(async () => {
        queued = undefined
        return await repair()
      })
      return await queued
    }

    const trigger = (): void => {
      if (controller.signal.aborted) return
      repair().catch(err => log.warn({ code: codeOf(err) }, 'repair pass failed'))
    }

    return {
      start () {
        controller = new AbortController()
        ledger.addEventListener('block:appended', onBlock)
        ledger.addEventListener('members:changed', trigger)
        libp2p.addEventListener('peer:connect', trigger)
        if (init.intervalMs > 0) timer = setInterval(trigger, init.intervalMs)
        trigger()
      },
      async stop () {
        controller.abort()
        clearInterval(timer)
        timer = undefined
        ledger.removeEventListener('block:appended', onBlock)
        ledger.removeEventListener('members:changed', trigger)
        libp2p.removeEventListener('peer:connect', trigger)
        await Promise.allSettled([pass, queued, ...inflight])
      },
      repair
    }
  }
}
