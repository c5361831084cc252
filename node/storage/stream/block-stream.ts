// The block stream protocol between members (docs/design.md §5 Cross-hospital reads): a reader
// names the root CID of a file, and a member that holds it answers with every block of the file
// in file order on one libp2p stream, as fast as the stream's flow control lets it. The reader
// checks each block against its CID before anyone sees it; a block that does not match, a stall,
// or a member that ends early turns the session off, and the read goes on over bitswap.
//
// Wire format (one libp2p stream, length-prefixed frames, @libp2p/utils lpStream):
//   reader → member: the root CID's bytes
//   member → reader: one status byte (0: streaming follows, 1: not held here), then for each
//                    block, in file order, two frames: its CID's bytes, then its bytes; then EOF.
import { createHash } from 'node:crypto'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { LengthPrefixedStream } from '@libp2p/utils'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import type { Logger } from 'pino'
import { equals, toHex } from '../../../protocol/bytes.ts'
import { codeOf, NotMemberPeerError } from '../../p2p/errors.ts'
import { isMemberPeer } from '../../p2p/gater.ts'
import type { MemberSource } from '../../p2p/gater.ts'
import { BLOCK_STREAM_BUFFER_BYTES, BLOCK_STREAM_MAX_FRAME, BLOCK_STREAM_PROTOCOL, BLOCK_STREAM_SERVE_AHEAD } from '../constants.ts'
import type { GetBlock } from './dag-walk.ts'
import { fileNode, walkFile } from './dag-walk.ts'
import { writeBlockInTurn } from './block-writer.ts'
import { BlockStreamError } from '../errors.ts'
import { createFairTurns } from './fair-turns.ts'

const HERE = new Uint8Array([0])
const NOT_HERE = new Uint8Array([1])

export { BlockStreamError }

/** True when `bytes` are the block `cid` names: a raw or dag-pb block whose SHA-256 is the CID's digest. */
export function blockMatches (cid: CID, bytes: Uint8Array): boolean {
  if (cid.code !== raw.code && cid.code !== dagPb.code) return false
  if (cid.multihash.code !== sha256.code) return false
  return equals(createHash('sha256').update(bytes).digest(), cid.multihash.digest)
}

/**
 * Frames over `stream`. Incoming bytes the reader has not taken yet are bounded by the flow
 * control of the session (it pauses the stream, and yamux then withholds window updates) plus
 * what the sender may still have in flight: at most yamux's largest window (16 MiB).
 */
const framesOf = (stream: Stream): LengthPrefixedStream<Stream> => {
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, BLOCK_STREAM_BUFFER_BYTES)
  return lpStream(stream, { maxDataLength: BLOCK_STREAM_MAX_FRAME, maxBufferSize: BLOCK_STREAM_BUFFER_BYTES })
}

/** What the serving side needs: the member check and this disk's blocks only (never a fetch). */
export interface BlockServerComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  members: Pick<MemberSource, 'isMember'>
  logger: Logger
  /** The local bytes of a block, or undefined when it is not on this disk. */
  local(cid: CID): Promise<Uint8Array | undefined>
  /**
   * Deadline (ms) for the reader's request and for the connection to take each frame. A reader
   * that pauses its stream is waited for (block-writer.ts): it holds one block here.
   */
  timeoutMs: number
}

