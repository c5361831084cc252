// Encrypted image storage of one peer (docs/design.md §5): ciphertext goes into a light helia on the
// peer's own libp2p node as a unixfs file (CIDv1, raw leaves, streamed), reads come from the local
// blockstore or over bitswap from connected members, and replication keeps every image on its
// custodian plus k members. This module stores the bytes it is given; encryption happens before.
// Uploads in flight are seal/staging.ts.
import { join } from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import type { Libp2p } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import { createBlocks, storageError } from './blocks/blocks.ts'
import type { Blocks, BlockStats, Hold } from './blocks/blocks.ts'
import { createCollector } from './blocks/collector.ts'
import type { Collector, CollectReport } from './blocks/collector.ts'
import { BLOCK_STREAM_WINDOW_BYTES, BLOCK_TIMEOUT_MS, BLOCKS_DIR, COLLECT_GRACE_MS, COLLECT_INTERVAL_MS, HELIA_DIR, PIN_REPLICAS, READ_AHEAD_BLOCKS, REPAIR_INTERVAL_MS, SEAL_WORKERS } from './constants.ts'
import { InvalidContentError, StorageNotStartedError, UnavailableError } from './errors.ts'
import { codeOf } from '../p2p/errors.ts'
import { createHeliaLight } from './helia-light.ts'
import type { HeliaLight } from './helia-light.ts'
import { createPins } from './blocks/pins.ts'
import type { Pins } from './blocks/pins.ts'
import { createBlockSource } from './stream/block-source.ts'
import { serveBlockStreams } from './stream/block-stream.ts'
import { walkFile } from './stream/dag-walk.ts'
import { createReplication } from './replication.ts'
import { createSealPool } from './seal/seal-pool.ts'
import type { SealPool } from './seal/seal-pool.ts'
import { createStaging } from './seal/staging.ts'
import type { Staging } from './seal/staging.ts'
import type { RepairResult, Replication, ReplicationLedger, ReplicationStats } from './replication.ts'

export type { RepairResult, ReplicationStats } from './replication.ts'
export type { CollectReport } from './blocks/collector.ts'
export type { SealJob } from './seal/seal-pool.ts'
export type { Staging } from './seal/staging.ts'
export { UnavailableError, AbortedError, InvalidContentError, StorageFullError, StorageNotStartedError } from './errors.ts'

/** Multicodec of dag-pb, unixfs's node format (the multicodec table): its links lead to the leaves. */
const DAG_PB_CODE = dagPb.code

/** Options of createStorage. */
export interface StorageInit {
  /** The peer's data folder: blocks go to `<dataDir>/blocks`, pin records to `<dataDir>/helia`. */
  dataDir: string
  /** Members besides the custodian that pin each image (default 1). */
  replicas?: number
  /** Period of the repair loop (ms; default 30 s; 0 keeps only the event triggers). */
  repairIntervalMs?: number
  /** Default time one missing block may take to arrive over bitswap (ms; default 30 s). */
  blockTimeoutMs?: number
  /** Bytes a read fetches ahead, in 1 MiB blocks (default 32 MiB, READ_AHEAD_BLOCKS). */
  segmentBytes?: number
  /** Serve and use the block stream protocol (default true; false leaves reads to bitswap alone). */
  blockStreams?: boolean
  /** Orphan blocks younger than this are kept (ms; default 1 h). */
  collectGraceMs?: number
  /** Period of the orphan collector (ms; default 1 h; 0: only on demand). A pass also runs at start. */
  collectIntervalMs?: number
}

/**
 * What storage needs. `libp2p` is read only in `start()`, so a getter that returns the started
 * host of the P2P layer works: helia shares that node, its PeerId and its member-only gater.
 */
export interface StorageComponents {
  libp2p: Libp2p
  logger: Logger
  ledger: ReplicationLedger
  /** Wall clock for the collector's grace period (default Date.now). */
  clock?: () => number
}

