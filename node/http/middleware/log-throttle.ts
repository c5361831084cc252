// Rate limiting of log lines that anonymous clients can cause (unknown methods, aborted requests):
// at most `perWindow` lines per kind per window, then one summary with how many were dropped, so
// nobody can fill the disk or bury real errors by sending junk.
import type { Clock } from '../../../ledger/types.ts'

/** Whether to write a line now, and how many lines of that kind were dropped since the last one. */
export interface ThrottleDecision { write: boolean, suppressed: number }

/** Counts lines per kind in fixed windows. */
export class LogThrottle {
  readonly #perWindow: number
  readonly #windowMs: number
  readonly #clock: Clock
  readonly #kinds = new Map<string, { start: number, written: number, suppressed: number }>()

  constructor (opts: { perWindow: number, windowMs: number }, clock: Clock = Date.now) {
    this.#perWindow = opts.perWindow
    this.#windowMs = opts.windowMs
    this.#clock = clock
  }

  /** Call once per event of `kind`; write the line only when `write` is true. */
  take (kind: string): ThrottleDecision {
    const now = this.#clock()
    let k = this.#kinds.get(kind)
    if (k === undefined || now - k.start >= this.#windowMs) {
      const suppressed = k?.suppressed ?? 0
      k = { start: now, written: 1, suppressed: 0 }
      this.#kinds.set(kind, k)
      return { write: true, suppressed }
    }
    if (k.written < this.#perWindow) {
      k.written++
      return { write: true, suppressed: 0 }
    }
    k.suppressed++
    return { write: false, suppressed: k.suppressed }
  }
}
