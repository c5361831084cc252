// The blockstore unixfs reads and writes through: local blocks first, else bitswap from connected
// members, each block within a deadline. Fetched blocks are kept on disk, as helia does, so a
// second read is local and a pin after a read fetches nothing. It also keeps the block and byte
// counts /api/health reports, makes the blocks of an add or pin durable (blockstore-fs renames
// a temp file into place without fsync), and holds in-flight blocks away from the collector.
import { close as fsClose, fsync, open as fsOpen } from 'node:fs'
import { readdir, readFile, stat, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Blockstore } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'
import { base32upper } from 'multiformats/bases/base32'
import { concat, toHex } from '../../../protocol/bytes.ts'
import { serialPerKey } from '../../serial.ts'
import { blockFileExists, writeBlockFile } from './block-file.ts'
import { SYNC_CONCURRENCY } from '../constants.ts'
import { AbortedError, InvalidContentError, isNoSpace, StorageFullError, UnavailableError } from '../errors.ts'
import { createFetcher } from './fetcher.ts'
import type { HeliaLight } from '../helia-light.ts'

/** Blocks and bytes held on this disk. */
export interface BlockStats { blocks: number, bytes: number }

/** How one read or pin reaches blocks. */
export interface ViewOptions {
  /** Time one missing block may take to arrive over bitswap (ms). */
  timeoutMs: number
  /** Aborts the whole read or pin. */
  signal?: AbortSignal
  /** Records every block the view writes or reads, to sync them and keep them from the collector. */
  hold?: Hold
}

/** The blockstore surface @helia/unixfs uses. */
export type UnixfsBlockstore = Pick<Blockstore, 'get' | 'put' | 'has'>

/**
 * Blocks of one operation in flight (an upload until its ledger record exists, a pin until its
 * record is written). The collector never deletes a held block, and `sync` makes them durable.
 */
export interface Hold {
  /** Adds a block (the view does this before it writes or reads the block). */
  add(cid: CID): void
  /** Notes that a held block's file data is already fsynced (a seal worker did it), so `sync` skips the file. */
  synced(cid: CID): void
  /** fsyncs every block file added so far (unless already synced), then the folders their names live in. */
  sync(): Promise<void>
  /** Lets the collector see these blocks again; idempotent. */
  release(): void
}

/** A block file on disk, as the collector lists it. */
export interface BlockFile { key: string, path: string, size: number, mtimeMs: number }

/** Local blocks with counting, and per-operation views that fall back to bitswap. */
export interface Blocks {
  /** Counts what is on disk; run once at start, before anything writes. */
  scan(): Promise<void>
  stats(): BlockStats
  /** True when the block is on this disk. */
  has(cid: CID): Promise<boolean>
  /** A blockstore for one read, add or pin. */
  view(options: ViewOptions): UnixfsBlockstore
  /** Opens a hold for an operation in flight. */
  hold(): Hold
  /** Every block file on disk (key: hex of the multihash). */
  list(): Promise<BlockFile[]>
  /** The local bytes of a block, or undefined when it is not on this disk (never fetches). */
  local(cid: CID): Promise<Uint8Array | undefined>
  /**
   * Counts a block another thread (a seal worker) wrote into this blockstore when it is `fresh`,
   * and tells members that want it.
   */
  adopt(cid: CID, bytes: number, fresh: boolean): void
  /**
   * Deletes a block this operation wrote itself (`adopt` said fresh) and no root names: the
   * remains of a seal that stopped part way. Its own hold does not keep it.
   */
  removeFresh(cid: CID): Promise<void>
  /** Writes a block fetched from a member (checked against its CID by the caller) unless it is here. */
  keep(cid: CID, bytes: Uint8Array): Promise<void>
  /** Fetches a block over bitswap and keeps it (the fallback of a read; see fetcher.ts). */
  fetch(cid: CID, options: { timeoutMs: number, signals: AbortSignal[] }): Promise<Uint8Array>
  /**
   * Deletes a block unless it is held or was written since `notAfterMs` (file mtime); returns
   * the bytes freed, or undefined when the block was kept. Serialised with writes of the block.
   */
  remove(file: BlockFile, notAfterMs: number): Promise<number | undefined>
  /** The file of a block on this disk, or undefined (for `remove` of a known block). */
  fileOf(cid: CID): Promise<BlockFile | undefined>
}

/**
 * fsyncs a file or folder (a read-only descriptor suffices on Linux and macOS). Through the
 * callback API on a bare descriptor: a FileHandle costs the main thread several times as much,
 * and every stored block takes one of these (docs/benchmarks.md "DICOM ingest").
 */