/** Options of a read. */
export interface CatOptions {
  signal?: AbortSignal
  /** Time one missing block may take to arrive (ms); past it the read fails with UNAVAILABLE. */
  timeoutMs?: number
}

/** What storage holds, for /api/health. */
export interface StorageStats extends BlockStats {
  /** Roots pinned here. */
  pins: number
}

/** Events: 'pin:added' ({ cid }) whenever a root becomes pinned here, by upload or replication. */
export interface StorageEvents {
  'pin:added': { cid: CID }
}

/** The storage service of one peer. */
export interface Storage extends EventTarget {
  start(): Promise<void>
  stop(): Promise<void>
  /**
   * Adds a byte stream as one unixfs file and pins it (the custodian holds what it uploads).
   * The stream is chunked as it arrives (1 MiB raw leaves); nothing buffers the whole file.
   * Every block is fsynced (file and folder) before the pin record is written.
   */
  add(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: { signal?: AbortSignal }): Promise<{ cid: CID, size: number }>
  /**
   * Streams a file: local blocks first, else a connected member's block stream, else bitswap
   * (fetched blocks are kept on disk, unpinned). Rejects while
   * iterating with UNAVAILABLE (a block did not arrive in time), ABORTED or INVALID (not a file).
   */
  cat(cid: CID, options?: CatOptions): AsyncIterable<Uint8Array>
  /** True when the root block of `cid` is on this disk (not a check of the whole DAG). */
  has(cid: CID): Promise<boolean>
  /** Fetches every missing block of `cid` and keeps them all; concurrent pins of one CID share work. */
  pin(cid: CID, options?: CatOptions): Promise<void>
  /** Opens an upload whose files are pinned only on commit (see Staging). */
  stage(): Staging
  /** Drops the pin record; the collector frees the blocks after its grace period if nothing else references them. */
  unpin(cid: CID): Promise<void>
  /**
   * Deletes the blocks of an unpinned file from this disk, walking its DAG through local blocks
   * only (what a read fetched under a consent that has ended). A pinned file is left alone.
   */
  discard(cid: CID): Promise<{ blocks: number, bytes: number }>
  isPinned(cid: CID): boolean
  stats(): StorageStats
  /** Blocks reads and pins took from this disk, a member's block stream and bitswap since start. */
  readCounts(): { local: number, streamed: number, bitswap: number }
  /** Runs a repair pass now (tests, admin tools): retries every owed part. */
  repair(): Promise<RepairResult>
  /** What replication has examined since start, and what it owes (tests, /api/health). */
  replicationStats(): ReplicationStats
  /** Runs an orphan-collection pass now (tests, admin tools). */
  collect(): Promise<CollectReport>
  /** The collector's last pass and what it freed since start, for /api/health. */
  collected(): ReturnType<Collector['status']>
}

interface Running { helia: HeliaLight, blocks: Blocks, pins: Pins, replication: Replication, collector: Collector, sealer: SealPool, stopping: AbortController, unserve: () => Promise<void> }

/** Checks a caller's CID at the boundary (a CID from another copy of multiformats is accepted). */
function asCid (value: unknown): CID {
  const cid = CID.asCID(value)
  if (cid === null) throw new InvalidContentError('expected a CID')
  return cid
}

