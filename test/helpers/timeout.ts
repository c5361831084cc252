// Waiting without sleeping: tests await events, bound every wait with a deadline, and poll only
// for conditions that emit nothing, yielding to the event loop between checks.
import { setImmediate as nextTurn, setTimeout as delay } from 'node:timers/promises'

/** Thrown when a bounded wait runs out; the message names what was awaited. */
export class TimeoutError extends Error {
  readonly code = 'TIMEOUT'
  constructor (message: string) {
    super(message)
    this.name = 'TimeoutError'
  }
}

/** Resolves like `p`, or rejects with TimeoutError if `p` has not settled within `ms`. */
export async function withTimeout<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([p, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Polls `predicate` until it is true, or rejects with TimeoutError after `opts.timeout` ms. It
 * checks on every event-loop turn at first, then backs off to at most 10 ms between checks so a
 * long wait does not spin a core. Prefer awaiting an event; this is for conditions without one.
 */
export async function waitFor (predicate: () => boolean | Promise<boolean>, opts: { timeout: number, what: string }): Promise<void> {
  const start = performance.now()
  let pause = 0
  for (;;) {
    if (await predicate()) return
    if (performance.now() - start > opts.timeout) {
      throw new TimeoutError(`timed out after ${opts.timeout} ms waiting for ${opts.what}`)
    }
    if (pause === 0) await nextTurn()
    else await delay(pause)
    pause = pause === 0 ? 1 : Math.min(pause * 2, 10)
  }
}
