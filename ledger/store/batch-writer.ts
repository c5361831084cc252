// The writes of one level batch, readable before they are written: what applying a block of
// transactions reads and writes through (state/state.ts and the rules it calls).
import type { LedgerStore, StoreOp } from './store.ts'

/**
 * Writes pending for one level batch, readable before they are written. A root writer holds a
 * group of blocks committed together; each block applies into a child writer that is merged into
 * the root only once the whole block has passed, so a rejected block leaves no trace.
 */
export class BatchWriter {
  readonly #store: LedgerStore
  readonly #root: BatchWriter | null
  readonly #pending = new Map<string, Uint8Array | null>()
  /** Values read ahead with one getMany (root only); `null` records a key known to be absent. */
  readonly #read = new Map<string, Uint8Array | null>()

  constructor (store: LedgerStore, root: BatchWriter | null = null) {
    this.#store = store
    this.#root = root
  }

  /** A writer whose writes reach this one only through `merge()`. */
  child (): BatchWriter {
    return new BatchWriter(this.#store, this)
  }

  /** Reads many keys in one round trip, so applying a block does not wait on level per key. */
  async prefetch (keys: string[]): Promise<void> {
    if (this.#root !== null) return await this.#root.prefetch(keys.filter(k => !this.#pending.has(k)))
    const wanted = [...new Set(keys)].filter(k => !this.#read.has(k) && !this.#pending.has(k))
    if (wanted.length === 0) return
    const values = await this.#store.getMany(wanted)
    wanted.forEach((k, i) => this.#read.set(k, values[i] ?? null))
  }

  /**
   * Reads a key written earlier in this batch or fetched by `prefetch`. Synchronous, so a block of
   * hundreds of transactions applies without an await per key; a key nobody fetched is a bug.
   */
  get (key: string): Uint8Array | undefined {
    const v = this.#pending.get(key)
    if (v === null) return undefined
    if (v !== undefined) return v
    if (this.#root !== null) return this.#root.get(key)
    const r = this.#read.get(key)
    if (r === undefined) throw new Error(`state key ${key.slice(0, 12)}… was read without being prefetched`)
    return r ?? undefined
  }

  /** Like `get`, but loads a key nobody prefetched (rare paths: equivocation). */
  async load (key: string): Promise<Uint8Array | undefined> {
    await this.prefetch([key])
    return this.get(key)
  }

  put (key: string, value: Uint8Array): void {
    this.#pending.set(key, value)
  }

  del (key: string): void {
    this.#pending.set(key, null)
  }

  /** Moves this child's writes into its root. */
  merge (): void {
    if (this.#root === null) return
    for (const [k, v] of this.#pending) this.#root.#pending.set(k, v)
    this.#pending.clear()
  }

  get size (): number {
    return this.#pending.size
  }

  ops (): StoreOp[] {
    return [...this.#pending].map(([key, value]) => value === null ? { type: 'del', key } : { type: 'put', key, value })
  }
}
