// A Lit reactive controller for the read every page element does: run an async load when the host
// connects and again when its inputs change, keep `loading`, `error` and `value` for render, drop
// the answer of a load that a newer one (or a disconnect) made stale, and re-render the host.
import { html, nothing } from 'lit'
import type { ReactiveController, ReactiveControllerHost } from 'lit'

/** What a LoadController runs, and when. */
export interface LoadOptions<T> {
  /** The load. `signal` aborts once its answer is stale: a newer load started, or the host left. */
  load: (signal: AbortSignal) => Promise<T>
  /**
   * The inputs, read before each render: when one changes (`Object.is`), the value, which
   * belongs to the old inputs, is dropped and a new load starts. None: only connecting loads.
   */
  args?: () => readonly unknown[]
  /** Maps a failure before it is kept, e.g. `session.fail` (locks or signs out on auth errors). */
  fail?: (err: unknown) => unknown
  /** Runs after each load that was not made stale, whether it succeeded or failed. */
  settled?: () => void
}

/**
 * `new LoadController(this, { load, args?, fail?, settled? })` in a LitElement's field list.
 * `reload()` loads again with the same inputs and keeps showing the value until the new one comes.
 */
export class LoadController<T> implements ReactiveController {
  /** The latest value loaded for the current inputs; undefined until one arrives. */
  value: T | undefined = undefined
  /** Why the latest load failed (after `fail`), or null. */
  error: unknown = null
  /** Whether a load is running. */
  loading = false

  readonly #host: ReactiveControllerHost
  readonly #options: LoadOptions<T>
  #args: readonly unknown[] | null = null
  #due = true
  #abort: AbortController | null = null

  constructor (host: ReactiveControllerHost, options: LoadOptions<T>) {
    this.#host = host
    this.#options = options
    host.addController(this)
  }

  /** Connecting (again) asks for a load at the next update. */
  hostConnected (): void {
    this.#due = true
    this.#host.requestUpdate()
  }

  /** Runs in the host's update, before render: a load started here shows `loading` at once. */
  hostUpdate (): void {
    const args = this.#options.args?.() ?? []
    const old = this.#args
    const changed = old !== null && (args.length !== old.length || args.some((a, i) => !Object.is(a, old[i])))
    if (changed) this.value = undefined
    if (this.#due || changed) void this.#run(args)
  }

  /** Leaving makes a running load stale. */
  hostDisconnected (): void {
    this.#abort?.abort()
    this.#abort = null
    this.loading = false
  }

  /**
   * The value through `shown`; before one arrives, a `loading` status, or nothing once the load
   * failed (the host's error note says why).
   */
  render (shown: (value: T) => unknown, loading = 'Loading…'): unknown {
    if (this.value !== undefined) return shown(this.value)
    return this.error === null ? html`<p role="status">${loading}</p>` : nothing
  }

  /** Loads again now with the current inputs; resolves when done (or made stale). */
  async reload (): Promise<void> {
    await this.#run(this.#options.args?.() ?? [])
  }

  async #run (args: readonly unknown[]): Promise<void> {
    this.#due = false
    this.#args = args
    this.#abort?.abort()
    const abort = new AbortController()
    this.#abort = abort
    this.loading = true
    this.error = null
    this.#host.requestUpdate()
    let value: T | undefined
    let error: unknown = null
    try {
      value = await this.#options.load(abort.signal)
    } catch (err) {
      error = this.#options.fail === undefined ? err : this.#options.fail(err)
      // A failure that maps to nothing still counts as one.
      error ??= new Error('load failed')
    }
    if (abort.signal.aborted) return
    this.#abort = null
    if (error === null) this.value = value
    else this.error = error
    this.loading = false
    this.#host.requestUpdate()
    this.#options.settled?.()
  }
}