/** Registers the protocol handler; returns the function that removes it. */
export async function serveBlockStreams (c: BlockServerComponents): Promise<() => Promise<void>> {
  const log = c.logger.child({ module: 'storage:block-stream' })
  const localOnly: GetBlock = async (cid) => {
    const bytes = await c.local(cid)
    if (bytes === undefined) throw new BlockStreamError('STREAM_PROTOCOL', 'a block of the file is not on this disk')
    return bytes
  }
  const turns = createFairTurns()
  const serve = async (stream: Stream, connection: Connection): Promise<void> => {
    if (!isMemberPeer(c.members, connection.remotePeer)) {
      stream.abort(new NotMemberPeerError('block streams are for members only'))
      return
    }
    const lp = framesOf(stream)
    const io = (): AbortSignal => AbortSignal.timeout(c.timeoutMs)
    // A reader that leaves gives up its place in the turn queue at once.
    const left = new AbortController()
    stream.addEventListener('close', () => left.abort(new BlockStreamError('STREAM_PROTOCOL', 'the reader left')), { once: true })
    try {
      let root: CID
      try {
        root = CID.decode((await lp.read({ signal: io() })).subarray())
      } catch (err) {
        throw new BlockStreamError('STREAM_PROTOCOL', 'the request is not a CID', { cause: err })
      }
      if (await c.local(root) === undefined) {
        await lp.write(NOT_HERE, { signal: io() })
        await stream.close({ signal: io() })
        return
      }
      await lp.write(HERE, { signal: io() })
      for await (const block of walkFile(root, localOnly, { ahead: BLOCK_STREAM_SERVE_AHEAD })) {
        // One block per turn, then the other reads on this connection take theirs (block-writer.ts).
        await writeBlockInTurn(stream, block.cid, block.bytes, { turns, connectionId: connection.id, deadline: io, left: left.signal })
      }
      await stream.close({ signal: io() })
    } catch (err) {
      // A reader that left early (its read was aborted or done) is the usual case: debug only.
      log.debug({ peer: connection.remotePeer.toString(), code: codeOf(err) }, 'block stream ended early')
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }
  await c.libp2p.handle(BLOCK_STREAM_PROTOCOL, serve, { maxInboundStreams: 64, maxOutboundStreams: 64 })
  return async () => { await c.libp2p.unhandle(BLOCK_STREAM_PROTOCOL).catch(() => undefined) }
}

/** One reader's stream of a file's blocks from one member. */
export interface BlockSession {
  /**
   * The bytes of `cid` once the stream brings them (already checked against the CID), or
   * undefined when this session cannot: it ended, failed, or no member holds the file.
   */
  get(cid: CID, signal: AbortSignal): Promise<Uint8Array | undefined>
  /** The bytes of `cid` if the stream has already brought them (checked), taken from the session; else undefined. */
  take(cid: CID): Uint8Array | undefined
  /** Ends the session and its stream (the reader is done or aborted). */
  close(): void
  /** Why the session stopped serving, once it has: a stable code, for logs and tests. */
  readonly stopped: string | null
}

/** What a reading session needs. */
export interface SessionComponents {
  libp2p: Pick<Libp2p, 'dialProtocol'>
  logger: Logger
  /** Members to ask, in order, until one holds the file. */
  peers: PeerId[]
}

/** Options of one session. */
export interface SessionOptions {
  /** Bytes received ahead of the reader before the session stops reading the stream (flow control does the rest). */
  windowBytes: number
  /** Time the next block may take to arrive before the session gives up (ms). */
  timeoutMs: number
}

/** Opens a session for the file `root`: asks `peers` in turn and streams from the first that holds it. */
export function openBlockSession (root: CID, opts: SessionOptions, c: SessionComponents): BlockSession {
  const log = c.logger.child({ module: 'storage:block-stream' })
  const closing = new AbortController()
  const arrived = new Map<string, Uint8Array>()
  const waiters = new Map<string, Array<(bytes: Uint8Array | undefined) => void>>()
  let buffered = 0
  /**
   * The blocks still to come, in the order the member must send them (the file order of walkFile):
   * an inner node is replaced by its links when it arrives. Since every block is checked against
   * its CID, the root fixes the whole sequence, and a member can send nothing else.
   */
  const expected: CID[] = [root]
  let stopped: string | null = null
  let stream: Stream | undefined
  let resume: (() => void) | null = null
  /** When the stream last brought a block (or opened): a stall is measured from here, not from each ask. */
  let progress = performance.now()

  const keyOf = (cid: CID): string => toHex(cid.multihash.bytes)

  const stop = (code: string, err?: unknown): void => {
    if (stopped !== null) return
    stopped = code
    for (const list of waiters.values()) for (const w of list) w(undefined)
    waiters.clear()
    resume?.()
    if (stream !== undefined) {
      if (code === 'DONE') stream.close().catch(() => {})
      else stream.abort(err instanceof Error ? err : new BlockStreamError('STREAM_PROTOCOL', code))
    }
  }

  const deliver = (cid: CID, bytes: Uint8Array): void => {
    const key = keyOf(cid)
    const list = waiters.get(key)
    if (list !== undefined) {
      waiters.delete(key)
      for (const w of list) w(bytes)
      return
    }
    if (arrived.has(key)) return
    arrived.set(key, bytes)
    buffered += bytes.byteLength
  }

  const connect = async (): Promise<LengthPrefixedStream<Stream> | undefined> => {
    for (const peer of c.peers) {
      if (closing.signal.aborted) return undefined
      let s: Stream | undefined
      // The opening has a deadline, the stream does not: libp2p may keep the dial's signal for
      // the stream's protocol negotiation, so a timeout signal there would cut a long read off.
      const opening = new AbortController()
      const deadline = setTimeout(() => opening.abort(new BlockStreamError('STREAM_STALLED', 'the member did not answer in time')), opts.timeoutMs)
      const signal = AbortSignal.any([closing.signal, opening.signal])
      try {
        s = await c.libp2p.dialProtocol(peer, BLOCK_STREAM_PROTOCOL, { signal })
        const lp = framesOf(s)
        await lp.write(root.bytes, { signal })
        const status = (await lp.read({ signal })).subarray()
        clearTimeout(deadline)
        if (status.length === 1 && status[0] === HERE[0]) {
          stream = s
          return lp
        }
        await s.close().catch(() => {})
      } catch (err) {
        s?.abort(err instanceof Error ? err : new Error(String(err)))
        log.debug({ peer: peer.toString(), code: codeOf(err) }, 'a member could not stream a file')
      } finally {
        clearTimeout(deadline)
      }
    }
    return undefined
  }

  const pump = async (): Promise<void> => {
    const lp = await connect()
    if (lp === undefined) return stop('NOT_HELD')
    progress = performance.now()
    while (stopped === null) {
      // Pauses while the reader lags by a window and does not wait for the very next block (a
      // read ahead of it, such as the next inner node of a large file, does not count): the paused
      // stream sends no window updates, so flow control holds the member back and memory stays bounded.
      const lagging = (): boolean => buffered >= opts.windowBytes && !(expected.length > 0 && waiters.has(keyOf(expected[0])))
      if (lagging()) {
        stream?.pause()
        while (stopped === null && lagging()) await new Promise<void>(resolve => { resume = resolve })
        resume = null
        // A pause the reader asked for is not a stall: the deadline counts from here.
        progress = performance.now()
        if (stopped === null) stream?.resume()
      }
      if (stopped !== null) return
      let cidBytes: Uint8Array
      try {
        cidBytes = (await lp.read({ signal: closing.signal })).subarray()
      } catch (err) {
        // EOF after the last block is the normal end; a reader that closed sees an abort.
        return stop((err as Error).name === 'UnexpectedEOFError' ? 'DONE' : codeOf(err), err)
      }
      const bytes = (await lp.read({ signal: closing.signal })).subarray()
      let cid: CID
      try {
        cid = CID.decode(cidBytes)
      } catch (err) {
        throw new BlockStreamError('STREAM_PROTOCOL', 'a frame is not a CID', { cause: err })
      }
      if (!blockMatches(cid, bytes)) throw new BlockStreamError('CID_MISMATCH', `a member sent bytes that are not block ${cid.toString()}`)
      const next = expected[0]
      if (next === undefined || next.code !== cid.code || keyOf(next) !== keyOf(cid)) {
        throw new BlockStreamError('STREAM_PROTOCOL', 'a member sent a block out of the file\'s order, or not of this file')
      }
      let links: CID[]
      try {
        links = fileNode(cid, bytes).links
      } catch (err) {
        throw new BlockStreamError('STREAM_PROTOCOL', 'a member streamed a block that is not part of a file', { cause: err })
      }
      expected.splice(0, 1, ...links)
      progress = performance.now()
      deliver(cid, bytes)
    }
  }

  pump().catch((err: unknown) => {
    if (!closing.signal.aborted) log.warn({ code: codeOf(err) }, 'block stream refused; the read goes on over bitswap')
    stop(codeOf(err), err)
  })

  const take = (cid: CID): Uint8Array | undefined => {
    const key = keyOf(cid)
    const held = arrived.get(key)
    if (held === undefined) return undefined
    arrived.delete(key)
    buffered -= held.byteLength
    resume?.()
    return held
  }

  return {
    get stopped () { return stopped },
    take,
    async get (cid, signal) {
      const held = take(cid)
      if (held !== undefined) return held
      if (stopped !== null) return undefined
      const key = keyOf(cid)
      return await new Promise<Uint8Array | undefined>((resolve) => {
        // Blocks asked for far ahead wait their turn on a busy stream: only a stream that brings
        // nothing for the whole deadline counts as stalled.
        let timer: ReturnType<typeof setTimeout>
        const watch = (): void => {
          const idle = performance.now() - progress
          if (idle >= opts.timeoutMs) stop('STREAM_STALLED', new BlockStreamError('STREAM_STALLED', 'the block stream stalled'))
          else timer = setTimeout(watch, opts.timeoutMs - idle)
        }
        timer = setTimeout(watch, opts.timeoutMs)
        const onAbort = (): void => done(undefined)
        const done = (bytes: Uint8Array | undefined): void => {
          clearTimeout(timer)
          signal.removeEventListener('abort', onAbort)
          resolve(bytes)
        }
        signal.addEventListener('abort', onAbort, { once: true })
        const list = waiters.get(key) ?? []
        list.push(done)
        waiters.set(key, list)
        resume?.()
      })
    },
    close () {
      closing.abort()
      stop('CLOSED')
      arrived.clear()
      buffered = 0
    }
  }
}
