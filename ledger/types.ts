// The ledger's public surface: what the peer daemon, the HTTP API and the sync protocol use.
// Implemented by createLedger (ledger.ts); everything here is plain data or a promise of it.
import type { CID } from 'multiformats/cid'
import type { Block } from '../protocol/block.ts'
import type { Genesis } from '../protocol/genesis.ts'
import type { InclusionProof } from '../protocol/proof.ts'
import type { Tx, TxBodies, TxType } from '../protocol/tx.ts'

/** The latest block of one member's chain. */
export interface Head { author: Uint8Array, height: number, hash: Uint8Array }

/** A consortium member as the local state sees it now. */
export interface MemberView {
  key: Uint8Array
  name: string
  addrs: string[]
  status: 'active' | 'removed'
  /** True once equivocation evidence against this member is held. */
  flagged: boolean
  /** Heights at which this member signed two blocks (evidence held), ascending. */
  equivocations: number[]
  /** Its blocks above this height are refused (FLAGGED_MEMBER) until resolved; null when none are. */
  refusedAbove: number | null
  /** Equivocations the consortium closed: the block kept at each height, and the `member.resolve` that chose it. */
  resolutions: Array<{ height: number, keep: Uint8Array, proposal: Uint8Array }>
  /** Genesis member, or admitted by the membership proposal with this tx id. */
  admittedBy: Uint8Array | null
}

/** Two signed headers by one author at one height: transferable proof of equivocation. */
export interface Evidence {
  author: Uint8Array
  height: number
  /** Canonical bytes of the two signed blocks, ordered by block hash. */
  blocks: [Uint8Array, Uint8Array]
}

/** Where an accepted transaction sits. */
export interface TxLocation { txId: Uint8Array, blockHash: Uint8Array, author: Uint8Array, height: number, index: number }

/** What `receive` did with a block. */
export type ReceiveStatus = 'appended' | 'known' | 'buffered' | 'evidence'

/** Why the ledger store refuses writes: its first failed batch, kept until it recovers. */
export interface StoreFault {
  /** STORAGE_FULL: the disk is full; STORE_FAILED: any other write failure. */
  code: 'STORAGE_FULL' | 'STORE_FAILED'
  message: string
  /** Clock time of the failure (ms since the epoch). */
  since: number
}

/** Events a ledger emits (libp2p style, `noun:verb`). Details are the listed types. */
export interface LedgerEvents {
  /** A block was validated and durably appended (local or remote). */
  'block:appended': Block
  /** Membership changed; detail is the new member list. */
  'members:changed': MemberView[]
  /** Equivocation evidence was stored for the first time. */
  'evidence:found': Evidence
  /** The store refused a batch: nothing of it was acknowledged, and writes are refused from now. */
  'store:failed': StoreFault
  /** The store takes writes again after the fault in the detail; memory was re-read from disk. */
  'store:recovered': StoreFault
}

/** Options of createLedger. */
export interface LedgerInit {
  /** Folder of the level database. */
  path: string
  genesis: Genesis
  /** Upper bound on blocks waiting for a missing dependency. */
  maxBuffered?: number
  /** Worker threads verifying signatures of received blocks (0: verify on the main thread). */
  verifyWorkers?: number
}

/** The replicated hash-chain ledger of one peer. */
export interface Ledger extends EventTarget {
  readonly id: Uint8Array
  readonly genesis: Genesis
  /** This peer's own author key. */
  readonly self: Uint8Array

  start(): Promise<void>
  stop(): Promise<void>

  /** Queues a signed transaction for the next local block; resolves once that block is durable. */
  submit(tx: Tx): Promise<TxLocation>
  /** Builds, signs (with the hospital key) and submits a hospital transaction. */
  submitOwn<T extends TxType>(type: T, body: TxBodies[T]): Promise<TxLocation>
  /**
   * Validates and appends a block from the network; throws a typed MedichainError when invalid.
   * `replay` (used by `ledger verify`) also accepts blocks of members removed since.
   */
  receive(bytes: Uint8Array, opts?: { replay?: boolean }): Promise<ReceiveStatus>
  /** Stores equivocation evidence received from a peer after checking it. */
  receiveEvidence(evidence: Evidence): Promise<boolean>

  heads(): Head[]
  /** Blocks the holder of `theirs` lacks, in causal order, at most `limit`. */
  blocksAfter(theirs: Head[], limit: number): Promise<Uint8Array[]>
  /** Blocks of one author from height `from`, at most `limit`. */
  blocks(author: Uint8Array, from: number, limit: number): Promise<Block[]>
  block(author: Uint8Array, height: number): Promise<Block | undefined>
  blockByHash(hash: Uint8Array): Promise<Block | undefined>
  /** A transaction with its inclusion proof. */
  tx(id: Uint8Array): Promise<{ location: TxLocation, proof: InclusionProof } | undefined>
  stateRoot(): Promise<Uint8Array>
  members(): MemberView[]
  /** True when `key` is an active member in the local view. */
  isMember(key: Uint8Array): boolean
  /** Why writes are refused now (the store failed and has not recovered yet), or null. */
  storeFault(): StoreFault | null
  evidence(): Promise<Evidence[]>
  /**
   * True once this folder's own chain was confirmed as the consortium holds it (by a member, by a
   * one-member consortium, or by an admin starting the chain afresh), and kept since: then nothing
   * of this chain exists elsewhere that this folder lacks, since every own block is durable here
   * before it is sent. False in a new, emptied or rebuilt folder.
   */
  ownChainKnown(): boolean
  /** Records durably that this folder's own chain is the consortium's (see ownChainKnown). */
  markOwnChainKnown(): Promise<void>
  /** The seed contract's queries and per-patient reads. */
  readonly queries: import('./queries.ts').LedgerQueries
  /** Number of blocks appended, over all authors. */
  size(): number
}

/** Milliseconds since the Unix epoch; a component so tests control time without mocks. */
export type Clock = () => number

/** What createLedger needs from its host (libp2p-style components). */
export interface LedgerComponents {
  /** The hospital's signing identity (node:crypto in the peer). */
  identity: import('../protocol/ed25519.ts').Identity
  /** Strict Ed25519 verification (node:crypto in the peer). */
  verify: import('../protocol/ed25519.ts').Verifier
  logger: import('pino').Logger
  clock: Clock
  /** Held while this peer must not write its own chain (node/p2p sets it); absent: always open. */
  writeGate?: import('./write-gate.ts').WriteGate
}

/** Every position a transaction holds, sorted: `t:` values. */
export type TxLocations = Array<[author: Uint8Array, height: number, index: number]>

/** Where a transaction sits, and the causal order key of its block. */
export interface TxContext { author: Uint8Array, height: number, index: number, order: number }

/** Reads state synchronously, including writes pending in the current batch (see BatchWriter). */
export interface StateView { get(key: string): Uint8Array | undefined }

/** An image as the ledger records it (`image.add`, or `image.rekey` with the raw CID it `replaces`), with its custodian. */
export type ImageRecord = TxBodies['image.add'] & { custodian: Uint8Array, tx: Uint8Array, time: number, replaces?: CID }
