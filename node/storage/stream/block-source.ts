// Where one read or pin gets each block of a file: this disk first, then a member's block stream
// (opened once, at the first block missing here; a block it has already brought is taken without
// a look at the disk), then bitswap. A streamed block goes to the
// reader as soon as it is checked and to disk at the same time: the reader never waits for the
// write. A pin waits for every write before it records the pin.
import type { CID } from 'multiformats/cid'
import type { Logger } from 'pino'
import type { Blocks, Hold } from '../blocks/blocks.ts'
import { openBlockSession } from './block-stream.ts'
import type { BlockSession, SessionComponents } from './block-stream.ts'
import { AbortedError } from '../errors.ts'
import type { GetBlock } from './dag-walk.ts'

/** What a source needs. */
export interface BlockSourceComponents {
  blocks: Blocks
  logger: Logger
  /** Opens block streams; absent, reads go from disk straight to bitswap. */
  session?: Omit<SessionComponents, 'logger'> & { windowBytes: number }
}

/** Options of one read or pin. */
export interface BlockSourceOptions {
  root: CID
  /** Time one block may take to arrive (ms). */
  timeoutMs: number
  /** Records every block read or written, to sync them and keep them from the collector. */
  hold?: Hold
}

/** The blocks of one read. */
export interface BlockSource {
  get: GetBlock
  /** Resolves once every block this source wrote is on disk (or its write failed). */
  settled(): Promise<void>
  /** Ends the block stream, if one was opened. */
  close(): void
  /** Where blocks came from, for tests and benchmarks. */
  readonly counts: { local: number, streamed: number, bitswap: number }
}

/** Creates the block source of one read or pin of `options.root`. */
export function createBlockSource (options: BlockSourceOptions, c: BlockSourceComponents): BlockSource {
  const writes = new Set<Promise<void>>()
  const counts = { local: 0, streamed: 0, bitswap: 0 }
  let session: BlockSession | undefined
  let writeError: unknown

  const streamed = (): BlockSession | undefined => {
    if (c.session === undefined || c.session.peers.length === 0) return undefined
    session ??= openBlockSession(options.root, { windowBytes: c.session.windowBytes, timeoutMs: options.timeoutMs }, { ...c.session, logger: c.logger })
    return session
  }

  const keep = (cid: CID, bytes: Uint8Array): void => {
    const write = c.blocks.keep(cid, bytes).catch((err: unknown) => { writeError ??= err })
    writes.add(write)
    void write.finally(() => writes.delete(write))
  }

  return {
    counts,
    async get (cid, signal) {
      options.hold?.add(cid)
      // A block the stream has already brought needs no look at the disk first: on a first read
      // that is most blocks, and a missing file costs a failed open on the main thread.
      const early = session?.take(cid)
      if (early !== undefined) {
        counts.streamed++
        keep(cid, early)
        return early
      }
      const here = await c.blocks.local(cid)
      if (here !== undefined) {
        counts.local++
        return here
      }
      if (signal.aborted) throw new AbortedError('the read was aborted')
      const bytes = await streamed()?.get(cid, signal)
      if (bytes !== undefined) {
        counts.streamed++
        keep(cid, bytes)
        return bytes
      }
      if (signal.aborted) throw new AbortedError('the read was aborted')
      counts.bitswap++
      return await c.blocks.fetch(cid, { timeoutMs: options.timeoutMs, signals: [signal] })
    },
    async settled () {
      while (writes.size > 0) await Promise.all(writes)
      if (writeError !== undefined) throw writeError
    },
    close () {
      session?.close()
    }
  }
}
