// The in-memory index of every member chain held: hash, causal order key and time per height.
// Loaded from the `m:` keys at start so validation never reads level for chain positions. A
// group's appends are staged until its batch is durable, so readers never see memory lead disk.
import { equals, toHex } from '../../protocol/bytes.ts'
import type { BlockHeader, Link } from '../../protocol/chain/block.ts'
import type { Head } from '../data-types.ts'

/** One author's chain as held locally. */
export interface ChainMeta {
  author: Uint8Array
  hashes: Uint8Array[]
  orders: number[]
  times: number[]
  /** Links of the newest block: the next block's links must not go backwards. */
  lastLinks: Link[]
}

/**
 * Causal order key of a block: Σ (height + 1) over its own height and its links. If block A is
 * in B's causal past, A's key is strictly smaller, so sorting by (key, author, height) is a
 * deterministic linear extension of causality.
 */
export function orderOf (header: BlockHeader): number {
  let order = header.height + 1
  for (const link of header.links) order += link.height + 1
  return order
}

/** Where a chain stood before the blocks staged on it: what a commit keeps and a rollback restores. */
interface Staged { length: number, lastLinks: Link[] }

/**
 * All chains held, by hex author key. `new Chains(base)` is the staged view of one group commit:
 * it appends onto the same arrays (no copy, so an append stays O(1) however long the chain), but
 * `base` reports only what was committed (heads, heights, size) until `commit()`; `rollback()`
 * cuts the staged blocks off again. One staged view exists at a time (appends are serial).
 */
export class Chains {
  readonly #chains: Map<string, ChainMeta>
  /** Chains with staged blocks, shared by a base and its staged view. */
  readonly #staged: Map<string, Staged>
  readonly #isStage: boolean

  constructor (base: Chains | null = null) {
    if (base !== null && base.#staged.size > 0) throw new Error('a group commit is already staged on these chains')
    this.#chains = base === null ? new Map() : base.#chains
    this.#staged = base === null ? new Map() : base.#staged
    this.#isStage = base !== null
  }

  /**
   * The chain of `author` with its arrays as they are: during a group commit they may run ahead
   * of the committed length by the staged blocks, so readers of the base use `headHeight`.
   */
  get (author: Uint8Array | string): ChainMeta | undefined {
    return this.#chains.get(typeof author === 'string' ? author : toHex(author))
  }

  /** Blocks of the chain this view sees: the staged view counts staged blocks, the base does not. */
  #length (key: string, chain: ChainMeta): number {
    return this.#isStage ? chain.hashes.length : (this.#staged.get(key)?.length ?? chain.hashes.length)
  }

  /** Height of the newest block of `author`, or -1. */
  headHeight (author: Uint8Array | string): number {
    const key = typeof author === 'string' ? author : toHex(author)
    const chain = this.#chains.get(key)
    return chain === undefined ? -1 : this.#length(key, chain) - 1
  }

  /** True when the block of `author` at `height` is held and has `hash`. */
  holds (author: Uint8Array, height: number, hash: Uint8Array): boolean {
    if (height > this.headHeight(author)) return false
    const h = this.get(author)?.hashes[height]
    return h !== undefined && equals(h, hash)
  }

  /** Records a newly appended block (the next height of its author); on a staged view, staged. */
  push (header: BlockHeader, hash: Uint8Array): void {
    const key = toHex(header.author)
    let chain = this.#chains.get(key)
    if (this.#isStage && !this.#staged.has(key)) this.#staged.set(key, { length: chain?.hashes.length ?? 0, lastLinks: chain?.lastLinks ?? [] })
    if (chain === undefined) {
      chain = { author: header.author, hashes: [], orders: [], times: [], lastLinks: [] }
      this.#chains.set(key, chain)
    }
    chain.hashes.push(hash)
    chain.orders.push(orderOf(header))
    chain.times.push(header.time)
    chain.lastLinks = header.links
  }

  /** Records a block while loading from the store, where links are filled in later. */
  load (author: Uint8Array, hash: Uint8Array, order: number, time: number): void {
    const key = toHex(author)
    let chain = this.#chains.get(key)
    if (chain === undefined) {
      chain = { author, hashes: [], orders: [], times: [], lastLinks: [] }
      this.#chains.set(key, chain)
    }
    chain.hashes.push(hash)
    chain.orders.push(order)
    chain.times.push(time)
  }

  /** Makes the staged blocks part of the chains (once their batch is durable). */
  commit (): void {
    this.#staged.clear()
  }

  /** Cuts the staged blocks off again (their batch failed, or was never written). */
  rollback (): void {
    for (const [key, was] of this.#staged) {
      const chain = this.#chains.get(key)
      if (chain === undefined) continue
      if (was.length === 0) {
        this.#chains.delete(key)
        continue
      }
      chain.hashes.length = was.length
      chain.orders.length = was.length
      chain.times.length = was.length
      chain.lastLinks = was.lastLinks
    }
    this.#staged.clear()
  }

  /** The head of every chain this view sees. */
  heads (): Head[] {
    const out: Head[] = []
    for (const [key, c] of this.#chains) {
      const length = this.#length(key, c)
      if (length > 0) out.push({ author: c.author, height: length - 1, hash: c.hashes[length - 1] })
    }
    return out
  }

  /** Every chain this view sees (for their lengths as seen here, use `headHeight`). */
  all (): ChainMeta[] {
    return [...this.#chains].filter(([key, c]) => this.#length(key, c) > 0).map(([, c]) => c)
  }

  /** Total blocks held, as this view sees them. */
  size (): number {
    let n = 0
    for (const [key, c] of this.#chains) n += this.#length(key, c)
    return n
  }
}
