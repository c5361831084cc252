// Wraps a 32-byte data key for one recipient's X25519 key with a sealed box (docs/design.md §5): a fresh
// ephemeral key pair, NaCl `box` (X25519 + XSalsa20-Poly1305) from the ephemeral secret to the
// recipient, and the ephemeral public key in front. Only the recipient's secret key opens it.
import { blake2b } from '@noble/hashes/blake2.js'
import nacl from 'tweetnacl'
import { concat, equals } from '../bytes.ts'
import { sha256 } from './hash.ts'
import { MedichainError } from '../errors.ts'
import { secureRandomBytes } from './user-keys.ts'
import type { RandomBytes } from './user-keys.ts'

/** Size of a data key: AES-256 (content-crypto.ts). */
export const DATA_KEY_BYTES = 32

/** Size of a wrapped data key: ephemeral public key (32) + data key (32) + Poly1305 tag (16). */
export const WRAPPED_KEY_BYTES = 32 + DATA_KEY_BYTES + nacl.box.overheadLength

/**
 * The box nonce: BLAKE2b with a 24-byte output over ephemeralPub ‖ recipientPub.
 *
 * Why BLAKE2b and not SHA-512 (which tweetnacl already ships): this makes the format exactly
 * libsodium's crypto_box_seal (libsodium docs, "Sealed boxes"), a construction that is published,
 * analysed and implemented in every language. Any libsodium binding can open our wrapped keys,
 * and test/vectors/key-wrap.json holds boxes made and opened by libsodium 1.0.18 itself. The hash
 * needs no secrecy: the ephemeral key is fresh per wrap, so the nonce only has to be unique per
 * (ephemeral, recipient) pair, and binding the recipient's key stops a box being re-targeted.
 * BLAKE2b-192 is not a truncated BLAKE2b-512 (the output length is a parameter, RFC 7693 §2.5),
 * so it comes from @noble/hashes in Node as well as in browsers.
 */
function sealNonce (ephemeralPub: Uint8Array, recipientPub: Uint8Array): Uint8Array {
  return blake2b(concat(ephemeralPub, recipientPub), { dkLen: nacl.box.nonceLength })
}

/** True when all bytes are zero; constant-time over the length. */
function isZero (bytes: Uint8Array): boolean {
  let acc = 0
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]
  return acc === 0
}

/**
 * True when X25519(secret, pub) is all zero, i.e. `pub` has small order. libsodium's box refuses
 * such keys (crypto_scalarmult returns -1); tweetnacl does not, and a box to such a key would be
 * readable by anyone, so both directions check it here.
 */
function isWeakPair (pub: Uint8Array, secret: Uint8Array): boolean {
  return isZero(nacl.scalarMult(secret, pub))
}

function badKey (message: string): MedichainError {
  return new MedichainError('BAD_KEY', message)
}

/**
 * Wraps `dataKey` (32 bytes) for `recipientBoxPub` (32-byte X25519). `random` supplies the 32-byte
 * ephemeral secret; tests fix it to reproduce the vectors. Returns WRAPPED_KEY_BYTES bytes.
 * Throws MedichainError BAD_KEY for a key of the wrong size or a small-order recipient key.
 */
export function wrapKey (dataKey: Uint8Array, recipientBoxPub: Uint8Array, random: RandomBytes = secureRandomBytes): Uint8Array {
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== DATA_KEY_BYTES) throw badKey(`expected a ${DATA_KEY_BYTES}-byte data key`)
  if (!(recipientBoxPub instanceof Uint8Array) || recipientBoxPub.length !== nacl.box.publicKeyLength) {
    throw badKey(`expected a ${nacl.box.publicKeyLength}-byte X25519 recipient key`)
  }
  return sealPayload(dataKey, recipientBoxPub, random)
}

/** crypto_box_seal of any payload (see wrapKey). */
function sealPayload (payload: Uint8Array, recipientBoxPub: Uint8Array, random: RandomBytes): Uint8Array {
  if (!(recipientBoxPub instanceof Uint8Array) || recipientBoxPub.length !== nacl.box.publicKeyLength) {
    throw badKey(`expected a ${nacl.box.publicKeyLength}-byte X25519 recipient key`)
  }
  const ephemeralSecret = random(nacl.box.secretKeyLength)
  const ephemeral = nacl.box.keyPair.fromSecretKey(ephemeralSecret)
  ephemeralSecret.fill(0)
  if (isWeakPair(recipientBoxPub, ephemeral.secretKey)) throw badKey('the recipient key has small order')
  const nonce = sealNonce(ephemeral.publicKey, recipientBoxPub)
  const box = nacl.box(payload, nonce, recipientBoxPub, ephemeral.secretKey)
  ephemeral.secretKey.fill(0)
  return concat(ephemeral.publicKey, box)
}

/**
 * Opens a wrapped data key with the recipient's 32-byte X25519 secret key. Throws MedichainError
 * BAD_WRAPPED_KEY on any failure (wrong size, wrong recipient, a flipped bit, a weak ephemeral key,
 * a bad secret key), without saying which: a caller learns nothing from the failure.
 */
export function unwrapKey (wrapped: Uint8Array, recipientBoxSecret: Uint8Array): Uint8Array {
  return openPayload(wrapped, WRAPPED_KEY_BYTES, recipientBoxSecret)
}

