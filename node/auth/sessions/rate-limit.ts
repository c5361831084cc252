// A sliding-window log (one timestamp per event, per key) for throttling sign-in failures per
// account and per client IP. Kept in memory: limits reset when the peer restarts, which an
// attacker cannot trigger, and a restart costs an attacker nothing they could not get by waiting.
import type { Clock } from '../../../ledger/types.ts'
import { MAX_TRACKED_KEYS } from '../constants.ts'

/** Counts events per key over the last `windowMs` and refuses past `limit`. */
export class SlidingWindow {
  readonly #events = new Map<string, number[]>()
  readonly #limit: number
  readonly #windowMs: number
  readonly #clock: Clock
  readonly #maxKeys: number

  constructor (opts: { limit: number, windowMs: number, maxKeys?: number }, clock: Clock) {
    this.#limit = opts.limit
    this.#windowMs = opts.windowMs
    this.#maxKeys = opts.maxKeys ?? MAX_TRACKED_KEYS
    this.#clock = clock
  }

  /** Milliseconds until `key` may try again: 0 when it is under the limit now. */
  retryAfter (key: string): number {
    const now = this.#clock()
    const events = this.#live(key, now)
    if (events.length < this.#limit) return 0
    // The window frees a slot when its oldest event that keeps it at the limit ages out.
    return Math.max(1, events[events.length - this.#limit] + this.#windowMs - now)
  }

  /** Records one event for `key` now; returns its time, so a success can take it back with `forget`. */
  hit (key: string): number {
    const now = this.#clock()
    const events = this.#live(key, now)
    events.push(now)
    // Re-insert so the Map's order is least recently hit first, the order eviction uses.
    this.#events.delete(key)
    this.#events.set(key, events)
    while (this.#events.size > this.#maxKeys) {
      const oldest = this.#events.keys().next()
      if (oldest.done === true) break
      this.#events.delete(oldest.value)
    }
    return now
  }

  /** Removes one event recorded at `time` (a pessimistically counted attempt that succeeded). */
  forget (key: string, time: number): void {
    const events = this.#events.get(key)
    if (events === undefined) return
    const i = events.lastIndexOf(time)
    if (i >= 0) events.splice(i, 1)
    if (events.length === 0) this.#events.delete(key)
  }

  /** Forgets every event of `key` (a successful sign-in clears the account's failures). */
  clear (key: string): void {
    this.#events.delete(key)
  }

  /** Forgets every key that starts with `prefix` (an admin unlock clears one username's pairs). */
  clearPrefix (prefix: string): void {
    for (const key of [...this.#events.keys()]) if (key.startsWith(prefix)) this.#events.delete(key)
  }

  /** Drops keys whose events have all aged out. */
  sweep (): void {
    const now = this.#clock()
    for (const key of [...this.#events.keys()]) this.#live(key, now)
  }

  /** Events of `key` inside the window, pruning older ones (and the key, once empty). */
  #live (key: string, now: number): number[] {
    const events = this.#events.get(key)
    if (events === undefined) return []
    const cutoff = now - this.#windowMs
    let drop = 0
    while (drop < events.length && events[drop] <= cutoff) drop++
    if (drop > 0) events.splice(0, drop)
    if (events.length === 0) this.#events.delete(key)
    return events
  }
}
