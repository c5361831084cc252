// Ed25519 for the browser and the SDK, with strict RFC 8032 verification (noble, zip215: false).
// The peer verifies with node:crypto instead (ledger/node-crypto.ts); test/protocol proves both
// accept and reject exactly the same signatures.
import { ed25519 } from '@noble/curves/ed25519.js'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from './constants.ts'

/** Verifies `sig` over `message` under `publicKey`; false for any malformed input. */
export type Verifier = (publicKey: Uint8Array, message: Uint8Array, sig: Uint8Array) => boolean

/** Signs `message` with the holder's private key, returning a 64-byte signature. */
export type Signer = (message: Uint8Array) => Uint8Array

/** An Ed25519 identity: a public key and a way to sign with the matching private key. */
export interface Identity {
  publicKey: Uint8Array
  sign: Signer
}

/** Strict RFC 8032 verification with @noble/curves. Never throws. */
export const nobleVerify: Verifier = (publicKey, message, sig) => {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || sig.length !== ED25519_SIGNATURE_BYTES) return false
  try {
    return ed25519.verify(sig, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

/** An identity from a 32-byte Ed25519 seed, signing with @noble/curves (browser, SDK). */
export function nobleIdentity (seed: Uint8Array): Identity {
  if (seed.length !== 32) throw new TypeError(`expected a 32-byte Ed25519 seed, got ${seed.length} bytes`)
  const publicKey = ed25519.getPublicKey(seed)
  return { publicKey, sign: (message) => ed25519.sign(message, seed) }
}
