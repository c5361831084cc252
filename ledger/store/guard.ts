// The ledger's refusing state: from the first batch its store refuses until the store has been
// reopened, proved with a synced write and read back into memory. Meanwhile every write is
// refused with the failure's code (STORAGE_FULL or STORE_FAILED), so none is acknowledged and lost.
import type { Logger } from 'pino'
import { STORE_PROBE_BYTES, STORE_RECOVERY_FREE_BYTES, STORE_RETRY_MAX_MS, STORE_RETRY_MS } from '../constants.ts'
import { StorageError, storageErrorOf } from './storage-error.ts'
import type { LedgerStore } from './store.ts'
import type { Clock, StoreFault } from '../data-types.ts'

/** What the guard uses of its ledger. */
export interface StoreGuardComponents {
  store: LedgerStore
  logger: Logger
  clock: Clock
  /** Runs `fn` in turn with the ledger's appends. */
  exclusive: (fn: () => Promise<void>) => Promise<void>
  /** Re-reads every in-memory view from the reopened store. */
  reload: () => Promise<void>
  /** Called once the store takes writes again, with the fault it recovered from. */
  recovered: (fault: StoreFault) => void
}

/** Tracks one store's fault and retries it until it recovers. */
export class StoreGuard {
  readonly #c: StoreGuardComponents
  #fault: StoreFault | null = null
  #epoch = 0
  #running = true
  #retry: NodeJS.Timeout | null = null
  #attempt: Promise<void> | null = null
  /** Reopens that failed in a row: each doubles the wait before the next (a lasting I/O error). */
  #failedReopens = 0

  constructor (components: StoreGuardComponents) {
    this.#c = components
  }

  /** Why writes are refused now, or null. */
  get fault (): StoreFault | null { return this.#fault }

  /**
   * Counts recoveries. A recovery re-reads the next sequence number from disk, so a transaction
   * whose number was handed out before it is refused (its number may be handed out again).
   */
  get epoch (): number { return this.#epoch }

  /** Throws the fault's StorageError while the store refuses writes. */
  assertWritable (): void {
    if (this.#fault !== null) throw new StorageError(this.#fault.code, `${this.#fault.message}; writes are refused until it recovers`)
  }

  /** Records a failed batch; returns its StorageError and whether it started the fault. */
  fail (err: unknown): { error: StorageError, first: boolean } {
    const error = storageErrorOf(err, 'ledger store')
    if (this.#fault !== null) return { error, first: false }
    this.#fault = { code: error.code, message: error.message, since: this.#c.clock() }
    this.#c.logger.error({ code: error.code, err: err instanceof Error ? err.message : String(err) }, 'ledger store refused a batch; writes are refused until it recovers')
    this.#schedule()
    return { error, first: true }
  }

  /** Stops retrying and waits for an attempt in progress. */
  async stop (): Promise<void> {
    this.#running = false
    if (this.#retry !== null) clearTimeout(this.#retry)
    this.#retry = null
    await this.#attempt
  }

  #schedule (): void {
    if (!this.#running || this.#retry !== null) return
    this.#retry = setTimeout(() => {
      this.#retry = null
      this.#attempt = this.#c.exclusive(async () => await this.#recover()).finally(() => { this.#attempt = null })
    }, Math.min(STORE_RETRY_MS * 2 ** this.#failedReopens, STORE_RETRY_MAX_MS))
    this.#retry.unref()
  }

  /**
   * One attempt: reopen the store once the disk has room, prove it with a write, then read every
   * view back from disk (a batch whose fsync failed may still have landed).
   */
  async #recover (): Promise<void> {
    const fault = this.#fault
    if (!this.#running || fault === null) return
    try {
      if (!await this.#c.store.recover(STORE_RECOVERY_FREE_BYTES, STORE_PROBE_BYTES)) {
        this.#schedule()
        return
      }
      await this.#c.reload()
    } catch (err) {
      this.#failedReopens++
      this.#c.logger.warn({ code: storageErrorOf(err, 'ledger store').code, err: err instanceof Error ? err.message : String(err) }, 'ledger store not recovered yet')
      this.#schedule()
      return
    }
    this.#fault = null
    this.#failedReopens = 0
    this.#epoch++
    this.#c.logger.warn({ code: fault.code, since: fault.since }, 'ledger store recovered; writes are taken again')
    this.#c.recovered(fault)
  }
}
