// Keeps third-party code from owning the process's fatal-error policy. The Emscripten runtime of
// @tensorflow/tfjs-backend-wasm 4.22 installs, when the wasm module is instantiated (the first
// `setBackend('wasm')`, not at import), an `uncaughtException` listener that rethrows everything
// but its own ExitStatus and an `unhandledRejection` listener that throws. A listener that throws
// makes Node exit at once with code 7, whatever the peer's own handlers decided: an error the peer
// handled or meant to log became a crash of every hospital connection.

/** The process events whose listeners decide whether an error ends the process. */
const FATAL_EVENTS = ['uncaughtException', 'unhandledRejection'] as const

type FatalEvent = typeof FATAL_EVENTS[number]
type Listener = NodeJS.UncaughtExceptionListener | NodeJS.UnhandledRejectionListener

/** A listener removed from the process, for the log. */
export interface RemovedHook { event: FatalEvent, source: string }

/** The listeners of one fatal event (process.listeners is typed per event name). */
function listenersOf (event: FatalEvent): Listener[] {
  return event === 'uncaughtException' ? process.listeners('uncaughtException') : process.listeners('unhandledRejection')
}

function removeListener (event: FatalEvent, listener: Listener): void {
  if (event === 'uncaughtException') process.removeListener(event, listener as NodeJS.UncaughtExceptionListener)
  else process.removeListener(event, listener as NodeJS.UnhandledRejectionListener)
}

/**
 * Runs `fn` and then removes every `uncaughtException` / `unhandledRejection` listener it added.
 * Without those listeners Node's defaults apply again (an uncaught exception still ends the
 * process, with its stack, as it should); what changes is that a throwing listener no longer
 * overrides the peer's own. Emscripten's only use of its listener is to swallow the ExitStatus its
 * `exit()` throws, which tfjs never calls. Nothing else in the peer adds such listeners while a
 * backend starts (backend selection runs once, at peer start).
 */
export async function withoutProcessHooks<T> (fn: () => Promise<T>): Promise<{ value: T, removed: RemovedHook[] }> {
  const before = new Map(FATAL_EVENTS.map(e => [e, new Set(listenersOf(e))]))
  try {
    const value = await fn()
    return { value, removed: removeAdded(before) }
  } catch (err) {
    removeAdded(before)
    throw err
  }
}

function removeAdded (before: Map<FatalEvent, Set<Listener>>): RemovedHook[] {
  const removed: RemovedHook[] = []
  for (const event of FATAL_EVENTS) {
    const had = before.get(event) ?? new Set()
    for (const listener of listenersOf(event)) {
      if (had.has(listener)) continue
      removeListener(event, listener)
      removed.push({ event, source: String(listener).slice(0, 80).replace(/\s+/g, ' ') })
    }
  }
  return removed
}
