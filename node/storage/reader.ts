// Streams a unixfs file in segments with one segment of read-ahead. The unixfs exporter fetches
// all blocks of a request at once and queues their data whether or not the consumer keeps up, so
// asking for READ_SEGMENT_BYTES at a time bounds memory to two segments even for a slow HTTP
// client, while the next segment's blocks are already on their way over bitswap.
import { unixfs } from '@helia/unixfs'
import type { CID } from 'multiformats/cid'
import { storageError } from './blocks.ts'
import type { UnixfsBlockstore } from './blocks.ts'
import { InvalidContentError } from './errors.ts'

/** Options of readFile. */
export interface ReadOptions {
  /** Bytes per segment. */
  segmentBytes: number
  signal?: AbortSignal
}

/** The size in bytes of the unixfs file (or raw block) at `cid`. */
export async function fileSize (blockstore: UnixfsBlockstore, cid: CID, signal?: AbortSignal): Promise<number> {
  let stats
  try {
    stats = await unixfs({ blockstore }).stat(cid, { signal })
  } catch (err) {
    throw storageError(err)
  }
  if (stats.type === 'directory') throw new InvalidContentError('expected a file, got a unixfs directory')
  return Number(stats.size)
}

/** Reads bytes [offset, offset + length) into memory: one segment. */
async function segment (blockstore: UnixfsBlockstore, cid: CID, offset: number, length: number, signal: AbortSignal): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = []
  for await (const part of unixfs({ blockstore }).cat(cid, { offset, length, signal })) parts.push(part)
  return parts
}

/** Yields the file's bytes in order; errors are ours (UNAVAILABLE, ABORTED, INVALID). */
export async function * readFile (blockstore: UnixfsBlockstore, cid: CID, options: ReadOptions): AsyncGenerator<Uint8Array> {
  // Our own controller stops read-ahead when the consumer leaves early or a segment fails.
  const controller = new AbortController()
  const signal = options.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, options.signal])
  const step = options.segmentBytes
  let ahead: Promise<Uint8Array[]> | undefined
  try {
    const size = await fileSize(blockstore, cid, signal)
    const start = (offset: number): Promise<Uint8Array[]> => {
      const p = segment(blockstore, cid, offset, Math.min(step, size - offset), signal)
      // Handled where it is awaited; this only keeps an abandoned read-ahead from going unhandled.
      p.catch(() => {})
      return p
    }
    ahead = size > 0 ? start(0) : undefined
    for (let offset = 0; ahead !== undefined; offset += step) {
      const current = await ahead
      ahead = offset + step < size ? start(offset + step) : undefined
      yield * current
    }
  } catch (err) {
    throw storageError(err)
  } finally {
    controller.abort()
  }
}
