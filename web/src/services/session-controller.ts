// A Lit reactive controller that re-renders its host whenever the shared session changes, so an
// element shows the current user and vault state without owning the session.
import type { ReactiveController, ReactiveControllerHost } from 'lit'
import { SESSION_CHANGED } from './session.ts'
import type { Session } from './session.ts'

/** Subscribes `host` to a session while connected. */
export class SessionController implements ReactiveController {
  readonly #host: ReactiveControllerHost
  readonly #session: () => Session | undefined
  #bound: Session | undefined
  readonly #onChange = (): void => { this.#host.requestUpdate() }

  /** `session` is read on connect and on each update, so the property may be set later. */
  constructor (host: ReactiveControllerHost, session: () => Session | undefined) {
    this.#host = host
    this.#session = session
    host.addController(this)
  }

  hostConnected (): void { this.#bind() }
  hostUpdate (): void { this.#bind() }
  hostDisconnected (): void {
    this.#bound?.removeEventListener(SESSION_CHANGED, this.#onChange)
    this.#bound = undefined
  }

  #bind (): void {
    const s = this.#session()
    if (s === this.#bound) return
    this.#bound?.removeEventListener(SESSION_CHANGED, this.#onChange)
    s?.addEventListener(SESSION_CHANGED, this.#onChange)
    this.#bound = s
  }
}
