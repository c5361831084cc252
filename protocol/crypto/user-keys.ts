// A user's two key pairs, generated client-side (docs/design.md §3): Ed25519 to sign transactions and
// X25519 to receive wrapped data keys. Also the X25519 key of a hospital, which is derived from its
// Ed25519 member key so that anyone can wrap a data key for a hospital knowing only its member key.
import { ed25519 } from '@noble/curves/ed25519.js'
import nacl from 'tweetnacl'
import { MedichainError } from '../errors.ts'

/** Returns `n` bytes from a cryptographically secure source. A component, so tests can fix it. */
export type RandomBytes = (n: number) => Uint8Array

/** WebCrypto's CSPRNG (Node and browsers); getRandomValues fills at most 65536 bytes per call. */
export const secureRandomBytes: RandomBytes = (n) => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 65536) globalThis.crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  return out
}

/** A user's key material. The two secrets go into the vault; the two public keys onto the ledger. */
export interface UserKeys {
  /** 32-byte Ed25519 seed (RFC 8032 §5.1.5 private key). */
  signSeed: Uint8Array
  /** 32-byte Ed25519 public key: the user's identity on the ledger. */
  signPub: Uint8Array
  /** 32-byte X25519 secret scalar (RFC 7748 §5; clamped when used). */
  boxSecret: Uint8Array
  /** 32-byte X25519 public key that data keys are wrapped for. */
  boxPub: Uint8Array
}

/** The secret half of a user's keys: what a vault seals. */
export type UserSecrets = Pick<UserKeys, 'signSeed' | 'boxSecret'>

function expect32 (v: Uint8Array, what: string): void {
  if (!(v instanceof Uint8Array) || v.length !== 32) {
    throw new MedichainError('BAD_KEY', `expected a 32-byte ${what}, got ${v instanceof Uint8Array ? `${v.length} bytes` : typeof v}`)
  }
}

/** The full key set from the two secrets, recomputing the public keys. */
export function userKeysFromSecrets (secrets: UserSecrets): UserKeys {
  expect32(secrets.signSeed, 'Ed25519 seed')
  expect32(secrets.boxSecret, 'X25519 secret key')
  return {
    signSeed: secrets.signSeed,
    signPub: ed25519.getPublicKey(secrets.signSeed),
    boxSecret: secrets.boxSecret,
    boxPub: nacl.box.keyPair.fromSecretKey(secrets.boxSecret).publicKey
  }
}

/**
 * A fresh key set: two independent 32-byte secrets from `random`. The keys are independent, not
 * derived from one another, so a user's box key does not depend on the signing key's security.
 */
export function generateUserKeys (random: RandomBytes = secureRandomBytes): UserKeys {
  return userKeysFromSecrets({ signSeed: random(32), boxSecret: random(32) })
}

/**
 * The X25519 public key of a hospital, from its 32-byte Ed25519 member key, by the birational map
 * u = (1 + y) / (1 - y) from the Edwards curve to Curve25519 (RFC 7748 §4.1). This is libsodium's
 * crypto_sign_ed25519_pk_to_curve25519, and test/vectors/key-wrap.json checks it against
 * libsodium's own output.
 *
 * Why: a hospital's only published key is its Ed25519 member key, which is also its libp2p PeerId
 * (docs/design.md §3). Deriving its box key lets any patient or peer wrap a data key for a hospital with no
 * second key to register or look up. Using one key for signing and for Diffie-Hellman is safe for
 * Ed25519/X25519 (Thormarker, "On using the same key pair for Ed25519 and an X25519 based KEM",
 * 2021) and is widely deployed (libsodium, age's ssh-ed25519 recipients, Signal's XEdDSA).
 *
 * Throws MedichainError BAD_KEY unless the key is a canonical encoding of a point of large order:
 * a small-order key would give every sender the same all-zero shared secret.
 */
export function hospitalBoxPublicKey (memberEd25519Pub: Uint8Array): Uint8Array {
  expect32(memberEd25519Pub, 'Ed25519 public key')
  let point
  try {
    point = ed25519.Point.fromBytes(memberEd25519Pub, false)
  } catch (err) {
    throw new MedichainError('BAD_KEY', 'not an Ed25519 public key: it does not decode to a curve point', { cause: err })
  }
  if (point.isSmallOrder()) throw new MedichainError('BAD_KEY', 'not an Ed25519 public key: the point has small order')
  return ed25519.utils.toMontgomery(memberEd25519Pub)
}

/**
 * The X25519 secret key matching `hospitalBoxPublicKey`, from the hospital's 32-byte Ed25519 seed:
 * the clamped first half of SHA-512(seed), which is the Ed25519 secret scalar itself (RFC 8032
 * §5.1.5); libsodium's crypto_sign_ed25519_sk_to_curve25519. Only the hospital's peer calls it.
 */
export function hospitalBoxSecretKey (ed25519Seed: Uint8Array): Uint8Array {
  expect32(ed25519Seed, 'Ed25519 seed')
  return ed25519.utils.toMontgomerySecret(ed25519Seed).slice()
}
