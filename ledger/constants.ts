// Local settings of one peer's ledger store (not consensus rules: peers may differ). Each value
// says where it comes from.
import { MAX_BLOCK_BYTES } from '../protocol/constants.ts'

/**
 * How often a ledger whose store refused a write tries to recover (ms). A person frees the disk,
 * so a second is prompt for them and costs one statfs call a second meanwhile.
 */
export const STORE_RETRY_MS = 1000

/**
 * Longest wait between two reopens of a store that keeps failing for another reason than a full
 * disk (an I/O error): each reopen briefly closes the store to readers, so they back off to this.
 */
export const STORE_RETRY_MAX_MS = 30_000

/**
 * Free bytes the disk must have before a failed store is reopened. Reopening replays LevelDB's log
 * into a level-0 table of up to one write buffer (4 MiB, classic-level's default writeBufferSize),
 * and the next block may be as large as MAX_BLOCK_BYTES; twice that sum leaves room for the
 * MANIFEST and the new log. Below it the store stays open for reads and keeps refusing writes.
 */
export const STORE_RECOVERY_FREE_BYTES = 2 * (4 * 1024 * 1024 + MAX_BLOCK_BYTES)

/** Size of the write that proves a reopened store takes durable writes again (bytes). */
export const STORE_PROBE_BYTES = 4096
