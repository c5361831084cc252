// Decides when this peer may write its own chain: it asks every connected member for its status
// (node/p2p/status.ts) when the member connects and every STATUS_INTERVAL_MS, and feeds each
// answer to the own-chain guard (SYNCING until the own head is learnt) and to the clock monitor
// (CLOCK_SKEW while this clock runs ahead). Both set holds on the ledger's write gate.
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { Clock, Ledger } from '../../ledger/types.ts'
import type { WriteGate } from '../../ledger/store/write-gate.ts'
import { ClockMonitor } from './clock.ts'
import type { ClockSkew } from './clock.ts'
import { STATUS_INTERVAL_MS } from './constants.ts'
import { codeOf } from './errors.ts'
import { isMemberPeer } from './gater.ts'
import type { Host } from './host.ts'
import { memberHexOfPeer } from './identity.ts'
import { OwnChainGuard } from './own-chain.ts'
import type { OwnChainInit, OwnChainState } from './own-chain.ts'
import { createStatus } from './status.ts'
import type { SyncResult } from './sync.ts'

/** Options of the write guard. */
export interface WriteGuardInit extends OwnChainInit {
  /** Period of the status exchange (ms); 0 asks only when a member connects. */
  intervalMs?: number
}

/** What the write guard uses. */
export interface WriteGuardComponents {
  libp2p: Host
  ledger: Ledger
  gate: WriteGate
  logger: Logger
  clock: Clock
  syncWith: (peer: PeerId) => Promise<SyncResult>
}

/** The running guard. */
export interface WriteGuard {
  /** Registers the protocol; call before the host listens. */
  register(): Promise<void>
  /** Sets the initial holds and begins asking members; throws ChainExistsError (see OwnChainInit). */
  start(): void
  stop(): Promise<void>
  /** Resolves once the own chain is confirmed; rejects with ChainExistsError (--fresh-chain). */
  readonly decided: Promise<void>
  clockSkew(): ClockSkew | null
  ownChain(): OwnChainState
}

/** Creates the write guard; see the file comment. */
export function createWriteGuard (init: WriteGuardInit = {}) {
  return (components: WriteGuardComponents): WriteGuard => {
    const { libp2p, ledger, gate } = components
    const log = components.logger.child({ module: 'p2p:write-guard' })
    const status = createStatus()({ libp2p, ledger, logger: components.logger, clock: components.clock })
    const clock = new ClockMonitor({ gate, logger: components.logger })
    const own = new OwnChainGuard(init, { ledger, gate, logger: components.logger, syncWith: components.syncWith })
    const intervalMs = init.intervalMs ?? STATUS_INTERVAL_MS
    const asking = new Set<string>()
    let timer: ReturnType<typeof setInterval> | undefined
    let running = false

    const ask = async (peer: PeerId): Promise<void> => {
      const member = memberHexOfPeer(peer)
      if (member === undefined || !isMemberPeer(ledger, peer) || asking.has(member)) return
      asking.add(member)
      try {
        const sample = await status.ask(peer)
        if (!running) return
        clock.record(member, sample)
        own.record(member, peer, sample)
      } catch (err) {
        if (running) log.debug({ member: member.slice(0, 16), code: codeOf(err) }, 'status exchange failed')
      } finally {
        asking.delete(member)
      }
    }

    const askAll = (): void => {
      for (const peer of libp2p.getPeers()) void ask(peer)
    }
    const onConnect = (e: CustomEvent<PeerId>): void => { void ask(e.detail) }
    const onDisconnect = (e: CustomEvent<PeerId>): void => {
      const member = memberHexOfPeer(e.detail)
      if (member !== undefined) clock.forget(member)
    }

    return {
      async register () {
        await status.start()
      },
      start () {
        running = true
        own.start()
        libp2p.addEventListener('peer:connect', onConnect)
        libp2p.addEventListener('peer:disconnect', onDisconnect)
        if (intervalMs > 0) {
          timer = setInterval(askAll, intervalMs)
          timer.unref?.()
        }
        askAll()
      },
      async stop () {
        running = false
        if (timer !== undefined) clearInterval(timer)
        timer = undefined
        libp2p.removeEventListener('peer:connect', onConnect)
        libp2p.removeEventListener('peer:disconnect', onDisconnect)
        own.stop()
        await status.stop()
      },
      get decided () { return own.decided },
      clockSkew: () => clock.skew(),
      ownChain: () => own.state()
    }
  }
}
