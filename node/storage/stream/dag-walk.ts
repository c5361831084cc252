// Walks the blocks of one unixfs file in file order (depth first, children left to right), with a
// look-ahead of many blocks in flight, and yields each block with the file bytes it carries. Both
// sides of a read use it: the reader over local, streamed or bitswap blocks, and the member that
// serves a block stream over its own disk, so both agree on the order blocks travel in.
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { AbortedError, InvalidContentError } from '../errors.ts'

/** Where a walk gets a block's bytes; whoever fetched them has checked them against the CID. */
export type GetBlock = (cid: CID, signal: AbortSignal) => Promise<Uint8Array>

/** One block of the file, in file order, with the file bytes it carries (possibly none). */
export interface WalkedBlock { cid: CID, bytes: Uint8Array, data: Uint8Array }

/** Options of walkFile. */
export interface WalkOptions {
  /** Blocks fetched ahead of the one being yielded (at least 1). */
  ahead: number
  signal?: AbortSignal
}

/** Deeper DAGs than this are refused: our importer builds two or three levels for any image. */
const MAX_DEPTH = 32

interface Entry { cid: CID, depth: number, bytes?: Promise<Uint8Array> }

/** The file bytes of a block and the links to its children; INVALID for anything but a file. */
export function fileNode (cid: CID, bytes: Uint8Array): { data: Uint8Array, links: CID[] } {
  if (cid.code === raw.code) return { data: bytes, links: [] }
  if (cid.code !== dagPb.code) throw new InvalidContentError(`not a unixfs file: codec 0x${cid.code.toString(16)}`)
  let node: dagPb.PBNode
  let fs: UnixFS
  try {
    node = dagPb.decode(bytes)
    if (node.Data === undefined) throw new Error('no unixfs data')
    fs = UnixFS.unmarshal(node.Data)
  } catch (err) {
    throw new InvalidContentError('not a unixfs file: the node does not decode', { cause: err })
  }
  if (fs.type !== 'file' && fs.type !== 'raw') throw new InvalidContentError(`expected a file, got a unixfs ${fs.type}`)
  return { data: fs.data ?? new Uint8Array(0), links: node.Links.map(l => l.Hash) }
}

/**
 * Yields the file's blocks in order. Up to `ahead` blocks are being fetched at any time, in the
 * order they will be needed; an inner node's children take its place in the queue once it
 * arrives. Stopping early (return, throw, abort) stops every fetch through the walk's signal.
 */
export async function * walkFile (root: CID, get: GetBlock, options: WalkOptions): AsyncGenerator<WalkedBlock> {
  const controller = new AbortController()
  const signal = options.signal === undefined ? controller.signal : AbortSignal.any([controller.signal, options.signal])
  const ahead = Math.max(1, options.ahead)
  const queue: Entry[] = [{ cid: CID.asCID(root) ?? root, depth: 0 }]
  const launch = (): void => {
    for (let i = 0; i < queue.length && i < ahead; i++) {
      const e = queue[i]
      if (e.bytes !== undefined) continue
      e.bytes = get(e.cid, signal)
      // Handled when the entry reaches the head; this keeps an abandoned fetch from going unhandled.
      e.bytes.catch(() => {})
    }
  }
  try {
    while (queue.length > 0) {
      launch()
      const head = queue[0]
      const bytes = await (head.bytes as Promise<Uint8Array>)
      if (signal.aborted) throw new AbortedError('the read was aborted')
      const { data, links } = fileNode(head.cid, bytes)
      if (links.length > 0 && head.depth >= MAX_DEPTH) throw new InvalidContentError(`not a unixfs file: deeper than ${MAX_DEPTH} levels`)
      queue.splice(0, 1, ...links.map(cid => ({ cid, depth: head.depth + 1 })))
      yield { cid: head.cid, bytes, data }
    }
  } finally {
    controller.abort()
  }
}
