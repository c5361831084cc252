// The vault's idle lock (web/src/lib/idle.ts) with a hand-moved clock and hand-run timers: it
// fires once, 30 minutes after the last activity and not before, re-arms for the remainder when
// activity came meanwhile, and never fires after stop().
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { IDLE_LOCK_MS, startIdleLock } from '../../web/src/lib/idle.ts'
import type { IdleTimers } from '../../web/src/lib/idle.ts'

/** Timers that run when the test moves the clock past their due time. */
function manualTimers (): IdleTimers & { advance(ms: number): void, pending(): number } {
  let now = 1_000_000
  let next = 0
  const timers = new Map<number, { at: number, fn: () => void }>()
  return {
    now: () => now,
    setTimer: (fn, ms) => { timers.set(++next, { at: now + ms, fn }); return next },
    clearTimer: (h) => { timers.delete(h as number) },
    pending: () => timers.size,
    advance (ms) {
      const end = now + ms
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
        if (due === undefined) break
        timers.delete(due[0])
        now = due[1].at
        due[1].fn()
      }
      now = end
    }
  }
}

test('fires once, 30 minutes after the last activity', () => {
  const t = manualTimers()
  let fired = 0
  const lock = startIdleLock(t, IDLE_LOCK_MS, () => { fired++ })
  t.advance(IDLE_LOCK_MS - 1)
  assert.is(fired, 0)
  t.advance(1)
  assert.is(fired, 1)
  assert.is(lock.running, false)
  t.advance(IDLE_LOCK_MS * 3)
  assert.is(fired, 1, 'only once')
  assert.is(t.pending(), 0)
})

test('activity pushes the deadline back without a new timer per touch', () => {
  const t = manualTimers()
  let fired = 0
  const lock = startIdleLock(t, IDLE_LOCK_MS, () => { fired++ })
  t.advance(20 * 60_000)
  for (let i = 0; i < 100; i++) lock.touch()
  assert.is(t.pending(), 1)
  t.advance(20 * 60_000)
  assert.is(fired, 0, '40 minutes after start but 20 after the touch')
  t.advance(10 * 60_000)
  assert.is(fired, 1)
})

test('stop cancels; touches after stop change nothing', () => {
  const t = manualTimers()
  let fired = 0
  const lock = startIdleLock(t, IDLE_LOCK_MS, () => { fired++ })
  lock.stop()
  lock.touch()
  t.advance(IDLE_LOCK_MS * 2)
  assert.is(fired, 0)
  assert.is(t.pending(), 0)
})

test.run()
