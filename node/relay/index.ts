// The shared patient portal (issue 18): `createRelay(init)(components)` gives the libp2p protocol
// by which a visited hospital relays a patient's sign-in to the home hospital, both sides of it,
// and the HTTP routes; node/peer.ts starts it after the P2P layer and the accounts.
import { randomBytes } from 'node:crypto'
import type { Libp2p } from '@libp2p/interface'
import type { Router } from '@koa/router'
import type { Logger } from 'pino'
import type { Clock, Ledger } from '../../ledger/types.ts'
import { SESSIONS_ENDED } from '../auth/index.ts'
import type { Auth, SessionsEnded } from '../auth/index.ts'
import type { RandomBytes } from '../auth/types.ts'
import { HomeSide } from './home.ts'
import { relayRoutes } from './routes.ts'
import { createRelayService } from './service.ts'
import { VisitedSide } from './visited.ts'
import type { VisitedInit } from './visited.ts'

export { RELAY_STATUS_BY_CODE } from './errors.ts'
export { RELAY_PROTOCOL } from './constants.ts'

/** Options of createRelay (config `auth.relay`). */
export interface RelayInit extends VisitedInit {
  /** Time allowed for one exchange with a home hospital (ms); default RELAY_TIMEOUT_MS. */
  timeoutMs?: number
}

/** What the relay uses. */
export interface RelayComponents {
  /** Read at start (the P2P layer's node exists only once it has started). */
  readonly libp2p: Libp2p
  ledger: Ledger
  auth: Auth
  /** This hospital's X25519 secret key: it opens proofs sealed to this hospital. */
  boxSecret: Uint8Array
  clock: Clock
  logger: Logger
  random?: RandomBytes
}

/** The running relay. */
export interface Relay {
  start(): Promise<void>
  stop(): Promise<void>
  readonly router: Router
  /** Grants this hospital holds for its patients' sessions at other members. */
  grants(): number
  /** SHA-256 (hex) of each of those grants: what a revoke names (no grant can be rebuilt from it). */
  grantHashes(): string[]
}

/** Creates the relay; see the file comment. */
export function createRelay (init: RelayInit = {}) {
  return (components: RelayComponents): Relay => {
    const { ledger, auth, clock } = components
    const logger = components.logger.child({ component: 'relay' })
    const random: RandomBytes = components.random ?? ((n) => new Uint8Array(randomBytes(n)))
    const home = new HomeSide({ auth: auth.relay, self: ledger.self, boxSecret: components.boxSecret, clock, random, logger })
    const service = createRelayService({ timeoutMs: init.timeoutMs })({
      get libp2p () { return components.libp2p },
      ledger,
      answer: async (req, from) => req.t === 'revoke' ? visited.revoked(from, req.grantHash) : await home.answer(req, from),
      logger
    })
    const visited = new VisitedSide(init, { auth: auth.relay, ledger, service, clock, logger })
    // A password change, a reset, an admin's end-sessions or a lock at home ends the grants at once
    // and tells each visited hospital now; one that misses it learns it at its next check.
    const onEnded = (e: Event): void => {
      for (const { via, grantHash } of home.endUser((e as CustomEvent<SessionsEnded>).detail.username)) {
        service.ask(via, { t: 'revoke', grantHash }).catch(() => undefined)
      }
    }
    const router = relayRoutes({ auth: auth.relay, ledger, visited, requirePatient: auth.requireUser('patient') })
    return {
      router,
      grants: () => home.grants,
      grantHashes: () => home.grantHashes(),
      async start () {
        auth.events.addEventListener(SESSIONS_ENDED, onEnded)
        await service.start()
        auth.relay.setCheck(async (session) => await visited.check(session))
        auth.relay.onEnd((relay) => visited.end(relay))
      },
      async stop () {
        auth.events.removeEventListener(SESSIONS_ENDED, onEnded)
        await service.stop()
        home.clear()
      }
    }
  }
}
