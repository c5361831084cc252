// Tunables of image storage (docs/design.md §5). None is part of the ledger's rules: peers with different
// values still agree on who pins what, except for PIN_REPLICAS, which every peer should share.

/** Folder of image blocks (blockstore-fs) inside the data folder. */
export const BLOCKS_DIR = 'blocks'

/** Folder of helia's own datastore (datastore-level: pin records) inside the data folder. */
export const HELIA_DIR = 'helia'

/** Members besides the custodian that pin each image (docs/design.md §5 Availability: k = 1). */
export const PIN_REPLICAS = 1

/** Period of the retry of owed pins (ms): what this peer should hold but could not fetch yet. */
export const REPAIR_INTERVAL_MS = 30_000

/**
 * Blocks between saves of replication's cursor (the ledger heads it has read up to), and per
 * page of the catch-up after a restart: a crash re-reads at most this many blocks.
 */
export const REPAIR_CURSOR_BLOCKS = 256

/**
 * Time one block may take to arrive (ms) before a read gives up with UNAVAILABLE. It bounds each
 * block, not the whole file, so a large image on a slow link is not cut off half way.
 */
export const BLOCK_TIMEOUT_MS = 30_000

/**
 * Bytes a read asks the unixfs exporter for at a time. The exporter fetches every block of a
 * request at once and buffers what the consumer has not taken yet, so requests of this size, at
 * most two in flight, bound a reader's memory to 2 × 8 MiB whatever the image size.
 */
export const READ_SEGMENT_BYTES = 8 * 1024 * 1024

/**
 * Blocks a read fetches ahead of the one it yields, whatever the source (local disk, a member's
 * block stream, bitswap): 32 × 1 MiB leaves keep a cross-hospital read's pipe full on a LAN,
 * and bound a reader's memory to about 32 MiB plus the stream window.
 */
export const READ_AHEAD_BLOCKS = 32

/** The block stream protocol between members (stream/block-stream.ts). */
export const BLOCK_STREAM_PROTOCOL = '/medichain/blocks/1.0.0'

/** Largest frame of a block stream: a 1 MiB leaf is the largest block our importer writes, with room for a foreign one up to 2 MiB. */
export const BLOCK_STREAM_MAX_FRAME = 2 * 1024 * 1024 + 1024

/** Blocks the serving member reads from its disk ahead of the one it writes to the stream. */
export const BLOCK_STREAM_SERVE_AHEAD = 8

/** Bytes a reader takes from a block stream ahead of what it has asked for before it stops reading (yamux flow control then holds the sender). */
export const BLOCK_STREAM_WINDOW_BYTES = 32 * 1024 * 1024

/** Bytes a block stream may hold unread: two windows, over yamux's largest window (16 MiB) the sender may have in flight. */
export const BLOCK_STREAM_BUFFER_BYTES = 2 * BLOCK_STREAM_WINDOW_BYTES

/** Images pinned at the same time by replication and repair: enough to overlap round trips. */
export const PIN_CONCURRENCY = 2


/**
 * First wait (ms) for a block before its want is withdrawn and sent again (then 2×, 4×, …, up to
 * the read's deadline). Long enough that a 1 MiB block on a slow link is not asked for twice.
 */
export const WANT_RETRY_MS = 5_000

/** Pause (ms) between withdrawing a want and asking again: over bitswap's 10 ms wantlist debounce. */
export const WANT_RETRY_GAP_MS = 50

/**
 * Bitswap send limits, raised from @helia/bitswap's 10 s and 10 queued sends: a member answering
 * many wants on a loaded machine must not drop a block message, which the asker would only
 * re-request after WANT_RETRY_MS.
 */
export const BITSWAP_SEND_TIMEOUT_MS = 30_000
export const BITSWAP_SEND_QUEUE = 256

/**
 * Worker threads that encrypt uploads into the blockstore (seal/seal-pool.ts), started on first use:
 * two keep both cores of a small server busy when uploads overlap; one upload uses one.
 */
export const SEAL_WORKERS = 2

/** Block files fsynced at a time after an add or pin: enough to keep the device queue busy. */
export const SYNC_CONCURRENCY = 16

/**
 * Orphan blocks younger than this are never collected (ms): longer than any upload takes between
 * its last block and its ledger record, and than a record takes to reach this peer after a block
 * it names was fetched. In-flight uploads are held explicitly; this is the second line.
 */
export const COLLECT_GRACE_MS = 60 * 60 * 1000

/** Period of the orphan collector (ms); orphans come only from crashes and failed uploads. */
export const COLLECT_INTERVAL_MS = 60 * 60 * 1000
