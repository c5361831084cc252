// The libp2p 3 node of a peer: TCP, TLS 1.3 or noise, yamux, identify, ping and gossipsub, and nothing
// that reaches beyond the consortium (no mDNS, bootstrap lists, relays, AutoNAT or UPnP). Gossipsub
// admits only this ledger's topics: exact ones, and every topic under a few prefixes (the
// federated-learning task topics, named at run time).
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub, GossipSubComponents, GossipsubOpts } from '@libp2p/gossipsub'
import { identify, identifyPush } from '@libp2p/identify'
import type { Identify, IdentifyPush } from '@libp2p/identify'
import type { ConnectionGater, Libp2p, PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { createLibp2p } from 'libp2p'
import type { Libp2pOptions } from 'libp2p'
import { InvalidRequestError, MedichainError } from '../../protocol/errors.ts'
import { sha256 } from '../../protocol/crypto/hash.ts'
import { CONNECTION_ENCRYPTERS, PING_TIMEOUT_MIN_MS } from './constants.ts'
import type { ConnectionEncrypterName } from './constants.ts'

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

/** Thrown at creation when the installed gossipsub no longer keeps its allow-list where this file expects it. */
export class GossipsubContractError extends MedichainError {
  constructor (message: string) {
    super('GOSSIPSUB_CONTRACT', message)
    this.name = 'GossipsubContractError'
  }
}

/**
 * The topics gossipsub admits: the exact ones, plus every topic strictly under one of the
 * prefixes. Each prefix must end with `/`, so `/medichain/<id>/fl/` admits
 * `/medichain/<id>/fl/<task>` but neither `/medichain/<id>/flood` nor the bare prefix.
 *
 * It is a Set of the exact topics (size, iteration, add and delete see only those: the topics
 * under a prefix are unbounded) whose `has` also answers for the prefixes. `has` is all gossipsub
 * 17.1.1 asks of its allow-list (src/gossipsub.ts: a peer's subscription and each received
 * message are dropped unless `allowedTopics.has(topic)`).
 */
export class TopicAllowList extends Set<string> {
  readonly prefixes: readonly string[]

  constructor (topics: Iterable<string>, prefixes: Iterable<string> = []) {
    super(topics)
    const list = [...prefixes]
    for (const p of list) {
      if (typeof p !== 'string' || p.length < 2 || !p.endsWith('/')) {
        throw new InvalidRequestError(`topic prefix must be a path ending with "/", got ${JSON.stringify(String(p).slice(0, 80))}`)
      }
    }
    this.prefixes = Object.freeze(list)
  }

  override has (topic: string): boolean {
    if (super.has(topic)) return true
    for (const p of this.prefixes) if (topic.length > p.length && topic.startsWith(p)) return true
    return false
  }
}

/**
 * Gossipsub 17.1.1 copies its `allowedTopics` option into a plain Set at construction
 * (`new Set(opts.allowedTopics)`, src/gossipsub.ts), so no object passed through the option can
 * admit a prefix, and it offers no other subscription filter. This service factory therefore
 * builds gossipsub with the exact topics and, before the node starts (so no subscription is
 * ever judged by the exact list alone), puts `allow` where gossipsub keeps its copy: the field
 * `allowedTopics`, which it reads only with `has`. If an upgrade moves or renames that field,
 * creation fails with GOSSIPSUB_CONTRACT rather than letting task topics be dropped silently.
 */
function allowListedGossipsub (opts: Partial<GossipsubOpts>, allow: TopicAllowList): (components: GossipSubComponents) => GossipSub {
  const create = gossipsub({ ...opts, allowedTopics: [...allow] })
  return (components) => {
    const pubsub = create(components)
    const copy: unknown = Reflect.get(pubsub, 'allowedTopics')
    if (!(copy instanceof Set) || copy.size !== allow.size || !Reflect.set(pubsub, 'allowedTopics', allow)) {
      throw new GossipsubContractError('gossipsub no longer keeps its topic allow-list in `allowedTopics`: check node/p2p/host.ts against the installed version')
    }
    return pubsub
  }
}

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
  topics: string[] | TopicAllowList
  /**
   * Connection encrypters offered, most preferred first (default CONNECTION_ENCRYPTERS: TLS 1.3,
   * then noise). A peer of a release before TLS offers noise only; tests build one with `['noise']`.
   */
  encrypters?: readonly ConnectionEncrypterName[]
}

/**
 * The libp2p encrypter of each name. Both authenticate the remote's peer id, which is the member's
 * Ed25519 key (identity.ts): noise signs its static key with it (XX handshake); libp2p TLS puts it
 * in a certificate extension that signs the certificate's key, and TLS 1.3's CertificateVerify
 * proves that key (libp2p/specs tls/tls.md). Either way the gater then judges the same peer id.
 */
const ENCRYPTERS = { tls, noise } as const

/** The encrypters of `names`, in order; INVALID for an empty list, an unknown name or a repeat. */
export function encryptersOf (names: readonly ConnectionEncrypterName[]): NonNullable<Libp2pOptions['connectionEncrypters']> {
  if (names.length === 0 || new Set(names).size !== names.length || names.some(n => !Object.hasOwn(ENCRYPTERS, n))) {
    throw new InvalidRequestError(`encrypters: expected distinct names among ${Object.keys(ENCRYPTERS).join(', ')}, got ${JSON.stringify(names).slice(0, 80)}`)
  }
  return names.map(n => ENCRYPTERS[n]())
}

/**
 * Creates (but does not start) the libp2p node. Gossip messages are signed by their publisher
 * (StrictSign) and identified by the SHA-256 of their data, so one block gossiped by two peers
 * is one message. `topics` is the allow-list (an array: exact topics only).
 */
export async function createHost (init: HostInit): Promise<Host> {
  const allow = init.topics instanceof TopicAllowList ? init.topics : new TopicAllowList(init.topics)
  return await createLibp2p<HostServices>({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: init.listen, ...(init.announce === undefined ? {} : { announce: init.announce }) },
    transports: [tcp()],
    // Offered in this order: each connection uses the first the remote also speaks, so members of
    // an older release (noise only) still connect (docs/ops.md "Transport encryption").
    connectionEncrypters: encryptersOf(init.encrypters ?? CONNECTION_ENCRYPTERS),
    streamMuxers: [yamux()],
    connectionGater: init.gater,
    // A busy event loop (local training) must not read as a dead connection: see PING_TIMEOUT_MIN_MS.
    connectionMonitor: { pingTimeout: { minTimeout: PING_TIMEOUT_MIN_MS } },
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      ping: ping(),
      pubsub: allowListedGossipsub({
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        emitSelf: false,
        globalSignaturePolicy: 'StrictSign',
        msgIdFn: (msg) => sha256(msg.data),
        fallbackToFloodsub: false,
        doPX: false,
        // One sender's blocks are judged in the order sent, so fewer wait for their `prev`.
        awaitRpcHandler: true,
        awaitRpcMessageHandler: true
        // maxInboundDataLength stays at its 4 MiB default: it bounds a whole RPC, which may batch
        // several messages, and an RPC over it breaks the stream. decodeGossip bounds each message.
        // maxTopicBytesPerPeer stays at its 1 MiB default (~1000 topics): it bounds what one
        // member can make this node remember by subscribing to many topics under a prefix.
      }, allow)
    }
  })
}
