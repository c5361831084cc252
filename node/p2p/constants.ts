// Tunables of the peer-to-peer layer. Each value says where it comes from; none of them is part
// of the ledger's consensus rules, so peers with different values still interoperate.
import { MAX_BLOCK_BYTES, MAX_CLOCK_SKEW_MS, MAX_MEMBERS } from '../../protocol/constants.ts'

/** A connection encrypter a peer can offer (node/p2p/host.ts). */
export type ConnectionEncrypterName = 'tls' | 'noise'

/**
 * Connection encrypters offered, most preferred first. TLS 1.3 (@libp2p/tls, node:tls with
 * AES-GCM) moved bulk data 1.4× faster than noise (JavaScript framing around ChaCha20-Poly1305)
 * between two members on one machine (docs/benchmarks.md, issue 14); noise stays so members of
 * an older release, which offer noise only, still connect.
 */
export const CONNECTION_ENCRYPTERS: readonly ConnectionEncrypterName[] = Object.freeze(['tls', 'noise'])

/** Stream protocol of catch-up sync (docs/design.md §4 Replication). */
export const SYNC_PROTOCOL = '/medichain/sync/1.0.0'

/** Gossipsub topic of new blocks and evidence for one ledger (docs/design.md §4 Replication). */
export function blocksTopic (ledgerIdHex: string): string {
  return `/medichain/${ledgerIdHex}/blocks`
}

/** Blocks per sync response: enough to catch up fast, few enough to bound one message. */
export const SYNC_MAX_BLOCKS = 512

/** Bytes of block data per sync response: two maximum-size blocks (a response holds at least one). */
export const SYNC_MAX_BYTES = 2 * MAX_BLOCK_BYTES

/**
 * Largest sync frame accepted: one response's blocks, or a frame of evidence (two blocks each),
 * plus CBOR framing headroom.
 */
export const SYNC_MAX_FRAME_BYTES = SYNC_MAX_BYTES + 64 * 1024

/** Evidence ids per sync frame; equivocation is rare, so this is generous. */
export const SYNC_MAX_EVIDENCE_IDS = 1024

/**
 * Head entries per sync request: one per chain. MAX_MEMBERS (256) bounds members at one time;
 * removals and admissions over the years can leave more chains than that.
 */
export const SYNC_MAX_HEADS = 4 * MAX_MEMBERS

/** Request/response rounds per sync session before the client stops and tries again later. */
export const SYNC_MAX_ROUNDS = 1000

/** Time allowed for one read or write on a sync stream (ms); generous for 4 MiB on a slow WAN. */
export const SYNC_IO_TIMEOUT_MS = 20_000

/** Default period of background sync with every connected member (ms). */
export const SYNC_INTERVAL_MS = 10_000

/** First redial delay after a failed dial or a lost connection (ms). */
export const REDIAL_MIN_MS = 250

/** Longest redial delay (ms): a member that was down is found again within half a minute. */
export const REDIAL_MAX_MS = 30_000

/** A connection that lived this long resets the redial backoff (ms); shorter ones keep growing it. */
export const STABLE_CONNECTION_MS = 10_000

/** Time allowed for one dial attempt (ms). */
export const DIAL_TIMEOUT_MS = 10_000

/** Largest gossip message: evidence carries two maximum-size blocks (gossipsub caps at ~4 MiB). */
export const GOSSIP_MAX_BYTES = 2 * MAX_BLOCK_BYTES + 64 * 1024

/**
 * Stream protocol of the status exchange: a member answers with its clock and the asker's own
 * chain head as it holds it (node/p2p/status.ts).
 */
export const STATUS_PROTOCOL = '/medichain/status/1.0.0'

/** Time allowed for one status exchange (ms): one small frame each way. */
export const STATUS_TIMEOUT_MS = 5_000

/** Largest status frame: a head and a time in CBOR, with headroom. */
export const STATUS_MAX_FRAME_BYTES = 1024

/**
 * Period of the status exchange with every connected member (ms): clock skew is measured again and
 * the own head re-checked this often; a held write's Retry-After for CLOCK_SKEW follows from it.
 */
export const STATUS_INTERVAL_MS = 15_000

/**
 * How long a peer whose own chain is not yet confirmed waits, after a first member confirmed it,
 * for the other members to answer before it writes (ms): at start the dialer reaches every member
 * that is up within a couple of seconds, and each of them may hold more of this chain.
 */
export const OWN_HEAD_SETTLE_MS = 5_000

/** Retry-After (s) of a write answered 503 SYNCING: about one sync round with a member. */
export const SYNCING_RETRY_AFTER_S = 5

/**
 * How far this peer's clock may run ahead of its connected members' (median) before it stops
 * writing (ms): half of MAX_CLOCK_SKEW_MS, the validation bound, so a block written at the limit
 * still passes at a member whose own clock is up to the other half behind the median.
 */
export const CLOCK_SKEW_WRITE_LIMIT_MS = MAX_CLOCK_SKEW_MS / 2

/**
 * Shortest time libp2p's connection monitor waits for a ping answer before it aborts the
 * connection (ms; libp2p's default is 5 s). A peer training or validating a model on the wasm
 * backend keeps its event loop busy for seconds per batch on a loaded machine, misses the pings,
 * and had its connections aborted and redialled every round; each reconnection renegotiates
 * gossipsub's subscriptions, and a subscription lost in that renegotiation left FL updates
 * published to nobody (docs/design.md §6). 30 s still catches a dead connection within about
 * three ping intervals; a peer that closes or crashes is noticed at once, by its socket.
 */
export const PING_TIMEOUT_MIN_MS = 30_000
