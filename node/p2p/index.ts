// The peer-to-peer layer of one hospital: a libp2p host that admits only consortium members,
// keeps connections to all of them, gossips new blocks and syncs what gossip missed
// (docs/design.md §3, §4 Replication). node/peer.ts composes it with the ledger and the HTTP API.
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import { equals, toHex } from '../../protocol/bytes.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import type { WriteGate } from '../../ledger/store/write-gate.ts'
import type { ClockSkew } from './clock.ts'
import { createDialer } from './dialer.ts'
import type { Dialer } from './dialer.ts'
import { IdentityMismatchError, NotMemberPeerError, NotStartedError } from './errors.ts'
import { createMemberGater, createMembershipGuard, isMemberPeer } from './gater.ts'
import type { MembershipGuard } from './gater.ts'
import { createGossip } from './gossip.ts'
import type { Gossip } from './gossip.ts'
import { createHost, TopicAllowList } from './host.ts'
import type { Host, HostInit } from './host.ts'
import { memberHexOfPeer, privateKeyFromSeed, toPeerId } from './identity.ts'
import { blocksTopic } from './constants.ts'
import { createSync } from './sync.ts'
import type { Sync, SyncResult } from './sync.ts'
import type { OwnChainState } from './own-chain.ts'
import { createWriteGuard } from './write-guard.ts'
import type { WriteGuard } from './write-guard.ts'

/** Re-exported so callers need only this module. */
export type { SyncResult } from './sync.ts'
export type { Host } from './host.ts'
export { TopicAllowList } from './host.ts'

/** Options of createP2P. */
export interface P2PInit {
  /** The hospital's 32-byte Ed25519 seed: its ledger key and its PeerId. */
  seed: Uint8Array
  /** Multiaddrs to listen on; tests use `/ip4/127.0.0.1/tcp/0`. */
  listen: string[]
  /**
   * More gossip topics to accept from the start (federated learning's control topic): gossipsub
   * drops a member's subscription to a topic it did not allow when that subscription arrived.
   */
  extraTopics?: string[]
  /**
   * Gossip topic prefixes to accept from the start, each ending with `/`: every topic under one
   * is admitted (federated learning's task topics `/medichain/<ledgerId>/fl/<task>`, named only
   * when a task starts). INVALID at creation for a prefix without the trailing `/`.
   */
  topicPrefixes?: string[]
  /** Addresses to announce instead of the listen addresses. */
  announce?: string[]
  /** Extra multiaddrs to dial besides the members' own addresses. */
  bootstrap?: string[]
  /** Period of background sync (ms); default 10 s, 0 turns it off. */
  syncIntervalMs?: number
  /** Blocks per sync response this peer serves (default and maximum 512). */
  syncMaxBlocks?: number
  /** Redial backoff bounds (ms); defaults 250 ms and 30 s. */
  redialMinMs?: number
  redialMaxMs?: number
  /** Start this hospital's chain afresh instead of learning it from members (see OwnChainInit). */
  freshChain?: boolean
  /** Connection encrypters offered, most preferred first (default TLS 1.3, then noise; see host.ts). */
  encrypters?: HostInit['encrypters']
}

/** What createP2P needs. */
export interface P2PComponents {
  ledger: Ledger
  logger: Logger
  /**
   * The ledger's write gate: with it, the P2P layer holds writes until the own chain's head is
   * learnt from the members and while this clock runs ahead of theirs (node/p2p/write-guard.ts).
   */
  gate?: WriteGate
  /** The clock compared with the members' (default Date.now). */
  clock?: Clock
}

/**
 * Events (CustomEvent): 'peer:connected' / 'peer:disconnected' (hex member key), 'sync:complete'
 * (SyncResult), 'sync:failed' ({ peer, code }), 'gossip:received' and 'gossip:invalid'.
 */
export interface P2P extends EventTarget {
  start(): Promise<void>
  stop(): Promise<void>
  /** The libp2p node; throws NotStartedError before `start`. */
  readonly libp2p: Host
  /** The gossip topic of this ledger. */
  readonly topic: string
  /** True when gossipsub accepts subscriptions and messages on `topic` (the host's allow-list). */
  allowsTopic(topic: string): boolean
  /** Listen multiaddrs, each ending with `/p2p/<PeerId>`. */
  addresses(): string[]
  /** Hex keys of the members connected right now. */
  connectedMembers(): string[]
  /** Pulls from one member, named by PeerId, PeerId string, or member key (bytes or hex). */
  syncWith(peer: PeerId | string | Uint8Array): Promise<SyncResult>
  /** Syncs with every connected member; failures are logged. */
  syncAll(): Promise<void>
  /** This clock against the connected members' (null without a gate or before any answer). */
  clockSkew(): ClockSkew | null
  /** What the own-chain guard waits for (null without a gate). */
  ownChain(): OwnChainState | null
  /** Resolves once the own chain is confirmed (at once without a gate); rejects with CHAIN_EXISTS. */
  ownChainDecided(): Promise<void>
}

interface Running { host: Host, sync: Sync, gossip: Gossip, guard: MembershipGuard, dialer: Dialer, writes?: WriteGuard, unforward: () => void }

const FORWARDED = ['sync:complete', 'sync:failed', 'gossip:received', 'gossip:invalid'] as const

