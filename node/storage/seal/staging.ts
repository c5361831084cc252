// An upload in flight (docs/design.md §5): files added or sealed through one hold, durable when
// added but pinned only on commit, so the caller can pin them once the ledger record that names them
// is appended; a crash in between leaves only orphans for the collector. Used by storage (../index.ts).
import { unixfs } from '@helia/unixfs'
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import { storageError } from '../blocks/blocks.ts'
import type { Blocks } from '../blocks/blocks.ts'
import { AbortedError, InvalidContentError } from '../errors.ts'
import type { SealJob, SealPool } from './seal-pool.ts'

/**
 * An upload in flight. Its blocks are durable when `add` returns but not pinned, and the collector
 * leaves them alone until `commit` pins them or `drop` lets them go: the caller commits once the
 * ledger record that references them is appended, so a crash in between leaves only orphans.
 */
export interface Staging {
  /**
   * Adds a byte stream as one unixfs file; resolves once every block is fsynced, or, with
   * `sync: false`, once written (then `sync()` makes every file of the staging durable at once).
   */
  add(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: { signal?: AbortSignal, sync?: boolean }): Promise<{ cid: CID, size: number }>
  /**
   * Encrypts the plaintext file at `path` under `key` (protocol/crypto/content-crypto.ts) and adds the
   * ciphertext as one unixfs file, in a worker thread: the DAG `add(encryptContent(key, file))`
   * builds. The file may still be growing: report its length with the job's `grow`, and
   * `grow(size, true)` once it is whole. When `done` resolves each block's data is fsynced but,
   * as with `add` and `sync: false`, not the folders: `sync()` finishes the job. The key is
   * copied; the caller zeroes its own.
   */
  seal(path: string, key: Uint8Array): SealJob
  /** fsyncs every block added here so far (files, then their folders), in one pass. */
  sync(): Promise<void>
  /** Pins every file added here and ends the hold. */
  commit(): Promise<void>
  /** Ends the hold without pinning (the collector frees the blocks after its grace period). */
  drop(): void
}

/** What a staging uses of the started storage. */
export interface StagingComponents {
  blocks: Blocks
  sealer: SealPool
  logger: Logger
  /** Default time one missing block may take to arrive (ms). */
  blockTimeoutMs: number
  /** Records the pin of a committed file (and tells the storage's listeners). */
  pinned: (cid: CID) => Promise<void>
}

/** Passes chunks through while counting them; refuses anything that is not bytes. */
async function * counted (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, total: { bytes: number }, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    if (signal?.aborted === true) throw new AbortedError('the upload was aborted')
    if (!(chunk instanceof Uint8Array)) throw new InvalidContentError('expected a stream of Uint8Array chunks')
    total.bytes += chunk.byteLength
    yield chunk
  }
}

/** Opens a staging: one hold on the blocks it adds, until `commit` or `drop`. */
export function createStaging (components: StagingComponents): Staging {
  const { blocks, sealer, blockTimeoutMs, pinned } = components
  const log = components.logger
  const hold = blocks.hold()
  const added: CID[] = []

  /** Adds one file through the hold: chunked, stored, and fsynced before it resolves unless `sync` is false. */
  const addFile = async (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, signal?: AbortSignal, sync = true): Promise<{ cid: CID, size: number }> => {
    const total = { bytes: 0 }
    const view = blocks.view({ timeoutMs: blockTimeoutMs, signal, hold })
    let cid: CID
    try {
      cid = await unixfs({ blockstore: view }).addByteStream(counted(source, total, signal), { signal })
      if (sync) await hold.sync()
    } catch (err) {
      throw storageError(err)
    }
    return { cid, size: total.bytes }
  }

  return {
    async add (source, options = {}) {
      const file = await addFile(source, options.signal, options.sync ?? true)
      added.push(file.cid)
      log.info({ cid: file.cid.toString(), size: file.size }, 'added')
      return file
    },
    seal (path, key) {
      const fresh: CID[] = []
      const job = sealer.seal(path, key, {
        hold: (cid) => hold.add(cid),
        stored: (cid, bytes, isFresh) => {
          blocks.adopt(cid, bytes, isFresh)
          if (isFresh) {
            fresh.push(cid)
            hold.synced(cid)
          }
        }
      })
      const done = job.done.then((file) => {
        added.push(file.cid)
        log.info({ cid: file.cid.toString(), size: file.size }, 'added')
        return file
      }, async (err: unknown) => {
        // No root names the blocks of a job that stopped part way: they go now.
        for (const cid of fresh) await blocks.removeFresh(cid).catch(() => undefined)
        throw storageError(err)
      })
      // The owner awaits `done`; this keeps a failure before then from going unhandled.
      done.catch(() => {})
      return { grow: job.grow, abort: job.abort, done }
    },
    async commit () {
      try {
        for (const cid of added) await pinned(cid)
      } finally {
        hold.release()
      }
    },
    async sync () {
      try {
        await hold.sync()
      } catch (err) {
        throw storageError(err)
      }
    },
    drop: () => hold.release()
  }
}
