// Multiaddr helpers for member addresses: members publish `/ip4/…/tcp/…` in the genesis or their
// admission proposal, and libp2p dials best with the `/p2p/<PeerId>` suffix that pins who answers.
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'

/** The string form of the PeerId a multiaddr ends with, or undefined when it names none. */
export function peerIdInMultiaddr (ma: Multiaddr): string | undefined {
  const components = ma.getComponents()
  for (let i = components.length - 1; i >= 0; i--) {
    if (components[i].name === 'p2p') return components[i].value
  }
  return undefined
}

/**
 * Parses a member address and makes sure it ends with `/p2p/<peerId>`. Returns undefined when the
 * address does not parse or already names a different peer (a misconfiguration, not a dial).
 */
export function memberMultiaddr (addr: string, peerId: PeerId): Multiaddr | undefined {
  let ma: Multiaddr
  try {
    ma = multiaddr(addr)
  } catch {
    return undefined
  }
  const named = peerIdInMultiaddr(ma)
  if (named === undefined) return ma.encapsulate(`/p2p/${peerId.toString()}`)
  return named === peerId.toString() ? ma : undefined
}

/** Parses a multiaddr string, or returns undefined when it is not one. */
export function parseMultiaddr (addr: string): Multiaddr | undefined {
  try {
    return multiaddr(addr)
  } catch {
    return undefined
  }
}
