// What the web controller tests drive controllers with: a stand-in for Lit's ReactiveElement as
// its controllers see it (counting update requests), and promises the test settles itself, so
// the order of answers is chosen by the test, never timed.
import type { ReactiveController, ReactiveControllerHost } from 'lit'

/** A promise with its settle functions. */
export function deferred<T> (): { promise: Promise<T>, resolve: (v: T) => void, reject: (e: unknown) => void } {
  let resolve: (v: T) => void = () => {}
  let reject: (e: unknown) => void = () => {}
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** A host as Lit's ReactiveElement is to its controllers, counting update requests. */
export class Host implements ReactiveControllerHost {
  controllers: ReactiveController[] = []
  updates = 0
  updateComplete = Promise.resolve(true)
  addController (c: ReactiveController): void { this.controllers.push(c) }
  removeController (c: ReactiveController): void { this.controllers = this.controllers.filter(x => x !== c) }
  requestUpdate (): void { this.updates++ }
  /** What Lit does on connect and on each update before render. */
  connect (): void { for (const c of this.controllers) c.hostConnected?.() }
  update (): void { for (const c of this.controllers) c.hostUpdate?.() }
  disconnect (): void { for (const c of this.controllers) c.hostDisconnected?.() }
}
