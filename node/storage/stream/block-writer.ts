// How the serving member writes a block stream's blocks (block-stream.ts): one block per turn
// among the block streams of its connection (fair-turns.ts), as two length-prefixed frames (the
// CID, then the bytes: what @libp2p/utils lpStream reads on the other side), and no next block
// until this one has left the stream, so a reader that paused holds at most one block here.
import type { Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { varint } from 'multiformats'
import { BlockStreamError } from '../errors.ts'
import type { FairTurns } from './fair-turns.ts'

/** The length prefix (unsigned varint) of a frame of `length` bytes. */
function prefix (length: number): Uint8Array {
  const out = new Uint8Array(varint.encodingLength(length))
  varint.encodeTo(length, out)
  return out
}

/**
 * Resolves at the stream's next 'drain' (the connection or the reader's window took more bytes)
 * or 'idle' (its buffer emptied); rejects when it closes first or `signal` aborts. Not
 * Stream.onDrain: @libp2p/utils 7.4.1 keeps its first drain promise resolved for good.
 */
async function nextDrain (stream: Stream, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  if (stream.status !== 'open') throw new BlockStreamError('STREAM_PROTOCOL', `the stream is ${stream.status}`)
  await new Promise<void>((resolve, reject) => {
    const settle = (err?: unknown): void => {
      stream.removeEventListener('drain', drained)
      stream.removeEventListener('idle', drained)
      stream.removeEventListener('close', closed)
      signal.removeEventListener('abort', aborted)
      if (err === undefined) resolve()
      else reject(err)
    }
    const drained = (): void => { settle() }
    const closed = (): void => { settle(new BlockStreamError('STREAM_PROTOCOL', 'the stream closed')) }
    const aborted = (): void => { settle(signal.reason) }
    stream.addEventListener('drain', drained)
    stream.addEventListener('idle', drained)
    stream.addEventListener('close', closed)
    signal.addEventListener('abort', aborted, { once: true })
  })
}

/** What one write needs: the turns of the member's connections, a deadline, and the reader's leaving. */
export interface BlockWriterOptions {
  turns: FairTurns
  /** The connection the stream runs on: turns are per connection. */
  connectionId: string
  /** A fresh deadline for the connection to take a block (the per-frame write deadline). */
  deadline: () => AbortSignal
  /** Aborts when the stream closes: the reader is done or gone. */
  left: AbortSignal
}

/**
 * Writes the frames of one block when its turn comes. The turn lasts until the connection has
 * taken the block (it drains, within the deadline), so the next stream's block goes after this
 * one, not before or interleaved. A block the stream cannot hand over at once (the reader's
 * flow-control window is shut, or the connection was already full) gives the turn up at once, so
 * a paused reader never holds the others up; then the write waits, outside the turn, until the
 * block has left. That wait has no deadline: the reader chose to pause (its own consumer lags),
 * it costs this member one block, and it ends when the reader reads on or closes the stream.
 * Waiting for a turn has none either: every turn ends by its own deadline.
 */
export async function writeBlockInTurn (stream: Stream, cid: CID, bytes: Uint8Array, o: BlockWriterOptions): Promise<void> {
  const release = await o.turns.take(o.connectionId, o.left)
  try {
    const head = new Uint8Array([...prefix(cid.bytes.byteLength), ...cid.bytes, ...prefix(bytes.byteLength)])
    stream.send(head)
    const room = stream.send(bytes)
    if (!room && stream.writeBufferLength === 0) await nextDrain(stream, AbortSignal.any([o.deadline(), o.left]))
  } finally {
    release()
  }
  while (stream.writeBufferLength > 0) await nextDrain(stream, o.left)
}
