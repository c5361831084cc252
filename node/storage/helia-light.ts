// A light helia for one peer (STACK "Don't use default helia"): blockstore-fs for image blocks,
// datastore-level for helia's records, and @helia/bitswap mounted on the peer's own libp2p node,
// so blocks travel only over connections the member-only gater admitted (docs/design.md §5 Cross-hospital
// reads). No mDNS, bootstrap, delegated routing or HTTP gateway: bitswap asks connected members.
import { withBitswap } from '@helia/bitswap'
import type { BitswapBlockBrokerInit } from '@helia/bitswap'
import type { BlockBroker, HeliaMixin, Provider, Routing } from '@helia/interface'
import type { HeliaWithLibp2p } from '@helia/libp2p'
import type { AbortOptions, Libp2p } from '@libp2p/interface'
import { stop as stopAll } from '@libp2p/interface'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast } from 'blockstore-fs/sharding'
import type { ShardingStrategy } from 'blockstore-fs/sharding'
import { LevelDatastore } from 'datastore-level'
import type { MultihashHasher } from 'multiformats'
import type { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { BITSWAP_SEND_QUEUE, BITSWAP_SEND_TIMEOUT_MS } from './constants.ts'
import { InvalidContentError, StorageNotStartedError } from './errors.ts'

/** Options of createHeliaLight. */
export interface HeliaLightInit {
  /** Folder of blockstore-fs (image blocks). */
  blocksPath: string
  /** Folder of datastore-level (pin records). */
  datastorePath: string
  /** Bitswap tuning; the defaults suit 1 MiB blocks. */
  bitswap?: BitswapBlockBrokerInit
}

/** What createHeliaLight needs: the started libp2p node of the peer. */
export interface HeliaLightComponents {
  libp2p: Libp2p
}

/** The block layer of storage: local stores plus bitswap over the peer's connections. */
export interface HeliaLight {
  /** Blocks held on this disk; bitswap serves members from here and only from here. */
  readonly blockstore: FsBlockstore
  /** How the blockstore names a block's file (folder and file name), for fsync and collection. */
  readonly sharding: ShardingStrategy
  /** helia's datastore (pin records live here). */
  readonly datastore: LevelDatastore
  /** Fetches one block from connected members over bitswap; bitswap checks its hash. */
  retrieve(cid: CID, options?: AbortOptions): Promise<Uint8Array>
  /** Tells members whose wantlist holds `cid` that this peer now has it. */
  announce(cid: CID): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * Routing for a closed consortium: no provider records anywhere. Bitswap still sends its
 * wantlist to every connected peer, and only members are ever connected.
 */
const memberOnlyRouting: Pick<Routing, 'findProviders'> = {
  async * findProviders (): AsyncGenerator<Provider> {}
}

/** Hashers beyond SHA-256 are refused: our importer writes only SHA-256 CIDs. */
function getHasher (code: number): MultihashHasher {
  if (code === sha256.code) return sha256
  throw new InvalidContentError(`unsupported multihash 0x${code.toString(16)}; only sha2-256 is accepted`)
}

/**
 * Starts bitswap the way helia's own `withBitswap` mixin does, on a host object that carries
 * exactly the fields the mixin and bitswap read (@helia/bitswap 4.0.19: status, hasBlockBroker,
 * addBlockBroker, addMixin; then libp2p, blockstore, routing, logger, getHasher, metrics). The
 * `helia` package that would provide a full node is not a dependency (it drags in webrtc and
 * react-native), so the host is built here, and the one cast below states that it is enough.
 */
async function startBitswap (libp2p: Libp2p, blockstore: FsBlockstore, init: BitswapBlockBrokerInit): Promise<BlockBroker> {
  const mixins: HeliaMixin[] = []
  let broker: BlockBroker | undefined
  const host = {
    status: 'starting' as const,
    libp2p,
    blockstore,
    routing: memberOnlyRouting,
    logger: libp2p.logger,
    metrics: libp2p.metrics,
    getHasher,
    hasBlockBroker: (name: string): boolean => broker?.name === name,
    addBlockBroker: (b: BlockBroker | ((components: unknown) => BlockBroker)): void => {
      broker = typeof b === 'function' ? b(host) : b
    },
    addMixin: (mixin: HeliaMixin): void => { mixins.push(mixin) }
  }
  const helia = host as unknown as HeliaWithLibp2p
  withBitswap(helia, init)
  for (const mixin of mixins) await mixin.start?.(helia)
  if (broker?.retrieve === undefined || broker.announce === undefined) {
    throw new Error('@helia/bitswap did not register a block broker')
  }
  return broker
}

/** Creates the block layer: `createHeliaLight(init)(components)`, then `start()`. */
export function createHeliaLight (init: HeliaLightInit) {
  return (components: HeliaLightComponents): HeliaLight => {
    // blockstore-fs's default layout, held here so storage can name a block's file.
    const sharding = new NextToLast()
    const blockstore = new FsBlockstore(init.blocksPath, { shardingStrategy: sharding })
    const datastore = new LevelDatastore(init.datastorePath)
    let broker: BlockBroker | undefined

    const need = (): BlockBroker => {
      if (broker === undefined) throw new StorageNotStartedError('the block layer is not started')
      return broker
    }

    return {
      blockstore,
      sharding,
      datastore,
      async retrieve (cid, options = {}) {
        const b = need()
        // startBitswap checked that the broker can retrieve.
        if (b.retrieve === undefined) throw new StorageNotStartedError('bitswap cannot retrieve')
        return await b.retrieve(cid, { signal: options.signal })
      },
      async announce (cid) {
        await need().announce?.(cid)
      },
      async start () {
        if (broker !== undefined) return
        await blockstore.open()
        await datastore.open()
        try {
          broker = await startBitswap(components.libp2p, blockstore, {
            messageSendTimeout: BITSWAP_SEND_TIMEOUT_MS,
            sendBlocksTimeout: BITSWAP_SEND_TIMEOUT_MS,
            sendBlocksMaxQueueLength: BITSWAP_SEND_QUEUE,
            ...init.bitswap
          })
        } catch (err) {
          await datastore.close()
          await blockstore.close()
          throw err
        }
      },
      async stop () {
        const b = broker
        if (b === undefined) return
        broker = undefined
        // The broker is a Startable (BitswapBlockBroker): stop unhandles the protocol.
        await stopAll(b)
        await datastore.close()
        await blockstore.close()
      }
    }
  }
}
