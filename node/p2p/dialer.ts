// Keeps this peer connected to every active member: dials each member's addresses (and any
// configured bootstrap addresses), and redials with capped exponential backoff and jitter when a
// dial fails or a connection drops. Driven by connection and membership events, not polling.
import type { Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import { equals } from '../../protocol/bytes.ts'
import { DIAL_TIMEOUT_MS, REDIAL_MAX_MS, REDIAL_MIN_MS, STABLE_CONNECTION_MS } from './constants.ts'
import type { MemberSource } from './gater.ts'
import { peerIdFromMemberKey } from './identity.ts'
import { memberMultiaddr, parseMultiaddr, peerIdInMultiaddr } from './multiaddrs.ts'

/** Options of createDialer. */
export interface DialerInit {
  /** Extra multiaddrs to dial, with or without `/p2p/<PeerId>`. */
  bootstrap?: string[]
  /** First redial delay (ms). */
  minBackoffMs?: number
  /** Longest redial delay (ms). */
  maxBackoffMs?: number
}

/** What the dialer needs. */
export interface DialerComponents {
  libp2p: Libp2p
  members: MemberSource
  /** This peer's own member key, never dialled. */
  self: Uint8Array
  logger: Logger
  clock?: () => number
  random?: () => number
}

/** The member dialer. */
export interface Dialer {
  start(): void
  stop(): void
  /** Member PeerIds (strings) the dialer currently keeps connections to. */
  targets(): string[]
}

interface Target {
  /** Member PeerId, or undefined for a bootstrap address that names no peer. */
  peerId?: PeerId
  addrs: Multiaddr[]
  attempts: number
  timer?: ReturnType<typeof setTimeout>
  dialing: boolean
  /** True while the member has no known address: it is dialled again after it reaches us. */
  waiting?: boolean
  connectedAt?: number
}

/** Creates the dialer; see the file comment. */
export function createDialer (init: DialerInit = {}) {
  return (components: DialerComponents): Dialer => {
    const log = components.logger.child({ module: 'p2p:dialer' })
    const { libp2p, members } = components
    const clock = components.clock ?? Date.now
    const random = components.random ?? Math.random
    const minMs = init.minBackoffMs ?? REDIAL_MIN_MS
    const maxMs = init.maxBackoffMs ?? REDIAL_MAX_MS
    const targets = new Map<string, Target>()
    let controller = new AbortController()
    let running = false
    /** Bootstrap addresses that name no peer are dialled from the first refresh only. */
    let initialDone = false

    const delayFor = (attempts: number): number => {
      const base = Math.min(maxMs, minMs * 2 ** Math.min(attempts, 30))
      return Math.round(base / 2 + random() * base / 2)
    }

    const isConnected = (t: Target): boolean => t.peerId !== undefined && libp2p.getConnections(t.peerId).length > 0

    const schedule = (key: string, t: Target): void => {
      if (!running || t.timer !== undefined || t.dialing || isConnected(t)) return
      const delay = delayFor(t.attempts)
      t.attempts++
      t.timer = setTimeout(() => {
        t.timer = undefined
        void dial(key, t)
      }, delay)
      t.timer.unref?.()
    }

    const dial = async (key: string, t: Target): Promise<void> => {
      if (!running || t.dialing || targets.get(key) !== t || isConnected(t)) return
      t.dialing = true
      const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
      try {
        let target: Multiaddr[] | PeerId
        if (t.addrs.length > 0) target = t.addrs
        else if (t.peerId !== undefined && await hasKnownAddrs(t.peerId)) target = t.peerId
        else {
          // With no address at all, a dial would fail and, worse, be shared by libp2p's dial
          // queue with any other dial to that peer. Wait instead: once the member reaches us,
          // identify stores its addresses, and a later disconnect redials them.
          t.waiting = true
          return
        }
        t.waiting = false
        const conn = await libp2p.dial(target, { signal })
        if (t.peerId === undefined) {
          // A bootstrap address that named no peer: once answered, the member target takes over.
          log.debug({ peer: conn.remotePeer.toString() }, 'bootstrap address answered')
          targets.delete(key)
        }
      } catch (err) {
        if (!running) return
        log.debug({ target: key, attempts: t.attempts, err: (err as Error).name }, 'dial failed')
      } finally {
        t.dialing = false
      }
      if (targets.get(key) === t && !isConnected(t) && !t.waiting) schedule(key, t)
    }

    const hasKnownAddrs = async (peerId: PeerId): Promise<boolean> => {
      try {
        return (await libp2p.peerStore.get(peerId)).addresses.length > 0
      } catch {
        return false
      }
    }

    const desiredTargets = (): Map<string, Target> => {
      const desired = new Map<string, Target>()
      for (const m of members.members()) {
        if (m.status !== 'active' || equals(m.key, components.self)) continue
        const peerId = peerIdFromMemberKey(m.key)
        const addrs = m.addrs.map(a => memberMultiaddr(a, peerId)).filter((a): a is Multiaddr => a !== undefined)
        desired.set(peerId.toString(), { peerId, addrs, attempts: 0, dialing: false })
      }
      for (const addr of init.bootstrap ?? []) {
        const ma = parseMultiaddr(addr)
        if (ma === undefined) {
          log.warn({ addr }, 'ignoring a bootstrap address that is not a multiaddr')
          continue
        }
        const named = peerIdInMultiaddr(ma)
        const member = named === undefined ? undefined : desired.get(named)
        if (member !== undefined) member.addrs.push(ma)
        else if (named === undefined) desired.set(`addr:${ma.toString()}`, { addrs: [ma], attempts: 0, dialing: false })
      }
      return desired
    }

    const refresh = (): void => {
      if (!running) return
      const desired = desiredTargets()
      for (const [key, t] of targets) {
        if (desired.has(key) || (t.peerId === undefined && t.dialing)) continue
        if (t.timer !== undefined) clearTimeout(t.timer)
        targets.delete(key)
      }
      for (const [key, t] of desired) {
        const existing = targets.get(key)
        if (existing !== undefined) {
          existing.addrs = t.addrs
          if (existing.waiting === true && t.addrs.length > 0) void dial(key, existing)
          continue
        }
        if (t.peerId === undefined && initialDone) continue
        targets.set(key, t)
        void dial(key, t)
      }
      initialDone = true
    }

    const onConnect = (e: CustomEvent<PeerId>): void => {
      const t = targets.get(e.detail.toString())
      if (t === undefined) return
      t.connectedAt = clock()
      if (t.timer !== undefined) {
        clearTimeout(t.timer)
        t.timer = undefined
      }
    }

    const onDisconnect = (e: CustomEvent<PeerId>): void => {
      const key = e.detail.toString()
      const t = targets.get(key)
      if (t === undefined) return
      if (t.connectedAt !== undefined && clock() - t.connectedAt >= STABLE_CONNECTION_MS) t.attempts = 0
      t.connectedAt = undefined
      log.debug({ peer: key }, 'member disconnected, redialling')
      schedule(key, t)
    }

    const onMembersChanged = (): void => refresh()

    return {
      start () {
        if (running) return
        running = true
        initialDone = false
        controller = new AbortController()
        libp2p.addEventListener('peer:connect', onConnect)
        libp2p.addEventListener('peer:disconnect', onDisconnect)
        members.addEventListener('members:changed', onMembersChanged)
        refresh()
      },
      stop () {
        if (!running) return
        running = false
        controller.abort()
        libp2p.removeEventListener('peer:connect', onConnect)
        libp2p.removeEventListener('peer:disconnect', onDisconnect)
        members.removeEventListener('members:changed', onMembersChanged)
        for (const t of targets.values()) if (t.timer !== undefined) clearTimeout(t.timer)
        targets.clear()
      },
      targets () {
        return [...targets.values()].flatMap(t => t.peerId === undefined ? [] : [t.peerId.toString()])
      }
    }
  }
}
