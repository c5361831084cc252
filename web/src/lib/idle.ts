// The vault's idle lock (issue 5: "the vault locks after 30 minutes idle"): any activity pushes
// the deadline back; when it passes, `onIdle` runs once. Clock and timers are components, so the
// rule is tested with a hand-moved clock and the page passes the real ones.

/** 30 minutes, the server's idle session timeout (docs/api.md), so both end together. */
export const IDLE_LOCK_MS = 30 * 60_000

/** Timer functions of the host (window.setTimeout in the page). */
export interface IdleTimers {
  now(): number
  setTimer(fn: () => void, ms: number): unknown
  clearTimer(handle: unknown): void
}

/** A running idle lock. */
export interface IdleLock {
  /** Records activity: the lock fires `timeoutMs` after the latest touch. */
  touch(): void
  /** Stops watching (sign-out, or the lock already fired). */
  stop(): void
  /** Whether it is watching. */
  readonly running: boolean
}

/**
 * Starts an idle lock. Touches only record the time: the single timer re-arms itself for the
 * remainder when it fires early, so frequent activity (every key press) costs no timer churn.
 */
export function startIdleLock (timers: IdleTimers, timeoutMs: number, onIdle: () => void): IdleLock {
  let last = timers.now()
  let handle: unknown = null
  let running = true
  const arm = (ms: number): void => {
    handle = timers.setTimer(check, Math.max(0, ms))
  }
  function check (): void {
    if (!running) return
    const left = last + timeoutMs - timers.now()
    if (left > 0) { arm(left); return }
    running = false
    handle = null
    onIdle()
  }
  arm(timeoutMs)
  return {
    touch () { if (running) last = timers.now() },
    stop () {
      running = false
      if (handle !== null) timers.clearTimer(handle)
      handle = null
    },
    get running () { return running }
  }
}
