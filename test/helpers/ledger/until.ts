// Waiting for a ledger to reach a state, without sleeping: re-check after each event it emits.
import type { Ledger } from '../../../ledger/types.ts'
import { withTimeout } from '../timeout.ts'

/**
 * Resolves once `check()` holds on `ledger`, re-checking after each of `events` (by default each
 * appended block). The listeners are attached before each check, so an event that fires while an
 * async check runs is not missed.
 */
export async function untilLedger (ledger: Ledger, check: () => boolean | Promise<boolean>, what: string, ms = 10_000, events: readonly string[] = ['block:appended']): Promise<void> {
  await withTimeout((async () => {
    for (;;) {
      const stop = new AbortController()
      const changed = new Promise(resolve => {
        for (const event of events) ledger.addEventListener(event, resolve, { once: true, signal: stop.signal })
      })
      if (await check()) return stop.abort()
      await changed
    }
  })(), ms, what)
}

/** Resolves once `ledger` holds transaction `id` (hex or bytes). */
export async function untilTx (ledger: Ledger, id: string | Uint8Array, ms = 10_000, what = 'a transaction to arrive'): Promise<void> {
  const bytes = typeof id === 'string' ? Uint8Array.from(Buffer.from(id, 'hex')) : id
  await untilLedger(ledger, async () => await ledger.tx(bytes) !== undefined, what, ms)
}
