// Round-robin turns among the block streams a member serves over one connection (docs/design.md §5
// Cross-hospital reads). Yamux hands the connection to its streams in the order they were opened
// whenever the socket drains, so without turns the oldest read with a block ready takes every
// drain and a read that starts later gets its first byte only when the older ones are done. With
// turns, each stream writes one block and queues again behind the others: a new read's first
// block waits for at most one block of each read already in flight.

/** Gives out turns per key (a connection's id), first come first served. */
export interface FairTurns {
  /**
   * Resolves once it is the caller's turn on `key`, with the function that ends the turn (safe
   * to call twice). Rejects with the signal's reason if it aborts first, and leaves the queue.
   */
  take(key: string, signal: AbortSignal): Promise<() => void>
  /** Keys with a turn held or waited for: empty when every caller has ended its turn. */
  readonly busy: number
}

interface Line { waiting: Array<() => void> }

/** Creates an empty set of turn queues. */
export function createFairTurns (): FairTurns {
  /** A key is here while someone holds its turn; `waiting` are those next, in order. */
  const lines = new Map<string, Line>()

  const releaseOf = (key: string, line: Line): (() => void) => {
    let done = false
    return () => {
      if (done) return
      done = true
      const next = line.waiting.shift()
      if (next === undefined) lines.delete(key)
      else next()
    }
  }

  return {
    get busy () { return lines.size },
    async take (key, signal) {
      signal.throwIfAborted()
      const line = lines.get(key)
      if (line === undefined) {
        const fresh: Line = { waiting: [] }
        lines.set(key, fresh)
        return releaseOf(key, fresh)
      }
      return await new Promise<() => void>((resolve, reject) => {
        const grant = (): void => {
          signal.removeEventListener('abort', onAbort)
          resolve(releaseOf(key, line))
        }
        const onAbort = (): void => {
          const at = line.waiting.indexOf(grant)
          if (at >= 0) line.waiting.splice(at, 1)
          reject(signal.reason)
        }
        signal.addEventListener('abort', onAbort, { once: true })
        line.waiting.push(grant)
      })
    }
  }
}
