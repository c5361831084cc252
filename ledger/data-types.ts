// The ledger's plain data types: what its chains, members, transactions and state views look like.
// Nothing here imports the ledger's code, so every ledger module may use them without a circle;
// ledger/types.ts re-exports them beside the Ledger interface.
import type { CID } from 'multiformats/cid'
import type { TxBodies } from '../protocol/chain/tx.ts'

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

/** Milliseconds since the Unix epoch; a component so tests control time without mocks. */
export type Clock = () => number

/** Every position a transaction holds, sorted: `t:` values. */
export type TxLocations = Array<[author: Uint8Array, height: number, index: number]>

/** Where a transaction sits, and the causal order key of its block. */
export interface TxContext { author: Uint8Array, height: number, index: number, order: number }

/** Reads state synchronously, including writes pending in the current batch (see BatchWriter). */
export interface StateView { get(key: string): Uint8Array | undefined }

/** An image as the ledger records it (`image.add`, or `image.rekey` with the raw CID it `replaces`), with its custodian. */
export type ImageRecord = TxBodies['image.add'] & { custodian: Uint8Array, tx: Uint8Array, time: number, replaces?: CID }
