// The in-memory index of every member chain held: hash, causal order key and time per height.
// Loaded from the `m:` keys at start so validation never reads level for chain positions. A
// staged overlay holds a group's appends until its batch is durable, so memory never leads disk.
import { equals, toHex } from '../protocol/bytes.ts'
import type { BlockHeader, Link } from '../protocol/block.ts'
import type { Head } from './types.ts'

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

/**
 * All chains held, by hex author key. `new Chains(base)` is a staged overlay: it reads through to
 * `base`, keeps its own pushes (on copies of the chains they touch), and `commit()` hands them to
 * `base` at once; an overlay that is dropped leaves `base` as it was.
 */
export class Chains {
  readonly #chains = new Map<string, ChainMeta>()
  readonly #base: Chains | null

  constructor (base: Chains | null = null) {
    this.#base = base
  }

  get (author: Uint8Array | string): ChainMeta | undefined {
    const key = typeof author === 'string' ? author : toHex(author)
    return this.#chains.get(key) ?? this.#base?.get(key)
  }

  /** Height of the newest block of `author`, or -1. */
  headHeight (author: Uint8Array | string): number {
    return (this.get(author)?.hashes.length ?? 0) - 1
  }

  /** True when the block of `author` at `height` is held and has `hash`. */
  holds (author: Uint8Array, height: number, hash: Uint8Array): boolean {
    const h = this.get(author)?.hashes[height]
    return h !== undefined && equals(h, hash)
  }

  /** Records a newly appended block (the next height of its author). */
  push (header: BlockHeader, hash: Uint8Array): void {
    const key = toHex(header.author)
    let chain = this.#chains.get(key)
    if (chain === undefined) {
      // An overlay copies the base chain once: readers of the base never see a staged block.
      const held = this.#base?.get(key)
      chain = held === undefined
        ? { author: header.author, hashes: [], orders: [], times: [], lastLinks: [] }
        : { author: held.author, hashes: held.hashes.slice(), orders: held.orders.slice(), times: held.times.slice(), lastLinks: held.lastLinks }
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

  /** Moves an overlay's staged chains into its base (once their batch is durable). */
  commit (): void {
    if (this.#base === null) return
    for (const [key, chain] of this.#chains) this.#base.#chains.set(key, chain)
    this.#chains.clear()
  }

  heads (): Head[] {
    return this.all().map(c => ({ author: c.author, height: c.hashes.length - 1, hash: c.hashes[c.hashes.length - 1] }))
  }

  all (): ChainMeta[] {
    if (this.#base === null) return [...this.#chains.values()]
    const merged = new Map(this.#base.all().map(c => [toHex(c.author), c]))
    for (const [key, chain] of this.#chains) merged.set(key, chain)
    return [...merged.values()]
  }

  /** Total blocks held. */
  size (): number {
    let n = 0
    for (const c of this.all()) n += c.hashes.length
    return n
  }
}
