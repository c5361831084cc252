// Fetches blocks over bitswap with one want per block at a time, kept on disk before the want is
// released, and re-asked when unanswered. Both work around @helia/bitswap 4.0.19: a want added
// while a just-received want for the same block is being retired joins the retired entry and is
// never sent, and each want is sent once, so a lost message stalls a read until its deadline.
import { setTimeout as delay } from 'node:timers/promises'
import type { CID } from 'multiformats/cid'
import { toHex } from '../../../protocol/bytes.ts'
import { WANT_RETRY_GAP_MS, WANT_RETRY_MS } from '../constants.ts'
import { AbortedError, UnavailableError } from '../errors.ts'
import type { HeliaLight } from '../helia-light.ts'

/** One caller's bounds on a fetch. */
export interface FetchOptions {
  /** Time the block may take to arrive (ms). */
  timeoutMs: number
  /** The caller's abort signals: its read's and the exporter's. */
  signals: AbortSignal[]
}

/** Fetches missing blocks from connected members. */
export interface Fetcher {
  /** The block's bytes, already on disk; UNAVAILABLE past the deadline, ABORTED on a signal. */
  fetch(cid: CID, options: FetchOptions): Promise<Uint8Array>
}

/** Settles like `p`, or rejects once `signal` aborts; `p` runs on for its other waiters. */
async function raceAbort<T> (p: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  let onAbort = (): void => {}
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([p, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/**
 * Creates the fetcher. `keep` stores a fetched block; `stopped` aborts everything when storage
 * stops.
 */
export function createFetcher (helia: HeliaLight, keep: (cid: CID, bytes: Uint8Array) => Promise<void>, stopped: () => AbortSignal): Fetcher {
  /** Fetches in progress by multihash: later callers wait on the first one's want. */
  const pending = new Map<string, Promise<Uint8Array>>()

  /**
   * Wants the block until `timeoutMs`, withdrawing and re-sending the want after WANT_RETRY_MS,
   * then twice as long each time, and keeps it before resolving.
   */
  const want = async (cid: CID, timeoutMs: number): Promise<Uint8Array> => {
    const outer = AbortSignal.any([AbortSignal.timeout(timeoutMs), stopped()])
    for (let wait = WANT_RETRY_MS; ; wait *= 2) {
      const attempt = AbortSignal.timeout(wait)
      try {
        const bytes = await helia.retrieve(cid, { signal: AbortSignal.any([attempt, outer]) })
        await keep(cid, bytes)
        return bytes
      } catch (err) {
        if (outer.aborted) throw new UnavailableError(`block ${cid.toString()} did not arrive from any connected member in time`, { cause: err })
        if (!attempt.aborted) throw err
      }
      // Past bitswap's 10 ms wantlist debounce, so the withdrawn want is gone before the next.
      await delay(WANT_RETRY_GAP_MS, undefined, { signal: outer }).catch(() => {})
    }
  }

  return {
    async fetch (cid, options) {
      const key = toHex(cid.multihash.bytes)
      let shared = pending.get(key)
      if (shared === undefined) {
        shared = want(cid, options.timeoutMs).finally(() => pending.delete(key))
        // Waiters may all leave early; the fetch still ends (by its deadline) and is not unhandled.
        shared.catch(() => {})
        pending.set(key, shared)
      }
      const deadline = AbortSignal.timeout(options.timeoutMs)
      try {
        return await raceAbort(shared, AbortSignal.any([deadline, stopped(), ...options.signals]))
      } catch (err) {
        if (options.signals.some(s => s.aborted)) throw new AbortedError('the read was aborted', { cause: err })
        if (stopped().aborted) throw new UnavailableError('storage stopped during the read', { cause: err })
        if (deadline.aborted) throw new UnavailableError(`block ${cid.toString()} did not arrive from any connected member within ${options.timeoutMs} ms`, { cause: err })
        throw err
      }
    }
  }
}