/** Creates image storage: `createStorage(init)(components)`, then `start()`. */
export function createStorage (init: StorageInit) {
  return (components: StorageComponents): Storage => {
    const log = components.logger.child({ component: 'storage' })
    const events = new EventTarget()
    const blockTimeoutMs = init.blockTimeoutMs ?? BLOCK_TIMEOUT_MS
    const ahead = init.segmentBytes === undefined ? READ_AHEAD_BLOCKS : Math.max(1, Math.ceil(init.segmentBytes / (1024 * 1024)))
    const streams = init.blockStreams ?? true
    const readCounts = { local: 0, streamed: 0, bitswap: 0 }
    const pinning = new Map<string, Promise<void>>()
    let running: Running | undefined
    let starting: Promise<Running> | undefined

    const need = (): Running => {
      if (running === undefined) throw new StorageNotStartedError('storage is not started')
      return running
    }

    const pinned = async (r: Running, cid: CID): Promise<void> => {
      await r.pins.add(cid)
      log.debug({ cid: cid.toString() }, 'pinned')
      events.dispatchEvent(new CustomEvent('pin:added', { detail: { cid } }))
    }

    const pin = async (value: CID, options: CatOptions = {}): Promise<void> => {
      const cid = asCid(value)
      const r = need()
      if (r.pins.isPinned(cid)) return
      const key = cid.toV1().toString()
      const pending = pinning.get(key)
      if (pending !== undefined) return await pending
      const work = (async () => {
        const hold = r.blocks.hold()
        try {
          for await (const chunk of read(r, cid, options, hold)) void chunk
          // A pin record promises the whole DAG: it is written once the blocks are durable.
          await hold.sync()
          await pinned(r, cid)
        } finally {
          hold.release()
        }
      })().finally(() => pinning.delete(key))
      pinning.set(key, work)
      await work
    }

    /**
     * Yields the bytes of file `cid` in order, walking its blocks with READ_AHEAD_BLOCKS in
     * flight; with `hold`, resolves only once every block it fetched is on disk.
     */
    async function * read (r: Running, cid: CID, options: CatOptions, hold?: Hold): AsyncGenerator<Uint8Array> {
      const peers = streams ? components.libp2p.getPeers() : []
      const source = createBlockSource({ root: cid, timeoutMs: options.timeoutMs ?? blockTimeoutMs, hold }, {
        blocks: r.blocks,
        logger: log,
        session: { libp2p: components.libp2p, peers, windowBytes: BLOCK_STREAM_WINDOW_BYTES }
      })
      const signal = options.signal === undefined ? r.stopping.signal : AbortSignal.any([options.signal, r.stopping.signal])
      try {
        for await (const block of walkFile(cid, source.get, { ahead, signal })) if (block.data.byteLength > 0) yield block.data
        // The reader has every byte by now; the copies kept on disk finish here. A read does not
        // fail over a copy it could not keep (a full disk), a pin does.
        if (hold !== undefined) await source.settled()
        else await source.settled().catch((err: unknown) => log.warn({ code: codeOf(err) }, 'a block fetched for a read was not kept'))
      } catch (err) {
        if (r.stopping.signal.aborted && options.signal?.aborted !== true) throw new UnavailableError('storage stopped during the read', { cause: err })
        throw storageError(err)
      } finally {
        source.close()
        readCounts.local += source.counts.local
        readCounts.streamed += source.counts.streamed
        readCounts.bitswap += source.counts.bitswap
      }
    }

    const launch = async (): Promise<Running> => {
      const libp2p = components.libp2p
      const helia = createHeliaLight({ blocksPath: join(init.dataDir, BLOCKS_DIR), datastorePath: join(init.dataDir, HELIA_DIR) })({ libp2p })
      const stopping = new AbortController()
      const blocks = createBlocks(helia, () => stopping.signal)
      const pins = createPins(helia.datastore)
      const replication = createReplication({ replicas: init.replicas ?? PIN_REPLICAS, intervalMs: init.repairIntervalMs ?? REPAIR_INTERVAL_MS })({
        ledger: components.ledger,
        libp2p,
        logger: log,
        datastore: helia.datastore,
        isPinned: (cid) => pins.isPinned(cid),
        pin: async (cid, signal) => await pin(cid, { signal })
      })
      const collector = createCollector({ graceMs: init.collectGraceMs ?? COLLECT_GRACE_MS, intervalMs: init.collectIntervalMs ?? COLLECT_INTERVAL_MS })({
        blocks,
        logger: log,
        clock: components.clock ?? Date.now,
        roots: async () => {
          const roots = pins.all()
          for (const image of await components.ledger.queries.getAllResults()) {
            roots.push(image.raw)
            if (image.result !== null) roots.push(image.result)
            if (image.meta !== null) roots.push(image.meta)
            if (image.model !== null) roots.push(image.model)
          }
          return roots
        }
      })
      await helia.start()
      let unserve = async (): Promise<void> => {}
      try {
        await blocks.scan()
        await pins.load()
        if (streams) unserve = await serveBlockStreams({ libp2p, members: components.ledger, logger: log, local: async (cid) => await blocks.local(cid), timeoutMs: blockTimeoutMs })
      } catch (err) {
        await helia.stop()
        throw err
      }
      const sealer = createSealPool({ workers: SEAL_WORKERS, blocksPath: helia.blockstore.path })
      return { helia, blocks, pins, replication, collector, sealer, stopping, unserve }
    }

    const stage = (): Staging => {
      const r = need()
      return createStaging({ blocks: r.blocks, sealer: r.sealer, logger: log, blockTimeoutMs, pinned: async (cid) => await pinned(r, cid) })
    }

    return Object.assign(events, {
      async start (): Promise<void> {
        if (running !== undefined) return
        // Concurrent calls share one launch, so the stores are never opened twice.
        starting ??= launch().finally(() => { starting = undefined })
        const r = await starting
        if (running === r) return
        running = r
        r.replication.start()
        r.collector.start()
        log.info({ ...r.blocks.stats(), pins: r.pins.count() }, 'storage started')
      },
      async stop (): Promise<void> {
        if (starting !== undefined) await starting.catch(() => undefined)
        const r = running
        if (r === undefined) return
        r.stopping.abort()
        await r.unserve()
        await r.replication.stop()
        await r.collector.stop()
        await r.sealer.close()
        await Promise.allSettled(pinning.values())
        running = undefined
        await r.helia.stop()
        log.info('storage stopped')
      },
      async add (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: { signal?: AbortSignal } = {}): Promise<{ cid: CID, size: number }> {
        const staging = stage()
        try {
          const file = await staging.add(source, options)
          await staging.commit()
          return file
        } finally {
          staging.drop()
        }
      },
      stage,
      cat (value: CID, options: CatOptions = {}): AsyncIterable<Uint8Array> {
        return read(need(), asCid(value), options)
      },
      async has (value: CID): Promise<boolean> {
        return await need().blocks.has(asCid(value))
      },
      pin,
      async unpin (value: CID): Promise<void> {
        const cid = asCid(value)
        await need().pins.remove(cid)
        log.debug({ cid: cid.toString() }, 'unpinned')
      },
      isPinned: (value: CID): boolean => need().pins.isPinned(asCid(value)),
      async discard (value: CID): Promise<{ blocks: number, bytes: number }> {
        const r = need()
        const root = asCid(value)
        const freed = { blocks: 0, bytes: 0 }
        if (r.pins.isPinned(root)) return freed
        const todo: CID[] = [root]
        for (let cid = todo.pop(); cid !== undefined; cid = todo.pop()) {
          const bytes = await r.blocks.local(cid)
          if (bytes === undefined) continue
          if (cid.code === DAG_PB_CODE) todo.push(...dagPb.decode(bytes).Links.map(l => l.Hash))
          const file = await r.blocks.fileOf(cid)
          // Infinity: however recent the block; a block held by an operation in flight stays.
          const size = file === undefined ? undefined : await r.blocks.remove(file, Number.POSITIVE_INFINITY)
          if (size === undefined) continue
          freed.bytes += size
          freed.blocks++
        }
        log.info({ cid: root.toString(), ...freed }, 'discarded')
        return freed
      },
      stats: (): StorageStats => {
        const r = need()
        return { ...r.blocks.stats(), pins: r.pins.count() }
      },
      readCounts: () => ({ ...readCounts }),
      repair: async (): Promise<RepairResult> => await need().replication.repair(),
      replicationStats: () => need().replication.stats(),
      collect: async (): Promise<CollectReport> => await need().collector.collect(),
      collected: () => need().collector.status()
    })
  }
}
