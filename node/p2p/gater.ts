// The consortium allow-list (docs/design.md §3): a connection gater that admits only current members,
// read live from the ledger, and a guard that cuts existing connections when a member is removed.
import type { Connection, ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from 'pino'
import type { Ledger } from '../../ledger/types.ts'
import { memberKeyOfPeer } from './identity.ts'
import { peerIdInMultiaddr } from './multiaddrs.ts'

/** Where membership is read from: the ledger, or anything with the same surface. */
export type MemberSource = Pick<Ledger, 'isMember' | 'members'> & Pick<EventTarget, 'addEventListener' | 'removeEventListener'>

/** True when the peer authenticates with the key of an active member. */
export function isMemberPeer (members: Pick<MemberSource, 'isMember'>, peerId: PeerId): boolean {
  const key = memberKeyOfPeer(peerId)
  return key !== undefined && members.isMember(key)
}

/** What the gater needs. */
export interface MemberGaterComponents {
  members: Pick<MemberSource, 'isMember'>
  logger: Logger
}

/**
 * A libp2p connection gater that refuses every peer that is not an active member right now.
 * Inbound strangers are dropped right after the TLS or noise handshake, when their key is first known;
 * outbound dials to them are never started.
 */
export function createMemberGater (components: MemberGaterComponents): ConnectionGater {
  const log = components.logger.child({ module: 'p2p:gater' })
  const deny = (peerId: PeerId, where: string): boolean => {
    if (isMemberPeer(components.members, peerId)) return false
    log.debug({ peer: peerId.toString(), where }, 'refused a non-member peer')
    return true
  }
  return {
    denyDialPeer: (peerId) => deny(peerId, 'dial'),
    denyDialMultiaddr: (ma: Multiaddr) => {
      const named = peerIdInMultiaddr(ma)
      if (named === undefined) return false
      let peerId: PeerId
      try {
        peerId = peerIdFromString(named)
      } catch {
        return true
      }
      return deny(peerId, 'dial-addr')
    },
    denyInboundEncryptedConnection: (peerId) => deny(peerId, 'inbound'),
    denyOutboundEncryptedConnection: (peerId) => deny(peerId, 'outbound'),
    denyInboundUpgradedConnection: (peerId) => deny(peerId, 'inbound-upgraded'),
    denyOutboundUpgradedConnection: (peerId) => deny(peerId, 'outbound-upgraded'),
    filterMultiaddrForPeer: (peerId) => isMemberPeer(components.members, peerId)
  }
}

/** What the membership guard needs. */
export interface MembershipGuardComponents {
  members: MemberSource
  libp2p: Libp2p
  logger: Logger
}

/** Cuts connections to peers that stop being members. */
export interface MembershipGuard {
  start(): void
  stop(): void
  /** Hangs up on every connected peer that is not an active member; resolves to how many. */
  enforce(): Promise<number>
}

/**
 * Watches 'members:changed' and hangs up on peers that are no longer active members; the gater
 * then refuses them on redial. It also re-checks each new connection, closing one that passed
 * the gater just before a removal landed.
 */
export function createMembershipGuard () {
  return (components: MembershipGuardComponents): MembershipGuard => {
    const log = components.logger.child({ module: 'p2p:gater' })
    const { libp2p, members } = components

    const enforce = async (): Promise<number> => {
      const strangers = new Map<string, PeerId>()
      for (const conn of libp2p.getConnections()) {
        if (!isMemberPeer(members, conn.remotePeer)) strangers.set(conn.remotePeer.toString(), conn.remotePeer)
      }
      await Promise.all([...strangers.values()].map(async (peerId) => {
        log.info({ peer: peerId.toString() }, 'hanging up on a peer that is no longer a member')
        try {
          await libp2p.hangUp(peerId)
        } catch (err) {
          log.warn({ peer: peerId.toString(), err: (err as Error).name }, 'hang-up failed')
        }
      }))
      return strangers.size
    }

    const onMembersChanged = (): void => { void enforce() }
    const onConnectionOpen = (e: CustomEvent<Connection>): void => {
      const conn = e.detail
      if (isMemberPeer(members, conn.remotePeer)) return
      log.info({ peer: conn.remotePeer.toString() }, 'closing a connection from a peer that is no longer a member')
      conn.close().catch(() => conn.abort(new Error('not a member')))
    }

    return {
      start () {
        members.addEventListener('members:changed', onMembersChanged)
        libp2p.addEventListener('connection:open', onConnectionOpen)
      },
      stop () {
        members.removeEventListener('members:changed', onMembersChanged)
        libp2p.removeEventListener('connection:open', onConnectionOpen)
      },
      enforce
    }
  }
}
