// Availability (docs/design.md §5): every image is held by its custodian and by k other active members
// chosen by rendezvous hashing. Replication is incremental: each image record appended names the
// parts this peer must hold, which go on a durable to-do list (`/medichain/repair/<cid>` in helia's
// datastore) until they are pinned. A new connection or the timer retries only that list, and a
// restart reads only the blocks appended since the cursor it saved, so the cost of each trigger
// depends on what is new or owed, never on how many images the ledger holds. A change in
// membership moves about 1/n of all images between members; it alone (and the first start of a
// data folder) walks every image record once.
import type { Libp2p } from '@libp2p/interface'
import type { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import { decodeBlock } from '../../protocol/chain/block.ts'
import type { Block } from '../../protocol/chain/block.ts'
import { equals, toHex } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import { sha256 } from '../../protocol/crypto/hash.ts'
import type { Head, Ledger } from '../../ledger/types.ts'
import { codeOf } from '../p2p/errors.ts'
import { PIN_CONCURRENCY, REPAIR_CURSOR_BLOCKS } from './constants.ts'
import { shouldPin } from './rendezvous.ts'

/** The ledger surface replication reads. */
export type ReplicationLedger = Pick<Ledger, 'self' | 'members' | 'isMember' | 'queries' | 'heads' | 'blocksAfter'> & Pick<EventTarget, 'addEventListener' | 'removeEventListener'>

/** Options of createReplication. */
export interface ReplicationInit {
  /** Members besides the custodian that pin each image. */
  replicas: number
  /** Period of the retry of owed pins (ms); 0 leaves only the event triggers. */
  intervalMs: number
}

/** What replication needs. */
export interface ReplicationComponents {
  ledger: ReplicationLedger
  libp2p: Pick<Libp2p, 'getPeers' | 'addEventListener' | 'removeEventListener'>
  logger: Logger
  /** Where the to-do list, the cursor and the membership it was computed for are kept. */
  datastore: Pick<LevelDatastore, 'get' | 'put' | 'delete' | 'batch' | 'queryKeys'>
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

/** How much replication has looked at since start: what shows its cost does not grow with the ledger. */
export interface ReplicationStats {
  /** Image records examined (from new blocks, the catch-up after a restart, and full walks). */
  examined: number
  /** Walks of every image record (first start of a folder, membership changes). */
  walks: number
  /** Parts owed: should be held here, not yet pinned. */
  owed: number
}

/** The replication service. */
export interface Replication {
  /**
   * Listens for new records, then (in the background: a pass waits for it) loads the to-do
   * list and catches up from the saved cursor, or walks every record on a folder's first start.
   */
  start(): void
  stop(): Promise<void>
  /** Retries every owed part; a call during a pass queues one more after it (callers share it). */
  repair(): Promise<RepairResult>
  stats(): ReplicationStats
}

/** An image as replication sees it: both parts share the raw CID's pinners. */
interface ImageParts { raw: CID, result: CID | null, meta?: CID | null, custodian: Uint8Array }

const OWED_PREFIX = '/medichain/repair/'
const CURSOR_KEY = new Key('/medichain/repair-state/cursor')
const MEMBERS_KEY = new Key('/medichain/repair-state/members')

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

/** The image parts named by the transactions of one block. */
function imagesIn (block: Block): ImageParts[] {
  const out: ImageParts[] = []
  for (const { tx } of block.txs) {
    if (tx.type === 'image.add') out.push({ raw: tx.body.raw, result: tx.body.result, meta: tx.body.meta, custodian: block.header.author })
    else if (tx.type === 'image.rekey') out.push({ raw: tx.body.raw, result: tx.body.result, meta: tx.body.meta, custodian: tx.signer })
  }
  return out
}

/** Creates the replication service: `createReplication(init)(components)`. */
export function createReplication (init: ReplicationInit) {
  return (components: ReplicationComponents): Replication => {
    const { ledger, libp2p, datastore } = components
    const log = components.logger.child({ module: 'storage:replication' })
    const limit = limiter(PIN_CONCURRENCY)
    let controller = new AbortController()
    let timer: ReturnType<typeof setInterval> | undefined
    let pass: Promise<RepairResult> | undefined
    let queued: Promise<RepairResult> | undefined
    const inflight = new Set<Promise<unknown>>()
    /** Owed parts by CIDv1 string, mirrored in the datastore. */
    const owed = new Map<string, CID>()
    const stats = { examined: 0, walks: 0 }
    /** Blocks seen since the cursor was last saved. */
    let sinceCursor = 0
    /** Serialises writes of the list and the cursor, and the walks. */
    let chain: Promise<unknown> = Promise.resolve()
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = chain.then(fn, fn)
      chain = run.catch(() => undefined)
      return run
    }

    const activeMembers = (): Uint8Array[] => ledger.members().filter(m => m.status === 'active').map(m => m.key)
    /** A digest of the active member set: rendezvous choices change exactly when it does. */
    const membersDigest = (): Uint8Array => sha256(encode(activeMembers().map(k => toHex(k)).sort()))

    /**
     * The parts of `image` this peer must hold. The raw CID names the image, so its raw and result
     * parts and its sealed card go to the same members, and one pinner serves a whole image.
     */
    const wanted = (image: ImageParts, members: Uint8Array[]): CID[] => {
      stats.examined++
      if (!shouldPin(image.raw.bytes, members, image.custodian, init.replicas, ledger.self)) return []
      return [image.raw, image.result, image.meta ?? null].filter(c => c !== null)
    }

    const owe = async (cids: CID[]): Promise<CID[]> => {
      const fresh = cids.filter(cid => !components.isPinned(cid) && !owed.has(cid.toV1().toString()))
      if (fresh.length === 0) return fresh
      // One level batch, however many a walk finds.
      const batch = datastore.batch()
      for (const cid of fresh) batch.put(new Key(OWED_PREFIX + cid.toV1().toString()), new Uint8Array([1]))
      await batch.commit()
      for (const cid of fresh) owed.set(cid.toV1().toString(), cid)
      return fresh
    }

    const settle = async (cid: CID): Promise<void> => {
      const name = cid.toV1().toString()
      if (!owed.has(name)) return
      owed.delete(name)
      await datastore.delete(new Key(OWED_PREFIX + name)).catch(() => {})
    }

    /** Pins `cid` through the limiter; resolves true when it is held afterwards (and no longer owed). */
    const ensure = async (cid: CID): Promise<boolean> => {
      if (components.isPinned(cid)) {
        await serial(async () => await settle(cid))
        return true
      }
      const signal = controller.signal
      const task = limit(async () => {
        if (signal.aborted || components.isPinned(cid)) return
        await components.pin(cid, signal)
      })
      inflight.add(task)
      try {
        await task
        await serial(async () => await settle(cid))
        return true
      } catch (err) {
        if (!signal.aborted) log.warn({ cid: cid.toString(), code: codeOf(err) }, 'could not pin an image part; it stays owed and is retried')
        return false
      } finally {
        inflight.delete(task)
      }
    }

    /**
     * The newest block of each chain whose image records are written down: the cursor a restart
     * catches up from. It moves only in `serial`, after the records of its blocks are owed, so a
     * crash never leaves a block behind the saved cursor unexamined.
     */
    const cursor = new Map<string, Head>()
    const advance = (heads: Iterable<Head>): void => {
      for (const h of heads) {
        const key = toHex(h.author)
        if ((cursor.get(key)?.height ?? -1) < h.height) cursor.set(key, h)
      }
    }

    const saveCursor = async (): Promise<void> => {
      sinceCursor = 0
      await datastore.put(CURSOR_KEY, encode([...cursor.values()]))
    }

    /** Takes the image records of appended blocks: owed parts are written down, then pinned. */
    const noteBlocks = async (blocks: Block[], live: boolean): Promise<CID[]> => {
      const members = activeMembers()
      // This hospital's own uploads pin themselves once their record is appended (upload.ts);
      // only a restart's catch-up owes them, for a pin record a crash cut off.
      const images = blocks.flatMap(imagesIn).filter(image => !live || !equals(image.custodian, ledger.self))
      const parts = images.flatMap(image => wanted(image, members))
      const fresh = parts.length === 0 ? [] : await owe(parts)
      advance(blocks.map(b => ({ author: b.header.author, height: b.header.height, hash: b.hash })))
      sinceCursor += blocks.length
      if (sinceCursor >= REPAIR_CURSOR_BLOCKS) await saveCursor()
      return fresh
    }

    const onBlock = (e: Event): void => {
      const block = (e as CustomEvent<Block>).detail
      // Every block takes its turn, image records or not, so the cursor moves in append order.
      serial(async () => await noteBlocks([block], true))
        .then(fresh => { for (const cid of fresh) void ensure(cid) })
        .catch(err => log.warn({ code: codeOf(err) }, 'could not record owed image parts'))
    }

    /** Every image record against the current members: the first start of a folder, or a membership change. */
    const walk = async (): Promise<void> => {
      // Blocks appended after this snapshot are noted again from their events: harmless.
      advance(ledger.heads())
      const members = activeMembers()
      const parts: CID[] = []
      for (const image of await ledger.queries.getAllResults()) parts.push(...wanted(image, members))
      await owe(parts)
      stats.walks++
      await datastore.put(MEMBERS_KEY, membersDigest())
      await saveCursor()
    }

    /** The blocks appended since the saved cursor (a restart, or storage started after the ledger). */
    const catchUp = async (saved: Head[]): Promise<void> => {
      advance(saved)
      for (;;) {
        const bytes = await ledger.blocksAfter([...cursor.values()], REPAIR_CURSOR_BLOCKS)
        if (bytes.length === 0) break
        await noteBlocks(bytes.map(b => decodeBlock(b)), false)
        if (bytes.length < REPAIR_CURSOR_BLOCKS) break
      }
      await saveCursor()
    }

    const onMembers = (): void => {
      serial(async () => {
        const stored = await datastore.get(MEMBERS_KEY).catch(() => undefined)
        if (stored !== undefined && toHex(stored) === toHex(membersDigest())) return
        await walk()
      }).then(trigger, err => log.warn({ code: codeOf(err) }, 'could not re-check images after a membership change'))
    }

    const runPass = async (): Promise<RepairResult> => {
      // After the start's catch-up and any walk or block being noted.
      await serial(async () => {})
      const missing = [...owed.values()].filter(cid => !components.isPinned(cid))
      for (const cid of owed.values()) if (components.isPinned(cid)) await serial(async () => await settle(cid))
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
      if (controller.signal.aborted || owed.size === 0) return
      repair().catch(err => log.warn({ code: codeOf(err) }, 'repair pass failed'))
    }

    return {
      start () {
        controller = new AbortController()
        owed.clear()
        cursor.clear()
        ledger.addEventListener('block:appended', onBlock)
        ledger.addEventListener('members:changed', onMembers)
        libp2p.addEventListener('peer:connect', trigger)
        serial(async () => {
          for await (const key of datastore.queryKeys({ prefix: OWED_PREFIX })) {
            const name = key.toString().slice(OWED_PREFIX.length)
            try {
              owed.set(name, CID.parse(name))
            } catch {
              // A record this version cannot read is left alone.
            }
          }
          const saved = await datastore.get(CURSOR_KEY).catch(() => undefined)
          const members = await datastore.get(MEMBERS_KEY).catch(() => undefined)
          if (saved === undefined || members === undefined || toHex(members) !== toHex(membersDigest())) await walk()
          else await catchUp(decode(saved) as Head[])
        }).then(trigger, err => log.warn({ code: codeOf(err) }, 'could not catch up on image records'))
        if (init.intervalMs > 0) timer = setInterval(trigger, init.intervalMs)
      },
      async stop () {
        controller.abort()
        clearInterval(timer)
        timer = undefined
        ledger.removeEventListener('block:appended', onBlock)
        ledger.removeEventListener('members:changed', onMembers)
        libp2p.removeEventListener('peer:connect', trigger)
        await Promise.allSettled([pass, queued, ...inflight])
        await serial(saveCursor).catch(() => {})
      },
      repair,
      stats: () => ({ ...stats, owed: owed.size })
    }
  }
}
