// The gate in front of this hospital's own chain: services that know the peer must not write yet
// (its own head is not learnt from the consortium, its clock runs ahead) hold it, and every
// submission and every block produced checks it first. A ledger without a gate always writes.
import { MedichainError } from '../../protocol/errors.ts'

/** Why writes are held; each is a stable error code answered with 503 and Retry-After. */
export type WriteHoldCode = 'SYNCING' | 'CLOCK_SKEW'

/** One reason writes are held, with how long a client should wait before trying again. */
export interface WriteHold { code: WriteHoldCode, message: string, retryAfterSeconds: number }

/**
 * Thrown when a write reaches the ledger while the gate is held: nothing was signed, no sequence
 * number was spent, and the same request may be sent again after `retryAfter` seconds.
 */
export class WritesHeldError extends MedichainError {
  declare readonly code: WriteHoldCode
  /** Seconds until a retry makes sense (the HTTP layer sends it as Retry-After, RFC 9110 §10.2.3). */
  readonly retryAfter: number
  constructor (hold: WriteHold) {
    super(hold.code, hold.message)
    this.name = 'WritesHeldError'
    this.retryAfter = hold.retryAfterSeconds
  }
}

/**
 * Holds by code: writes pass only while no hold is set. Listeners hear 'gate:changed' whenever
 * the set of holds changes, so health and tests need not poll.
 */
export class WriteGate extends EventTarget {
  readonly #holds = new Map<WriteHoldCode, WriteHold>()

  /** Holds writes for `hold.code` (replacing an earlier hold of the same code). */
  hold (hold: WriteHold): void {
    const had = this.#holds.has(hold.code)
    this.#holds.set(hold.code, hold)
    if (!had) this.dispatchEvent(new CustomEvent('gate:changed', { detail: this.holds() }))
  }

  /** Lifts the hold of `code`, if any. */
  release (code: WriteHoldCode): void {
    if (this.#holds.delete(code)) this.dispatchEvent(new CustomEvent('gate:changed', { detail: this.holds() }))
  }

  /** True when no hold is set. */
  get open (): boolean {
    return this.#holds.size === 0
  }

  /** The holds in force, SYNCING first (it is the one to clear first). */
  holds (): WriteHold[] {
    return [...this.#holds.values()].sort((a, b) => a.code === b.code ? 0 : a.code === 'SYNCING' ? -1 : 1)
  }

  /** Throws WritesHeldError for the first hold in force. */
  assertOpen (): void {
    const first = this.holds()[0]
    if (first !== undefined) throw new WritesHeldError(first)
  }

  /** Resolves once no hold is set (at once when open). */
  async whenOpen (signal?: AbortSignal): Promise<void> {
    if (this.open) return
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (!this.open) return
        this.removeEventListener('gate:changed', check)
        resolve()
      }
      this.addEventListener('gate:changed', check)
      signal?.addEventListener('abort', () => {
        this.removeEventListener('gate:changed', check)
        reject(signal.reason)
      }, { once: true })
    })
  }
}
