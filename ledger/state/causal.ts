// A block's causal past as its own header states it: the earlier blocks of its author's chain and,
// for every other chain, the blocks up to the height it links. Rules that compare a transaction
// with what is already on the ledger (a reused seq, a consent naming a grantee or an image) judge
// against this past only, so every peer that holds the block's dependencies reaches the same
// verdict, whatever else it happens to hold and whatever order the blocks arrived in.
import { compare, equals } from '../../protocol/bytes.ts'
import { decode } from '../../protocol/codec.ts'
import type { Link } from '../../protocol/chain/block.ts'
import { HASH_BYTES } from '../../protocol/constants.ts'
import { K } from '../store/keys.ts'
import type { TxLocations } from '../data-types.ts'

/** What the rules know of the block a transaction sits in (or, at submission, will sit in). */
export interface BlockContext {
  author: Uint8Array
  height: number
  time: number
  links: Link[]
}

/** Reads state synchronously after `prefetch` (BatchWriter is one). */
export interface PrefetchView {
  get(key: string): Uint8Array | undefined
  prefetch(keys: string[]): Promise<void>
}

/** True when the block at (`author`, `height`) is in the causal past of the block `ctx` describes. */
export function inCausalPast (author: Uint8Array, height: number, ctx: BlockContext): boolean {
  if (equals(author, ctx.author)) return height < ctx.height
  const link = ctx.links.find(l => equals(l.author, author))
  return link !== undefined && height <= link.height
}

/** True when some location of transaction `txId` is in the causal past of `ctx` (its `t:` key prefetched). */
export function txInCausalPast (view: PrefetchView, txId: Uint8Array, ctx: BlockContext): boolean {
  const bytes = view.get(K.tx(txId))
  if (bytes === undefined) return false
  return (decode(bytes) as TxLocations).some(([author, height]) => inCausalPast(author, height, ctx))
}

/** Splits an id-list value (concatenated 32-byte transaction ids, see `addTxId`) into ids. */
export function txIdsOf (value: Uint8Array | undefined): Uint8Array[] {
  if (value === undefined) return []
  const out: Uint8Array[] = []
  for (let i = 0; i + HASH_BYTES <= value.length; i += HASH_BYTES) out.push(value.subarray(i, i + HASH_BYTES))
  return out
}

/**
 * Adds `id` to an id-list index value: the sorted, concatenated ids of every transaction that
 * used one (signer, seq), or that recorded one image for one patient. All of them are kept, not
 * only the lowest, so a rule can ask whether any of them is in a block's causal past (causal.ts).
 */
export function addTxId (w: { get(key: string): Uint8Array | undefined, put(key: string, value: Uint8Array): void }, key: string, id: Uint8Array): void {
  const ids = txIdsOf(w.get(key))
  if (ids.some(x => compare(x, id) === 0)) return
  ids.push(id)
  ids.sort(compare)
  const out = new Uint8Array(ids.length * id.length)
  ids.forEach((x, i) => out.set(x, i * id.length))
  w.put(key, out)
}
