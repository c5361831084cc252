// Navigation as an event: an element asks <mc-app> to go somewhere by dispatching 'mc-navigate'
// (bubbling, composed, so it leaves shadow roots); the app owns history and the current route.

/** Name of the navigation event; its detail is the path to open. */
export const NAVIGATE = 'mc-navigate'

/** Asks the app to open `path` (pushes a history entry unless `replace`). */
export function navigate (from: EventTarget, path: string, replace = false): void {
  from.dispatchEvent(new CustomEvent(NAVIGATE, { detail: { path, replace }, bubbles: true, composed: true }))
}
