// X25519 key agreement (RFC 7748) for secure aggregation, on node:crypto: raw 32-byte keys in and
// out, so keys travel in signed messages and private keys can be Shamir-shared. Every hospital has
// two ephemeral pairs per round (Bonawitz §4): one whose agreements seed the pairwise masks (c) and
// one whose agreements key the encryption of shares (s).
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { concat } from '../../../protocol/bytes.ts'
import { X25519_KEY_BYTES } from './constants.ts'
import { SecAggError } from './errors.ts'

/** A raw X25519 key pair. */
export interface KeyPair { publicKey: Uint8Array, privateKey: Uint8Array }

// DER prefixes of PKCS#8 and SPKI for X25519 (RFC 8410 §7, OID 1.3.101.110): a raw key follows.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20])
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00])

function check (key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length !== X25519_KEY_BYTES) {
    throw new SecAggError('SECAGG_BAD_INPUT', `${what}: expected ${X25519_KEY_BYTES} bytes, got ${key instanceof Uint8Array ? key.length : typeof key}`)
  }
}

function privateKeyObject (raw: Uint8Array): KeyObject {
  check(raw, 'X25519 private key')
  return createPrivateKey({ key: Buffer.from(concat(PKCS8_PREFIX, raw)), format: 'der', type: 'pkcs8' })
}

function publicKeyObject (raw: Uint8Array): KeyObject {
  check(raw, 'X25519 public key')
  return createPublicKey({ key: Buffer.from(concat(SPKI_PREFIX, raw)), format: 'der', type: 'spki' })
}

/** A fresh ephemeral X25519 key pair. */
export function generateKeyPair (): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519')
  return {
    publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length)),
    privateKey: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length))
  }
}

/** The public key of a raw private key (X25519(k, 9), RFC 7748 §6.1). */
export function publicKeyOf (privateKey: Uint8Array): Uint8Array {
  const pub = createPublicKey(privateKeyObject(privateKey))
  return new Uint8Array(pub.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length))
}

/**
 * The raw X25519 shared secret of a private and a public key. Throws SECAGG_BAD_INPUT for a
 * low-order public key (the all-zero output RFC 7748 §6.1 says to refuse).
 */
export function agree (privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let secret: Uint8Array
  try {
    secret = new Uint8Array(diffieHellman({ privateKey: privateKeyObject(privateKey), publicKey: publicKeyObject(publicKey) }))
  } catch (err) {
    throw new SecAggError('SECAGG_BAD_INPUT', `X25519 agreement failed: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (secret.every(b => b === 0)) throw new SecAggError('SECAGG_BAD_INPUT', 'X25519 agreement gave the all-zero secret (low-order public key)')
  return secret
}

/** A 32-byte key from a shared secret: HKDF-SHA256 (RFC 5869) salted with the round's context, per purpose. */
export function deriveKey (secret: Uint8Array, context: Uint8Array, info: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, context, info, 32))
}
