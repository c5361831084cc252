// Protocol constants shared by the peer, the ledger and the browser. Each value says where it
// comes from; changing one changes the wire format or the consensus rules.

/** Domain-separation tags: every signature covers `tag || 0x00 || bytes` (docs/design.md §4). */
export const DOMAIN = {
  block: 'medichain/block/v1',
  tx: 'medichain/tx/v1',
  consent: 'medichain/consent/v1',
  account: 'medichain/account/v1',
  genesis: 'medichain/genesis/v1',
  setupLink: 'medichain/setup-link/v1'
} as const

/** Wire version of blocks; bumped on any incompatible change to the header. */
export const BLOCK_VERSION = 1

/** Maximum transactions in one block; keeps a block well under gossipsub's 4 MiB cap (STACK.md). */
export const MAX_TXS_PER_BLOCK = 1024

/** Maximum encoded size of one signed block, in bytes: a quarter of gossipsub's silent 4 MiB cap. */
export const MAX_BLOCK_BYTES = 1024 * 1024

/** Maximum encoded size of one transaction, in bytes. */
export const MAX_TX_BYTES = 64 * 1024

/** How far a block's time may run ahead of the receiver's clock (ms): generous NTP drift. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000

/**
 * How long before its block's time a transaction may have been signed (ms). Clients sign with
 * their own clock and submit at once, so an honest transaction is at most MAX_CLOCK_SKEW_MS
 * (the signer's clock behind the peer's) plus queueing and retries (seconds) older than its
 * block; an hour is twelve times the skew limit. The bound keeps a self-declared time near the
 * ledger's own timeline: a transaction cannot be backdated by more than this (ledger/rules/time.ts).
 * The other side is MAX_CLOCK_SKEW_MS: a transaction is never later than its block plus the skew.
 */
export const MAX_TX_AGE_MS = 60 * 60 * 1000

/**
 * Size bound of a `consent.grant` (bytes): CONSENT_BASE_BYTES plus CONSENT_BYTES_PER_IMAGE for
 * each distinct image it names. The fixed part (grantee, kind, purpose, scope record, expiry,
 * signer, seq, time, signature and CBOR framing) measures 283 bytes at most. Per image a grant
 * carries a CID (36 bytes for CIDv1 sha2-256), possibly listed in the scope too, and two wrapped
 * data keys (80 bytes for a sealed box, 112 bound to its image: protocol/crypto/key-wrap.ts) with CBOR
 * framing: 328 bytes measured with both keys bound and the CID in the scope. The budget leaves
 * room for a key wrapping of up to 148 bytes. Since every named image must be the patient's
 * own (FOREIGN_IMAGE), a grant can no longer be padded: its size follows from real images.
 */
export const CONSENT_BASE_BYTES = 512
export const CONSENT_BYTES_PER_IMAGE = 400
/**
 * Further bytes a grant may take per study key it carries (protocol/chain/study-tx.ts GrantedStudyKey):
 * record (16), custodian (32), key id (16) and a bound key (112) with field names and CBOR
 * framing measure 215 bytes; the budget leaves room as CONSENT_BYTES_PER_IMAGE does.
 */
export const CONSENT_BYTES_PER_STUDY = 300

/** Ed25519 sizes in bytes (RFC 8032 §5.1). */
export const ED25519_PUBLIC_KEY_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64

/** X25519 public key size in bytes (RFC 7748 §5). */
export const X25519_PUBLIC_KEY_BYTES = 32

/** SHA-256 digest size in bytes (FIPS 180-4). */
export const HASH_BYTES = 32

/** Upper bound on members of one consortium; bounds link vectors and quorum maths. */
export const MAX_MEMBERS = 256