/** crypto_box_seal_open of a box of exactly `length` bytes (see unwrapKey). */
function openPayload (wrapped: Uint8Array, length: number, recipientBoxSecret: Uint8Array): Uint8Array {
  const fail = (why: string): MedichainError => new MedichainError('BAD_WRAPPED_KEY', `cannot unwrap the data key: ${why}`)
  if (!(wrapped instanceof Uint8Array) || wrapped.length !== length) {
    throw fail(`expected ${length} bytes, got ${wrapped instanceof Uint8Array ? wrapped.length : typeof wrapped}`)
  }
  if (!(recipientBoxSecret instanceof Uint8Array) || recipientBoxSecret.length !== nacl.box.secretKeyLength) {
    throw fail(`expected a ${nacl.box.secretKeyLength}-byte secret key`)
  }
  const ephemeralPub = wrapped.subarray(0, 32)
  if (isWeakPair(ephemeralPub, recipientBoxSecret)) throw fail('the ephemeral key has small order')
  const recipientPub = nacl.box.keyPair.fromSecretKey(recipientBoxSecret).publicKey
  const nonce = sealNonce(ephemeralPub, recipientPub)
  const key = nacl.box.open(wrapped.subarray(32), nonce, ephemeralPub, recipientBoxSecret)
  if (key === null) throw fail('authentication failed (wrong recipient or altered bytes)')
  return key
}

/** Largest payload `sealTo` takes: a relayed sign-in proof is about 250 bytes. */
export const MAX_SEALED_PAYLOAD_BYTES = 4096

/**
 * crypto_box_seal of a payload of any length up to MAX_SEALED_PAYLOAD_BYTES for one X25519 key
 * (a hospital's box key, for a relayed sign-in proof; protocol/crypto/relay-sign-in.ts). Only that key's
 * holder opens it; whoever carries it learns nothing but its length.
 */
export function sealTo (payload: Uint8Array, recipientBoxPub: Uint8Array, random: RandomBytes = secureRandomBytes): Uint8Array {
  if (!(payload instanceof Uint8Array) || payload.length > MAX_SEALED_PAYLOAD_BYTES) throw badKey(`expected at most ${MAX_SEALED_PAYLOAD_BYTES} bytes to seal`)
  return sealPayload(payload, recipientBoxPub, random)
}

/** Opens a box made by `sealTo`; BAD_WRAPPED_KEY on any failure, without saying which. */
export function openSealed (sealed: Uint8Array, recipientBoxSecret: Uint8Array): Uint8Array {
  const overhead = 32 + nacl.box.overheadLength
  const length = sealed instanceof Uint8Array && sealed.length >= overhead && sealed.length <= overhead + MAX_SEALED_PAYLOAD_BYTES ? sealed.length : -1
  return openPayload(sealed, length, recipientBoxSecret)
}

/** Size of a key wrapped with its binding: ephemeral key, 32-byte binding digest, key, MAC. */
export const BOUND_WRAPPED_KEY_BYTES = WRAPPED_KEY_BYTES + 32

/** The digest that binds a wrapped key to one part ('raw' or 'result') of one image. */
function binding (part: 'raw' | 'result', imageCid: Uint8Array): Uint8Array {
  return sha256(concat(new TextEncoder().encode(`medichain/bound-key/v1/${part}`), imageCid))
}

/**
 * Wraps `dataKey` together with the image it opens, for a recipient that will re-wrap it for
 * someone else (a hospital named in a consent). The box authenticates the binding, so a key
 * wrapped for the same hospital for another image, or without a binding, cannot be passed off
 * as this image's key: the peer checks the binding before it re-wraps anything.
 */
export function wrapBoundKey (dataKey: Uint8Array, part: 'raw' | 'result', imageCid: Uint8Array, recipientBoxPub: Uint8Array, random: RandomBytes = secureRandomBytes): Uint8Array {
  return wrapBound(dataKey, binding(part, imageCid), recipientBoxPub, random)
}

/**
 * Wraps a 32-byte key together with a 32-byte binding digest (what the key opens): the recipient
 * checks the digest before it uses the key (wrapBoundKey for an image part; study-key.ts for a
 * study). Each kind of binding hashes its own prefix, so one kind never passes for another.
 */
export function wrapBound (key: Uint8Array, digest: Uint8Array, recipientBoxPub: Uint8Array, random: RandomBytes = secureRandomBytes): Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== DATA_KEY_BYTES) throw badKey(`expected a ${DATA_KEY_BYTES}-byte data key`)
  if (!(digest instanceof Uint8Array) || digest.length !== 32) throw badKey('expected a 32-byte binding digest')
  const payload = concat(digest, key)
  try {
    return sealPayload(payload, recipientBoxPub, random)
  } finally {
    payload.fill(0)
  }
}

/** Opens a key wrapped by `wrapBoundKey`; BAD_WRAPPED_KEY unless it is bound to this image part. */
export function unwrapBoundKey (wrapped: Uint8Array, part: 'raw' | 'result', imageCid: Uint8Array, recipientBoxSecret: Uint8Array): Uint8Array {
  return unwrapBound(wrapped, binding(part, imageCid), recipientBoxSecret)
}

/** Opens a key wrapped by `wrapBound`; BAD_WRAPPED_KEY unless it carries exactly `digest`. */
export function unwrapBound (wrapped: Uint8Array, digest: Uint8Array, recipientBoxSecret: Uint8Array): Uint8Array {
  const payload = openPayload(wrapped, BOUND_WRAPPED_KEY_BYTES, recipientBoxSecret)
  if (!equals(payload.subarray(0, 32), digest)) {
    payload.fill(0)
    throw new MedichainError('BAD_WRAPPED_KEY', 'cannot unwrap the data key: it is bound to another image')
  }
  const key = payload.slice(32)
  payload.fill(0)
  return key
}
