// The blockstore unixfs reads and writes through: local blocks first, else bitswap from connected
// members, each block within a deadline. Fetched blocks are kept on disk, as helia does, so a
// second read is local and a pin after a read fetches nothing. It also keeps the block and byte
// counts /api/health reports.
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Blockstore } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'
import { concat, toHex } from '../../protocol/bytes.ts'
import { AbortedError, InvalidContentError, UnavailableError } from './errors.ts'
import { createFetcher } from './fetcher.ts'
import type { HeliaLight } from './helia-light.ts'

/** Blocks and bytes held on this disk. */
export interface BlockStats { blocks: number, bytes: number }

/** How one read or pin reaches blocks. */
export interface ViewOptions {
  /** Time one missing block may take to arrive over bitswap (ms). */
  timeoutMs: number
  /** Aborts the whole read or pin. */
  signal?: AbortSignal
}

/** The blockstore surface @helia/unixfs uses. */
export type UnixfsBlockstore = Pick<Blockstore, 'get' | 'put' | 'has'>

/** Local blocks with counting, and per-operation views that fall back to bitswap. */
export interface Blocks {
  /** Counts what is on disk; run once at start, before anything writes. */
  scan(): Promise<void>
  stats(): BlockStats
  /** True when the block is on this disk. */
  has(cid: CID): Promise<boolean>
  /** A blockstore for one read, add or pin. */
  view(options: ViewOptions): UnixfsBlockstore
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
  /** Puts in progress by multihash, so two writers of one block count it once. */
  const writing = new Map<string, Promise<void>>()

  const put = async (cid: CID, bytes: Uint8Array): Promise<void> => {
    const key = toHex(cid.multihash.bytes)
    const pending = writing.get(key)
    if (pending !== undefined) return await pending
    const write = (async () => {
      if (await local.has(cid)) return
      await local.put(cid, bytes)
      counts.blocks++
      counts.bytes += bytes.byteLength
      // Members with this block on their wantlist get it now. Not awaited: bitswap may wait on a
      // slow peer's wantlist send first, and an asker that misses it asks again (fetcher.ts).
      helia.announce(cid).catch(() => {})
    })().finally(() => writing.delete(key))
    writing.set(key, write)
    await write
  }

  // Kept, not only passed through: @helia/bitswap 4.0.19 never sends cancels, so a member that
  // sent us a block ignores a second want for it from us while its 'sent' entry lingers
  // (doNotResendBlockWindow), and a re-read over the network would stall.
  const fetcher = createFetcher(helia, put, stopped)

  return {
    async scan () {
      counts.blocks = 0
      counts.bytes = 0
      const entries = await readdir(local.path, { recursive: true, withFileTypes: true })
      // blockstore-fs names blocks `<multihash>.data`; steno's half-written temp files end otherwise.
      const files = entries.filter(e => e.isFile() && e.name.endsWith('.data')).map(e => join(e.parentPath, e.name))
      for (let i = 0; i < files.length; i += 256) {
        const sizes = await Promise.all(files.slice(i, i + 256).map(async f => (await stat(f)).size))
        for (const size of sizes) {
          counts.blocks++
          counts.bytes += size
        }
      }
    },
    stats: () => ({ ...counts }),
    has: async (cid) => await local.has(cid),
    view (options) {
      return {
        has: async (cid: CID) => await local.has(cid),
        put: async (cid: CID, value: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>) => {
          if (options.signal?.aborted === true) throw new AbortedError('the write was aborted')
          await put(cid, value instanceof Uint8Array ? value : await collect(value))
          return cid
        },
        async * get (cid: CID, call?: { signal?: AbortSignal }) {
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

/** Maps errors of the unixfs exporter and importer to ours; ours pass through. */
export function storageError (err: unknown): unknown {
  if (err instanceof UnavailableError || err instanceof AbortedError || err instanceof InvalidContentError) return err
  if (err instanceof Error && ['NotUnixFSError', 'NoResolverError', 'NotAFileError', 'NoContentError', 'OverReadError', 'UnderReadError', 'InvalidParametersError'].includes(err.name)) {
    return new InvalidContentError(`not a unixfs file: ${err.name}`, { cause: err })
  }
  return err
}