/** Creates the P2P layer: `createP2P(init)(components)`, then `start()`. */
export function createP2P (init: P2PInit) {
  return (components: P2PComponents): P2P => {
    const { ledger, logger } = components
    const log = logger.child({ module: 'p2p' })
    const events = new EventTarget()
    const topic = blocksTopic(toHex(ledger.id))
    // Fixed at creation, like gossipsub's own list: a subscription that arrives for a topic not
    // admitted yet is dropped for good, so every topic this peer may use must be admitted now.
    const allowed = new TopicAllowList([topic, ...(init.extraTopics ?? [])], init.topicPrefixes ?? [])
    let running: Running | undefined

    const onPeer = (type: 'peer:connected' | 'peer:disconnected') => (e: CustomEvent<PeerId>): void => {
      const hex = memberHexOfPeer(e.detail)
      if (hex !== undefined) events.dispatchEvent(new CustomEvent(type, { detail: hex }))
    }
    const onConnect = onPeer('peer:connected')
    const onDisconnect = onPeer('peer:disconnected')

    const launch = async (): Promise<Running> => {
      const privateKey = await privateKeyFromSeed(init.seed)
      if (!equals(privateKey.publicKey.raw, ledger.self)) {
        throw new IdentityMismatchError('the P2P seed is not the key the ledger signs with')
      }
      const gater = createMemberGater({ members: ledger, logger })
      const host = await createHost({ privateKey, listen: init.listen, announce: init.announce, gater, topics: allowed, encrypters: init.encrypters })
      const sync = createSync({ intervalMs: init.syncIntervalMs, maxBlocks: init.syncMaxBlocks })({ libp2p: host, ledger, logger })
      const gossip = createGossip()({ pubsub: host.services.pubsub, ledger, logger, sync })
      const guard = createMembershipGuard()({ members: ledger, libp2p: host, logger })
      const dialer = createDialer({ bootstrap: init.bootstrap, minBackoffMs: init.redialMinMs, maxBackoffMs: init.redialMaxMs })({
        libp2p: host, members: ledger, self: ledger.self, logger
      })
      const forward = (e: Event): void => {
        events.dispatchEvent(new CustomEvent(e.type, { detail: (e as CustomEvent).detail }))
      }
      const sourceOf = (type: typeof FORWARDED[number]): EventTarget => type.startsWith('sync') ? sync : gossip
      for (const type of FORWARDED) sourceOf(type).addEventListener(type, forward)
      const unforward = (): void => {
        for (const type of FORWARDED) sourceOf(type).removeEventListener(type, forward)
      }
      const gate = components.gate
      const writes = gate === undefined
        ? undefined
        : createWriteGuard({ freshChain: init.freshChain })({
          libp2p: host, ledger, gate, logger, clock: components.clock ?? Date.now, syncWith: async (peer) => await sync.syncWith(peer)
        })
      host.addEventListener('peer:connect', onConnect)
      host.addEventListener('peer:disconnect', onDisconnect)
      try {
        // The sync and status handlers are registered before listening, so no early member finds
        // them missing; writes are held (if they must be) before any member connects.
        await sync.start()
        await writes?.register()
        writes?.start()
        await host.start()
        gossip.start()
        guard.start()
        dialer.start()
      } catch (err) {
        await shutdown({ host, sync, gossip, guard, dialer, writes, unforward })
        throw err
      }
      log.info({ peer: host.peerId.toString(), addrs: host.getMultiaddrs().map(String) }, 'p2p started')
      return { host, sync, gossip, guard, dialer, writes, unforward }
    }

    let starting: Promise<Running> | undefined
    const start = async (): Promise<void> => {
      if (running !== undefined) return
      starting ??= launch().finally(() => { starting = undefined })
      running = await starting
    }

    const shutdown = async (r: Running): Promise<void> => {
      r.dialer.stop()
      r.guard.stop()
      r.gossip.stop()
      await r.writes?.stop()
      await r.sync.stop()
      r.unforward()
      await r.host.stop()
      r.host.removeEventListener('peer:connect', onConnect)
      r.host.removeEventListener('peer:disconnect', onDisconnect)
    }

    const stop = async (): Promise<void> => {
      if (starting !== undefined) await starting.catch(() => undefined)
      const r = running
      if (r === undefined) return
      running = undefined
      await shutdown(r)
      log.info('p2p stopped')
    }

    const need = (): Running => {
      if (running === undefined) throw new NotStartedError('the P2P layer is not started')
      return running
    }

    // A getter cannot go through Object.assign (it would be read once, before start).
    Object.defineProperty(events, 'libp2p', { get: () => need().host, enumerable: true })
    return Object.assign(events as EventTarget & { readonly libp2p: Host }, {
      start,
      stop,
      topic,
      allowsTopic: (t: string): boolean => allowed.has(t),
      addresses (): string[] {
        return running === undefined ? [] : running.host.getMultiaddrs().map(String)
      },
      connectedMembers (): string[] {
        if (running === undefined) return []
        const out = new Set<string>()
        for (const peerId of running.host.getPeers()) {
          const hex = memberHexOfPeer(peerId)
          if (hex !== undefined && isMemberPeer(ledger, peerId)) out.add(hex)
        }
        return [...out].sort()
      },
      async syncWith (peer: PeerId | string | Uint8Array): Promise<SyncResult> {
        const r = need()
        let peerId: PeerId
        try {
          peerId = toPeerId(peer)
        } catch {
          throw new NotMemberPeerError('expected a PeerId or a 32-byte member key')
        }
        return await r.sync.syncWith(peerId)
      },
      async syncAll (): Promise<void> {
        await need().sync.syncAll()
      },
      clockSkew: (): ClockSkew | null => running?.writes?.clockSkew() ?? null,
      ownChain: (): OwnChainState | null => running?.writes?.ownChain() ?? null,
      async ownChainDecided (): Promise<void> {
        await need().writes?.decided
      }
    })
  }
}
