// Entry of the web UI bundle: creates the session service, puts <mc-app> in charge of the page,
// and resumes a session left from before a reload (with its vault locked).
import { Session } from './services/session.ts'
import type { McApp } from './components/shell/mc-app.ts'
import './components/shell/mc-app.ts'

/**
 * PBKDF2 iterations for new vaults. scripts/build-web.ts replaces this identifier at build time:
 * with `undefined` (the SDK's 600 000) in every normal build; only a test build asks for fewer.
 */
declare const __MEDICHAIN_VAULT_ITERATIONS__: number | undefined

const session = new Session({
  vaultIterations: __MEDICHAIN_VAULT_ITERATIONS__,
  timers: {
    now: () => Date.now(),
    setTimer: (fn, ms) => window.setTimeout(fn, ms),
    clearTimer: (handle) => { window.clearTimeout(handle as number) }
  }
})

const app = document.querySelector<McApp>('mc-app') ?? document.body.appendChild(document.createElement('mc-app') as McApp)
app.session = session
void session.start()
