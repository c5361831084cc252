// Constants of secure aggregation (Bonawitz et al., "Practical Secure Aggregation for
// Privacy-Preserving Machine Learning", CCS 2017), with where each value comes from.

/** Bits of the integer ring the masked vectors live in: Z/2^32, so masks add and cancel exactly as uint32. */
export const RING_BITS = 32

/**
 * Largest absolute value the unmasked sum may reach, in ring units: 2^31 − 1, so a signed sum read
 * back from Z/2^32 is unambiguous. quantise.ts picks the fixed-point scale from it.
 */
export const RING_HALF = 2 ** 31 - 1

/** Bytes of an X25519 key, private or public (RFC 7748 §5). */
export const X25519_KEY_BYTES = 32

/** Bytes of a self-mask seed b_u (Bonawitz §4: a PRG seed of the security parameter's length). */
export const SEED_BYTES = 32

/** AES-GCM nonce and tag sizes (NIST SP 800-38D: 96-bit nonce, 128-bit tag). */
export const GCM_NONCE_BYTES = 12
export const GCM_TAG_BYTES = 16

/** HKDF info strings: one key per purpose, so a mask key can never decrypt a share (RFC 5869 §3.2). */
export const HKDF_INFO = {
  pairMask: 'medichain/secagg/v1/pair-mask',
  selfMask: 'medichain/secagg/v1/self-mask',
  share: 'medichain/secagg/v1/share'
} as const

/** Domain tag every secure-aggregation message is signed under (messages.ts). */
export const SECAGG_TAG = 'medichain/fl/secagg/v1'

/** Most hospitals in one secure round: Shamir over GF(2^8) has 255 non-zero x-coordinates. */
export const MAX_PARTIES = 255