async function fsyncPath (path: string): Promise<void> {
  const fd = await new Promise<number>((resolve, reject) => fsOpen(path, 'r', (err, fd) => err === null ? resolve(fd) : reject(err)))
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (err) => err === null ? resolve() : reject(err)))
  } finally {
    await new Promise<void>((resolve) => fsClose(fd, () => resolve()))
  }
}

/**
 * fsyncs folders, one at a time per folder, shared by every caller: a caller joins the next fsync
 * that starts after it asked (so it covers the caller's renames), never one already under way.
 * Concurrent uploads then share one fsync of the blocks folder and of each shard folder.
 */
function folderSyncer (): (path: string) => Promise<void> {
  const folders = new Map<string, { current: Promise<void>, next: Promise<void> | null }>()
  const settle = (path: string, p: Promise<void>): void => {
    const f = folders.get(path)
    if (f !== undefined && f.current === p && f.next === null) folders.delete(path)
  }
  return async (path) => {
    const f = folders.get(path)
    if (f === undefined) {
      const current = fsyncPath(path)
      folders.set(path, { current, next: null })
      current.then(() => settle(path, current), () => settle(path, current))
      return await current
    }
    if (f.next === null) {
      const next: Promise<void> = f.current.catch(() => {}).then(async () => {
        // From here on, a newcomer asked after this fsync started: it waits for the one after.
        f.current = next
        f.next = null
        await fsyncPath(path)
      })
      f.next = next
      next.then(() => settle(path, next), () => settle(path, next))
    }
    return await f.next
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function eachLimited<T> (items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

/** Joins chunks of one block (blockstore-fs streams a block as several buffers). */
async function collect (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const part of source) parts.push(part)
  return parts.length === 1 ? parts[0] : concat(...parts)
}

/** Wraps blockstore-fs and bitswap; `stopped` aborts every fetch when storage stops. */
export function createBlocks (helia: HeliaLight, stopped: () => AbortSignal): Blocks {
  const local = helia.blockstore
  const counts: BlockStats = { blocks: 0, bytes: 0 }
  /** Writes and deletes of one block (by multihash) run in turn. */
  const exclusive = serialPerKey()
  /** Held blocks: how many holds name each. */
  const held = new Map<string, number>()

  const syncFolder = folderSyncer()
  const keyOf = (cid: CID): string => toHex(cid.multihash.bytes)
  const pathOf = (cid: CID): string => {
    const { dir, file } = helia.sharding.encode(cid)
    return join(local.path, dir, file)
  }

  const put = async (cid: CID, bytes: Uint8Array): Promise<void> => {
    await exclusive(keyOf(cid), async () => {
      const path = pathOf(cid)
      if (await blockFileExists(path)) return
      await writeBlockFile(path, bytes, { sync: false })
      counts.blocks++
      counts.bytes += bytes.byteLength
      // Members with this block on their wantlist get it now. Not awaited: bitswap may wait on a
      // slow peer's wantlist send first, and an asker that misses it asks again (fetcher.ts).
      helia.announce(cid).catch(() => {})
    })
  }

  // Kept, not only passed through: @helia/bitswap 4.0.19 never sends cancels, so a member that
  // sent us a block ignores a second want for it from us while its 'sent' entry lingers
  // (doNotResendBlockWindow), and a re-read over the network would stall.
  const fetcher = createFetcher(helia, put, stopped)

  const hold = (): Hold => {
    const mine = new Map<string, CID>()
    const durable = new Set<string>()
    let open = true
    return {
      add (cid) {
        const key = keyOf(cid)
        if (!open || mine.has(key)) return
        mine.set(key, cid)
        held.set(key, (held.get(key) ?? 0) + 1)
      },
      synced (cid) {
        durable.add(keyOf(cid))
      },
      async sync () {
        // The data of each file first, then each name: the renames that put them in place and, in
        // the blocks folder, any shard folder created for them.
        const files = [...mine.values()].map(pathOf)
        await eachLimited([...mine].filter(([key]) => !durable.has(key)).map(([, cid]) => pathOf(cid)), SYNC_CONCURRENCY, fsyncPath)
        const dirs = [...new Set(files.map(f => dirname(f)))]
        await eachLimited(dirs, SYNC_CONCURRENCY, syncFolder)
        if (dirs.length > 0) await syncFolder(local.path)
      },
      release () {
        if (!open) return
        open = false
        for (const key of mine.keys()) {
          const n = (held.get(key) ?? 1) - 1
          if (n <= 0) held.delete(key)
          else held.set(key, n)
        }
      }
    }
  }

  return {
    async scan () {
      counts.blocks = 0
      counts.bytes = 0
      const { files, temps } = await scanFolder(local.path)
      for (const f of files) {
        counts.blocks++
        counts.bytes += f.size
      }
      // Nothing writes yet, so every temp file is what a crash left of a block being written.
      await Promise.all(temps.map(async (path) => { await unlink(path).catch(() => {}) }))
    },
    stats: () => ({ ...counts }),
    has: async (cid) => await local.has(cid),
    hold,
    list: async () => await listFiles(local.path),
    async fileOf (cid) {
      const path = pathOf(cid)
      try {
        const s = await stat(path)
        return { key: keyOf(cid), path, size: s.size, mtimeMs: s.mtimeMs }
      } catch {
        return undefined
      }
    },
    async local (cid) {
      // One read of the file: a missing block is a cheap ENOENT, with no separate existence check.
      try {
        const buf = await readFile(pathOf(cid))
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
      } catch {
        return undefined
      }
    },
    keep: put,
    adopt (cid, bytes, fresh) {
      if (!fresh) return
      counts.blocks++
      counts.bytes += bytes
      helia.announce(cid).catch(() => {})
    },
    fetch: async (cid, options) => await fetcher.fetch(cid, options),
    async removeFresh (cid) {
      const key = keyOf(cid)
      await exclusive(key, async () => {
        const path = pathOf(cid)
        const size = (await stat(path).catch(() => undefined))?.size
        if (size === undefined) return
        await unlink(path)
        counts.blocks = Math.max(0, counts.blocks - 1)
        counts.bytes = Math.max(0, counts.bytes - size)
      })
    },
    async remove (file, notAfterMs) {
      return await exclusive(file.key, async () => {
        if (held.has(file.key)) return undefined
        // Read again under the lock: a write since the listing makes the block young.
        let now
        try {
          now = await stat(file.path)
        } catch {
          return undefined
        }
        if (now.mtimeMs > notAfterMs) return undefined
        await unlink(file.path)
        counts.blocks = Math.max(0, counts.blocks - 1)
        counts.bytes = Math.max(0, counts.bytes - now.size)
        return now.size
      })
    },
    view (options) {
      return {
        has: async (cid: CID) => await local.has(cid),
        put: async (cid: CID, value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>) => {
          if (options.signal?.aborted === true) throw new AbortedError('the write was aborted')
          // Held before the write starts, so the collector cannot delete an existing copy between
          // "already on disk" and the end of the operation.
          options.hold?.add(cid)
          await put(cid, value instanceof Uint8Array ? value : await collect(value))
          return cid
        },
        async * get (cid: CID, call?: { signal?: AbortSignal }) {
          options.hold?.add(cid)
          const caller = [options.signal, call?.signal].filter(s => s !== undefined)
          if (!(await local.has(cid))) {
            yield await fetcher.fetch(cid, { timeoutMs: options.timeoutMs, signals: caller })
            return
          }
          yield await collect(local.get(cid))
        }
      }
    }
  }
}

/** Lists block files: blockstore-fs names them `<base32 multihash>.data` in shard folders. */
async function listFiles (root: string): Promise<BlockFile[]> {
  return (await scanFolder(root)).files
}

/**
 * The block files of the blocks folder, and the temp files of block writes (`.<name>….tmp`, from
 * block-file.ts or blockstore-fs's steno), which are never block files.
 */
async function scanFolder (root: string): Promise<{ files: BlockFile[], temps: string[] }> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  const temps = entries.filter(e => e.isFile() && e.name.startsWith('.') && e.name.endsWith('.tmp')).map(e => join(e.parentPath, e.name))
  const names = entries.filter(e => e.isFile() && e.name.endsWith('.data'))
  const out: BlockFile[] = []
  for (let i = 0; i < names.length; i += 256) {
    const batch = await Promise.all(names.slice(i, i + 256).map(async (e) => {
      const path = join(e.parentPath, e.name)
      try {
        const s = await stat(path)
        return { key: toHex(base32upper.decode(e.name.slice(0, -'.data'.length))), path, size: s.size, mtimeMs: s.mtimeMs }
      } catch {
        // Deleted since the listing, or a name that is not a multihash: not ours to count.
        return undefined
      }
    }))
    for (const f of batch) if (f !== undefined) out.push(f)
  }
  return { files: out, temps }
}

/** Maps errors of the unixfs exporter and importer, and a full disk, to ours; ours pass through. */
export function storageError (err: unknown): unknown {
  if (err instanceof UnavailableError || err instanceof AbortedError || err instanceof InvalidContentError || err instanceof StorageFullError) return err
  if (isNoSpace(err)) return new StorageFullError(undefined, { cause: err })
  if (err instanceof Error && ['NotUnixFSError', 'NoResolverError', 'NotAFileError', 'NoContentError', 'OverReadError', 'UnderReadError', 'InvalidParametersError'].includes(err.name)) {
    return new InvalidContentError(`not a unixfs file: ${err.name}`, { cause: err })
  }
  return err
}
