// Read-side of the ledger: blocks by position or hash, inclusion proofs, the blocks a syncing
// peer lacks, evidence, and the state root over the canonical `s:` keyspace.
import { createHash } from 'node:crypto'
import { decodeBlock } from '../../protocol/chain/block.ts'
import type { Block } from '../../protocol/chain/block.ts'
import { equals, toHex } from '../../protocol/bytes.ts'
import { decode } from '../../protocol/codec.ts'
import { inclusionPath } from '../../protocol/chain/merkle.ts'
import type { InclusionProof } from '../../protocol/chain/proof.ts'
import type { Chains } from '../state/chains.ts'
import { K } from '../store/keys.ts'
import type { TxLocations } from '../state/state.ts'
import type { LedgerStore } from '../store/store.ts'
import type { Evidence, Head, TxLocation } from '../data-types.ts'

/** The block of `author` at `height`, decoded, or undefined. */
export async function readBlock (store: LedgerStore, author: Uint8Array, height: number): Promise<Block | undefined> {
  const bytes = await store.get(K.block(author, height))
  return bytes === undefined ? undefined : decodeBlock(bytes)
}

/** The block with header hash `hash`, or undefined. */
export async function readBlockByHash (store: LedgerStore, hash: Uint8Array): Promise<Block | undefined> {
  const loc = await store.get(K.byHash(hash))
  if (loc === undefined) return undefined
  const [author, height] = decode(loc) as [Uint8Array, number]
  return await readBlock(store, author, height)
}

/** Blocks of one author from `from`, at most `limit`. */
export async function readBlocks (store: LedgerStore, chains: Chains, author: Uint8Array, from: number, limit: number): Promise<Block[]> {
  const head = chains.headHeight(author)
  const keys: string[] = []
  for (let h = from; h <= head && keys.length < limit; h++) keys.push(K.block(author, h))
  const values = await store.getMany(keys)
  return values.filter((v): v is Uint8Array => v !== undefined).map(b => decodeBlock(b))
}

/** A transaction's first location and its inclusion proof. */
export async function readTx (store: LedgerStore, id: Uint8Array): Promise<{ location: TxLocation, proof: InclusionProof } | undefined> {
  const known = await store.get(K.tx(id))
  if (known === undefined) return undefined
  const [author, height, i] = (decode(known) as TxLocations)[0]
  const block = await readBlock(store, author, height)
  if (block === undefined) return undefined
  const leaves = block.txs.map(t => t.bytes)
  return {
    location: { txId: id, blockHash: block.hash, author, height, index: i },
    proof: { header: block.header, sig: block.sig, index: i, path: inclusionPath(leaves, i), tx: leaves[i] }
  }
}

/**
 * The blocks a peer with heads `theirs` lacks, sorted by causal order key so the receiver can
 * append them in turn. Where their head differs from ours at the same height, our block at that
 * height goes first: the receiver then holds equivocation evidence.
 */
export async function readBlocksAfter (store: LedgerStore, chains: Chains, theirs: Head[], limit: number): Promise<Uint8Array[]> {
  const theirHeight = new Map(theirs.map(h => [toHex(h.author), h]))
  const wanted: Array<{ order: number, author: string, height: number }> = []
  for (const chain of chains.all()) {
    const authorHex = toHex(chain.author)
    // Committed blocks only: during a group commit the arrays also hold its staged blocks.
    const length = chains.headHeight(authorHex) + 1
    const their = theirHeight.get(authorHex)
    let from = their === undefined ? 0 : their.height + 1
    if (their !== undefined && their.height < length && !equals(chain.hashes[their.height], their.hash)) {
      from = their.height
    }
    for (let h = from; h < length; h++) wanted.push({ order: chain.orders[h], author: authorHex, height: h })
  }
  wanted.sort((a, b) => a.order - b.order || (a.author < b.author ? -1 : a.author > b.author ? 1 : 0) || a.height - b.height)
  const keys = wanted.slice(0, limit).map(w => K.block(w.author, w.height))
  const values = await store.getMany(keys)
  return values.filter((v): v is Uint8Array => v !== undefined)
}

/** All equivocation evidence held. */
export async function readEvidence (store: LedgerStore): Promise<Evidence[]> {
  const out: Evidence[] = []
  for await (const [, value] of store.entries(K.evidencePrefix)) {
    const e = decode(value) as { author: Uint8Array, height: number, blocks: [Uint8Array, Uint8Array] }
    out.push({ author: e.author, height: e.height, blocks: e.blocks })
  }
  return out
}

/**
 * SHA-256 over every canonical state entry in key order, each as
 * len(key) ‖ key ‖ len(value) ‖ value with 4-byte big-endian lengths.
 */
export async function computeStateRoot (store: LedgerStore): Promise<Uint8Array> {
  const hash = createHash('sha256')
  const len = Buffer.alloc(4)
  for await (const [key, value] of store.entries(K.statePrefix)) {
    const k = Buffer.from(key, 'utf8')
    len.writeUInt32BE(k.length)
    hash.update(len)
    hash.update(k)
    len.writeUInt32BE(value.length)
    hash.update(len)
    hash.update(value)
  }
  return new Uint8Array(hash.digest())
}
