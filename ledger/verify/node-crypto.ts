// Ed25519 for the peer through node:crypto (OpenSSL): about ten times faster than noble, which
// matters when a peer checks thousands of block and transaction signatures a second. Verification
// applies the same strict pre-check as protocol/crypto/ed25519.ts, so both accept the same signatures.
import crypto from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from '../../protocol/constants.ts'
import { strictEd25519Precheck } from '../../protocol/crypto/ed25519.ts'
import type { Identity, Verifier } from '../../protocol/crypto/ed25519.ts'

/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the raw 32-byte key follows (RFC 8410 §4). */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** DER prefix of an Ed25519 PKCS#8 private key; the raw 32-byte seed follows (RFC 8410 §7). */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

/** Most public keys a peer sees repeatedly are members' and active users'; 4096 covers them. */
const KEY_CACHE_LIMIT = 4096
const keyCache = new Map<string, KeyObject>()

/** The KeyObject of a raw public key, built once and kept in a small LRU map. */
function publicKeyObject (publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64')
  const hit = keyCache.get(id)
  if (hit !== undefined) {
    // Re-insert so the Map's insertion order tracks recency.
    keyCache.delete(id)
    keyCache.set(id, hit)
    return hit
  }
  const key = crypto.createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next()
    if (oldest.done !== true) keyCache.delete(oldest.value)
  }
  keyCache.set(id, key)
  return key
}

/**
 * Strict Ed25519 verification with node:crypto. Never throws: malformed keys, signatures or
 * messages give false. See `strictEd25519Precheck` for why the pre-check comes first.
 */
export const nodeVerify: Verifier = (publicKey, message, sig) => {
  try {
    if (!(message instanceof Uint8Array) || !strictEd25519Precheck(publicKey, sig)) return false
    return crypto.verify(null, message, publicKeyObject(publicKey), sig)
  } catch {
    return false
  }
}

/** An identity from a 32-byte Ed25519 seed, signing with node:crypto (the peer's hospital key). */
export function nodeIdentity (seed: Uint8Array): Identity {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new TypeError(`expected a 32-byte Ed25519 seed, got ${seed instanceof Uint8Array ? `${seed.length} bytes` : typeof seed}`)
  }
  const privateKey = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' })
  const spki = crypto.createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
  const publicKey = new Uint8Array(spki.subarray(spki.length - ED25519_PUBLIC_KEY_BYTES))
  return {
    publicKey,
    sign: (message) => {
      const sig = crypto.sign(null, message, privateKey)
      if (sig.length !== ED25519_SIGNATURE_BYTES) throw new Error(`node:crypto returned a ${sig.length}-byte signature`)
      // A plain Uint8Array, not a Buffer, so encoders and equality checks see the same type as noble's.
      return new Uint8Array(sig)
    }
  }
}

/** 32 random bytes from the OS CSPRNG, for a new Ed25519 seed. */
export function randomSeed (): Uint8Array {
  return new Uint8Array(crypto.randomBytes(32))
}
