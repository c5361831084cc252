// A bounded buffer for blocks that arrived before a block they depend on (their prev, or a
// block they link). When the dependency is appended, the waiting blocks are released and tried
// again; when the room is full the oldest block is dropped and sync will offer it again.
import { toHex } from '../../protocol/bytes.ts'
import type { Block } from '../../protocol/chain/block.ts'

/** Blocks waiting for dependencies named `authorHex:height`. */
export class WaitingRoom {
  readonly #max: number
  readonly #maxBytes: number
  readonly #maxPerAuthor: number
  readonly #blocks = new Map<string, { block: Block, deps: string[] }>()
  readonly #byDep = new Map<string, Set<string>>()
  readonly #perAuthor = new Map<string, number>()
  #bytes = 0

  /** Bounds: blocks in all, bytes in all (default 64 MiB), blocks of one author (default a quarter). */
  constructor (max: number, maxBytes = 64 * 1024 * 1024, maxPerAuthor = Math.max(1, Math.floor(max / 4))) {
    this.#max = max
    this.#maxBytes = maxBytes
    this.#maxPerAuthor = maxPerAuthor
  }

  get size (): number {
    return this.#blocks.size
  }

  /**
   * Parks a block until one of `deps` arrives; evicts the oldest blocks beyond the bounds. An
   * author already holding its share of the room gets no more places (sync offers them again).
   */
  add (block: Block, deps: string[]): void {
    const id = toHex(block.hash)
    this.#remove(id)
    const author = toHex(block.header.author)
    if ((this.#perAuthor.get(author) ?? 0) >= this.#maxPerAuthor || block.bytes.length > this.#maxBytes) return
    this.#perAuthor.set(author, (this.#perAuthor.get(author) ?? 0) + 1)
    this.#bytes += block.bytes.length
    this.#blocks.set(id, { block, deps })
    for (const dep of deps) {
      let set = this.#byDep.get(dep)
      if (set === undefined) this.#byDep.set(dep, set = new Set())
      set.add(id)
    }
    while (this.#blocks.size > this.#max || this.#bytes > this.#maxBytes) {
      const oldest = this.#blocks.keys().next().value
      if (oldest === undefined) break
      this.#remove(oldest)
    }
  }

  /** Removes and returns the blocks waiting for `author` at `height`. */
  release (author: Uint8Array, height: number): Block[] {
    return this.releaseKey(`${toHex(author)}:${height}`)
  }

  /** Removes and returns the blocks waiting for dependency `key` (e.g. `hash:<hex>`). */
  releaseKey (key: string): Block[] {
    const ids = this.#byDep.get(key)
    if (ids === undefined) return []
    const out: Block[] = []
    for (const id of [...ids]) {
      const entry = this.#blocks.get(id)
      if (entry !== undefined) out.push(entry.block)
      this.#remove(id)
    }
    return out.sort((a, b) => a.header.height - b.header.height)
  }

  /** Removes and returns the blocks waiting for a block of `author` above `height` (once such blocks are refused, not awaited). */
  releaseAbove (author: Uint8Array, height: number): Block[] {
    const prefix = `${toHex(author)}:`
    const keys = [...this.#byDep.keys()].filter(k => k.startsWith(prefix) && Number(k.slice(prefix.length)) > height)
    return keys.flatMap(k => this.releaseKey(k)).sort((a, b) => a.header.height - b.header.height)
  }

  #remove (id: string): void {
    const entry = this.#blocks.get(id)
    if (entry === undefined) return
    this.#blocks.delete(id)
    this.#bytes -= entry.block.bytes.length
    const author = toHex(entry.block.header.author)
    const n = (this.#perAuthor.get(author) ?? 1) - 1
    if (n === 0) this.#perAuthor.delete(author)
    else this.#perAuthor.set(author, n)
    for (const dep of entry.deps) {
      const set = this.#byDep.get(dep)
      set?.delete(id)
      if (set?.size === 0) this.#byDep.delete(dep)
    }
  }
}
