// A bounded buffer for blocks that arrived before a block they depend on (their prev, or a
// block they link). When the dependency is appended, the waiting blocks are released and tried
// again; when the room is full the oldest block is dropped and sync will offer it again.
import { toHex } from '../protocol/bytes.ts'
import type { Block } from '../protocol/block.ts'

/** Blocks waiting for dependencies named `authorHex:height`. */
export class WaitingRoom {
  readonly #max: number
  readonly #blocks = new Map<string, { block: Block, deps: string[] }>()
  readonly #byDep = new Map<string, Set<string>>()

  constructor (max: number) {
    this.#max = max
  }

  get size (): number {
    return this.#blocks.size
  }

  /** Parks a block until one of `deps` arrives; evicts the oldest block beyond the bound. */
  add (block: Block, deps: string[]): void {
    const id = toHex(block.hash)
    this.#remove(id)
    this.#blocks.set(id, { block, deps })
    for (const dep of deps) {
      let set = this.#byDep.get(dep)
      if (set === undefined) this.#byDep.set(dep, set = new Set())
      set.add(id)
    }
    while (this.#blocks.size > this.#max) {
      const oldest = this.#blocks.keys().next().value
      if (oldest === undefined) break
      this.#remove(oldest)
    }
  }

  /** Removes and returns the blocks waiting for `author` at `height`. */
  release (author: Uint8Array, height: number): Block[] {
    const ids = this.#byDep.get(`${toHex(author)}:${height}`)
    if (ids === undefined) return []
    const out: Block[] = []
    for (const id of [...ids]) {
      const entry = this.#blocks.get(id)
      if (entry !== undefined) out.push(entry.block)
      this.#remove(id)
    }
    return out.sort((a, b) => a.header.height - b.header.height)
  }

  #remove (id: string): void {
    const entry = this.#blocks.get(id)
    if (entry === undefined) return
    this.#blocks.delete(id)
    for (const dep of entry.deps) {
      const set = this.#byDep.get(dep)
      set?.delete(id)
      if (set?.size === 0) this.#byDep.delete(dep)
    }
  }
}
