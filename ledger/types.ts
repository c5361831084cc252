// The ledger's public surface: what the peer daemon, the HTTP API and the sync protocol use.
// Implemented by createLedger (ledger.ts); everything here is plain data or a promise of it.
import type { Block } from '../protocol/chain/block.ts'
import type { Genesis } from '../protocol/chain/genesis.ts'
import type { InclusionProof } from '../protocol/chain/proof.ts'
import type { Tx, TxBodies, TxType } from '../protocol/chain/tx.ts'
import type { Head, MemberView, Evidence, TxLocation, ReceiveStatus, StoreFault, Clock, TxLocations, TxContext, StateView, ImageRecord } from './data-types.ts'

export type { Head, MemberView, Evidence, TxLocation, ReceiveStatus, StoreFault, Clock, TxLocations, TxContext, StateView, ImageRecord }

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
  readonly queries: import('./queries/queries.ts').LedgerQueries
  /** Number of blocks appended, over all authors. */
  size(): number
}

/** What createLedger needs from its host (libp2p-style components). */
export interface LedgerComponents {
  /** The hospital's signing identity (node:crypto in the peer). */
  identity: import('../protocol/crypto/ed25519.ts').Identity
  /** Strict Ed25519 verification (node:crypto in the peer). */
  verify: import('../protocol/crypto/ed25519.ts').Verifier
  logger: import('pino').Logger
  clock: Clock
  /** Held while this peer must not write its own chain (node/p2p sets it); absent: always open. */
  writeGate?: import('./store/write-gate.ts').WriteGate
}

