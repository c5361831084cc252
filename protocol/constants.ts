// Protocol constants shared by the peer, the ledger and the browser. Each value says where it
// comes from; changing one changes the wire format or the consensus rules.

/** Domain-separation tags: every signature covers `tag || 0x00 || bytes` (DESIGN §4). */
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

/** Ed25519 sizes in bytes (RFC 8032 §5.1). */
export const ED25519_PUBLIC_KEY_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64

/** X25519 public key size in bytes (RFC 7748 §5). */
export const X25519_PUBLIC_KEY_BYTES = 32

/** SHA-256 digest size in bytes (FIPS 180-4). */
export const HASH_BYTES = 32

/** Upper bound on members of one consortium; bounds link vectors and quorum maths. */
export const MAX_MEMBERS = 256
