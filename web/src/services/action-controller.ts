// A Lit reactive controller for the writes a user starts (a form's submit, a button): keeps
// `busy` for the disabled button and its "…ing" label, the failure for the element's error note,
// and the line that says what the last write did, and re-renders the host when any of them changes.
import type { ReactiveController, ReactiveControllerHost } from 'lit'

/** How an ActionController keeps failures. */
export interface ActionOptions {
  /** Maps a failure before it is kept, e.g. `session.fail` (locks or signs out on auth errors). */
  fail?: (err: unknown) => unknown
}

/**
 * `new ActionController(this, { fail? })` in a LitElement's field list; `await c.run(fn)` in the
 * handler. The element disables its buttons while `busy`, so a run never starts inside another.
 */
export class ActionController implements ReactiveController {
  readonly #host: ReactiveControllerHost
  readonly #options: ActionOptions
  #busy = false
  #error: unknown = null
  #done: string | null = null

  constructor (host: ReactiveControllerHost, options: ActionOptions = {}) {
    this.#host = host
    this.#options = options
    host.addController(this)
  }

  /** Nothing starts on connect: a run begins only from `run` (this hook makes it a ReactiveController). */
  hostConnected (): void {}

  /** Whether a run is going on. */
  get busy (): boolean { return this.#busy }

  /** Why the last run failed (after `fail`), or null; set it for a check that fails before any run. */
  get error (): unknown { return this.#error }
  set error (err: unknown) {
    this.#error = err
    this.#host.requestUpdate()
  }

  /** What the last run did, in words for a `role=status` line, or null; each run clears it. */
  get done (): string | null { return this.#done }
  set done (text: string | null) {
    this.#done = text
    this.#host.requestUpdate()
  }

  /**
   * Runs `fn` with `busy` set, after clearing `error` and `done`; a failure is kept in `error`
   * (through `fail`) instead of thrown. Resolves to `fn`'s answer, or undefined when it failed.
   */
  async run<T> (fn: () => Promise<T>): Promise<T | undefined> {
    this.#busy = true
    this.#error = null
    this.#done = null
    this.#host.requestUpdate()
    try {
      return await fn()
    } catch (err) {
      this.#error = this.#options.fail === undefined ? err : this.#options.fail(err)
      return undefined
    } finally {
      this.#busy = false
      this.#host.requestUpdate()
    }
  }
}
