// Clock skew against the consortium: each status exchange with a connected member is one sample
// of how far that member's clock is from ours; the median over members is the consortium's view.
// While this peer runs ahead of it beyond CLOCK_SKEW_WRITE_LIMIT_MS it holds writes (CLOCK_SKEW),
// so it never signs a block the others refuse as FUTURE_TIME, and a corrected clock needs no
// waiting: no block of this chain is ahead of the consortium's time by more than the limit.
import type { Logger } from 'pino'
import type { WriteGate } from '../../ledger/store/write-gate.ts'
import { CLOCK_SKEW_WRITE_LIMIT_MS, STATUS_INTERVAL_MS } from './constants.ts'
import { offsetOf } from './status.ts'
import type { StatusSample } from './status.ts'

/** The measured skew, as /api/health reports it. */
export interface ClockSkew {
  /** How far this peer's clock runs ahead of the connected members' median (ms; negative: behind). */
  aheadMs: number
  /** Members whose clock was sampled (connected ones only). */
  members: number
}

/** One member's latest sample, reduced to what the estimate uses. */
interface Sample { offsetMs: number, rttMs: number }

/** Median of a non-empty list. */
function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** Tracks the skew and sets or lifts the CLOCK_SKEW hold on `gate`. */
export class ClockMonitor {
  readonly #samples = new Map<string, Sample>()
  readonly #gate: WriteGate | undefined
  readonly #log: Logger
  readonly #limitMs: number

  constructor (components: { gate?: WriteGate, logger: Logger }, init: { limitMs?: number } = {}) {
    this.#gate = components.gate
    this.#log = components.logger.child({ module: 'p2p:clock' })
    this.#limitMs = init.limitMs ?? CLOCK_SKEW_WRITE_LIMIT_MS
  }

  /** Takes the newest exchange with `member` (hex key) into the estimate. */
  record (member: string, sample: StatusSample): void {
    this.#samples.set(member, { offsetMs: offsetOf(sample), rttMs: Math.max(0, sample.receivedAt - sample.sentAt) })
    this.#judge()
  }

  /** Drops a member that disconnected: its clock is no longer part of the view. */
  forget (member: string): void {
    if (this.#samples.delete(member)) this.#judge()
  }

  /** The current estimate; null before any member was sampled. */
  skew (): ClockSkew | null {
    if (this.#samples.size === 0) return null
    const offsets = [...this.#samples.values()].map(s => s.offsetMs)
    return { aheadMs: Math.round(-median(offsets)), members: this.#samples.size }
  }

  /**
   * Holds writes when even the most favourable reading of the samples puts this clock ahead
   * beyond the limit: each member's true offset lies within half its round trip of the estimate,
   * so a slow link never makes a correct clock look skewed.
   */
  #judge (): void {
    // With no member left to compare with, the last judgement stands: a clock found ahead stays
    // held until a member says otherwise (or the peer restarts after the correction).
    const skew = this.skew()
    if (this.#gate === undefined || skew === null) return
    const surelyAhead = median([...this.#samples.values()].map(s => -s.offsetMs - s.rttMs / 2))
    if (surelyAhead > this.#limitMs) {
      if (!this.#gate.holds().some(h => h.code === 'CLOCK_SKEW')) {
        this.#log.error({ aheadMs: skew.aheadMs, members: skew.members, limitMs: this.#limitMs }, 'this clock runs ahead of the consortium: writes held until it is corrected')
      }
      this.#gate.hold({
        code: 'CLOCK_SKEW',
        message: `this peer's clock is ${Math.round(skew.aheadMs / 1000)} s ahead of the other members'; writes resume once it is corrected`,
        retryAfterSeconds: Math.ceil(STATUS_INTERVAL_MS / 1000)
      })
    } else if (this.#gate.holds().some(h => h.code === 'CLOCK_SKEW')) {
      this.#log.info({ aheadMs: skew.aheadMs }, 'clock back within the limit: writes resume')
      this.#gate.release('CLOCK_SKEW')
    }
  }
}
