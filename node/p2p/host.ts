// The libp2p 3 node of a peer: TCP, noise, yamux, identify, ping and gossipsub, and nothing that
// reaches beyond the consortium (no mDNS, bootstrap lists, relays, AutoNAT or UPnP).
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { ConnectionGater, Libp2p, PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { sha256 } from '../../protocol/hash.ts'

/** The libp2p services a Medichain host runs. */
export interface HostServices extends Record<string, unknown> {
  identify: Identify
  /**
   * Tells connected members when this node starts handling a protocol after they connected:
   * storage mounts bitswap on this node after the P2P layer is up (node/storage/helia-light.ts),
   * and without a push a member that connected first would never send it a wantlist.
   */
  identifyPush: IdentifyPush
  ping: Ping
  pubsub: GossipSub
}

/** A Medichain libp2p node. */
export type Host = Libp2p<HostServices>

/** Options of createHost. */
export interface HostInit {
  /** The hospital's Ed25519 key (see identity.ts). */
  privateKey: PrivateKey
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/4001`; tests use `/ip4/127.0.0.1/tcp/0`. */
  listen: string[]
  /** Addresses to tell peers instead of the listen addresses (NAT, containers). */
  announce?: string[]
  /** Admits only consortium members (see gater.ts). */
  gater: ConnectionGater
  /** Gossip topics this node accepts subscriptions and messages for; others are dropped. */
  topics: string[]
}

/**
 * Creates (but does not start) the libp2p node. Gossip messages are signed by their publisher
 * (StrictSign) and identified by the SHA-256 of their data, so one block gossiped by two peers
 * is one message.
 */
export async function createHost (init: HostInit): Promise<Host> {
  return await createLibp2p<HostServices>({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: init.listen, ...(init.announce === undefined ? {} : { announce: init.announce }) },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: init.gater,
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        emitSelf: false,
        globalSignaturePolicy: 'StrictSign',
        msgIdFn: (msg) => sha256(msg.data),
        fallbackToFloodsub: false,
        doPX: false,
        // One sender's blocks are judged in the order sent, so fewer wait for their `prev`.
        awaitRpcHandler: true,
        awaitRpcMessageHandler: true,
        // maxInboundDataLength stays at its 4 MiB default: it bounds a whole RPC, which may batch
        // several messages, and an RPC over it breaks the stream. decodeGossip bounds each message.
        allowedTopics: init.topics
      })
    }
  })
}
