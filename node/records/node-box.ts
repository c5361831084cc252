// The peer's sealed boxes (protocol/crypto/key-wrap.ts's format: libsodium crypto_box_seal, plain or
// bound to one image part) with X25519 from node:crypto. tweetnacl's pure-JS scalar
// multiplication costs about 7 ms per re-wrap; OpenSSL's takes a few tens of microseconds, which
// matters because the peer re-wraps a data key for every read under a consent.
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { blake2b } from '@noble/hashes/blake2.js'
import { hsalsa, xsalsa20poly1305 } from '@noble/ciphers/salsa.js'
import { concat, equals } from '../../protocol/bytes.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { sha256 } from '../../protocol/crypto/hash.ts'
import { BOUND_WRAPPED_KEY_BYTES, DATA_KEY_BYTES, WRAPPED_KEY_BYTES } from '../../protocol/crypto/key-wrap.ts'

/** DER prefixes of an X25519 key (RFC 8410 §7 and §10.3): SubjectPublicKeyInfo and PKCS #8. */
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')

/** "expand 32-byte k" as four little-endian words: the Salsa20 constant HSalsa20 runs under. */
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574])

/** The hospital's X25519 secret key, parsed once for every re-wrap. */
export interface NodeBoxKey { secret: KeyObject, publicKey: Uint8Array }

/** Parses a 32-byte X25519 secret key (protocol/crypto/user-keys.ts hospitalBoxSecretKey) for node:crypto. */
export function nodeBoxKey (secretKey: Uint8Array, publicKey: Uint8Array): NodeBoxKey {
  const secret = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' })
  return { secret, publicKey }
}

/** node:crypto's parse of each box key pair, made once per pair object. */
const parsed = new WeakMap<{ publicKey: Uint8Array, secretKey: Uint8Array }, NodeBoxKey>()

/** nodeBoxKey of a `{ publicKey, secretKey }` pair (a hospital's box), parsed once and kept. */
export function nodeBoxKeyOf (box: { publicKey: Uint8Array, secretKey: Uint8Array }): NodeBoxKey {
  let key = parsed.get(box)
  if (key === undefined) {
    key = nodeBoxKey(box.secretKey, box.publicKey)
    parsed.set(box, key)
  }
  return key
}

function publicKeyObject (pub: Uint8Array): KeyObject {
  if (!(pub instanceof Uint8Array) || pub.length !== 32) throw new MedichainError('BAD_KEY', 'expected a 32-byte X25519 recipient key')
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' })
}

/** The raw 32 bytes of an X25519 public key (RFC 8037 §2: the JWK's `x`; cheaper than a DER export). */
function rawPublic (key: KeyObject): Uint8Array {
  const x = key.export({ format: 'jwk' }).x
  if (x === undefined) throw new MedichainError('BAD_KEY', 'the X25519 key has no public part')
  return new Uint8Array(Buffer.from(x, 'base64url'))
}

/**
 * NaCl box's key: HSalsa20 of the X25519 shared secret under a zero nonce (crypto_box_beforenm).
 * An all-zero shared secret means a small-order key: refused, as libsodium refuses it.
 */
function boxKey (secret: KeyObject, pub: KeyObject): Uint8Array {
  let shared: Buffer
  try {
    shared = diffieHellman({ privateKey: secret, publicKey: pub })
  } catch (err) {
    throw new MedichainError('BAD_KEY', 'the X25519 key has small order', { cause: err })
  }
  if (shared.every(b => b === 0)) throw new MedichainError('BAD_KEY', 'the X25519 key has small order')
  const k = new Uint32Array(8)
  for (let i = 0; i < 8; i++) k[i] = shared.readUInt32LE(i * 4)
  shared.fill(0)
  const out = new Uint32Array(8)
  hsalsa(SIGMA, k, new Uint32Array(4), out)
  k.fill(0)
  const key = new Uint8Array(32)
  const view = new DataView(key.buffer)
  for (let i = 0; i < 8; i++) view.setUint32(i * 4, out[i], true)
  out.fill(0)
  return key
}

function sealNonce (ephemeralPub: Uint8Array, recipientPub: Uint8Array): Uint8Array {
  return blake2b(concat(ephemeralPub, recipientPub), { dkLen: 24 })
}

/** Recipients' parsed public keys, most recent last: a listing seals every key for one reader. */
const recipients = new Map<string, KeyObject>()
const RECIPIENTS_KEPT = 256

/** The parsed public key of `pub`, from the small cache when it was used lately. */
function recipientKey (pub: Uint8Array): KeyObject {
  const name = Buffer.from(pub).toString('hex')
  let key = recipients.get(name)
  if (key === undefined) {
    key = publicKeyObject(pub)
    if (recipients.size >= RECIPIENTS_KEPT) recipients.delete(recipients.keys().next().value as string)
  } else {
    recipients.delete(name)
  }
  recipients.set(name, key)
  return key
}

/** crypto_box_seal of `payload` for `recipientPub`, byte-compatible with protocol/crypto/key-wrap.ts. */
function seal (payload: Uint8Array, recipientPub: Uint8Array): Uint8Array {
  const recipient = recipientKey(recipientPub)
  const ephemeral = generateKeyPairSync('x25519')
  const ephemeralPub = rawPublic(ephemeral.publicKey)
  const key = boxKey(ephemeral.privateKey, recipient)
  try {
    return concat(ephemeralPub, xsalsa20poly1305(key, sealNonce(ephemeralPub, recipientPub)).encrypt(payload))
  } finally {
    key.fill(0)
  }
}

/** crypto_box_seal_open of a box of exactly `length` bytes; BAD_WRAPPED_KEY on any failure. */
function open (wrapped: Uint8Array, length: number, box: NodeBoxKey): Uint8Array {
  const fail = (why: string, cause?: unknown): MedichainError => new MedichainError('BAD_WRAPPED_KEY', `cannot unwrap the data key: ${why}`, { cause })
  if (!(wrapped instanceof Uint8Array) || wrapped.length !== length) throw fail(`expected ${length} bytes`)
  const ephemeralPub = wrapped.subarray(0, 32)
  let key: Uint8Array
  try {
    key = boxKey(box.secret, publicKeyObject(ephemeralPub))
  } catch (err) {
    throw fail('the ephemeral key has small order', err)
  }
  try {
    return xsalsa20poly1305(key, sealNonce(ephemeralPub, box.publicKey)).decrypt(wrapped.subarray(32))
  } catch (err) {
    throw fail('authentication failed (wrong recipient or altered bytes)', err)
  } finally {
    key.fill(0)
  }
}

/** wrapKey (protocol/crypto/key-wrap.ts) with node:crypto's X25519. */
export function nodeWrapKey (dataKey: Uint8Array, recipientBoxPub: Uint8Array): Uint8Array {
  if (!(dataKey instanceof Uint8Array) || dataKey.length !== DATA_KEY_BYTES) throw new MedichainError('BAD_KEY', `expected a ${DATA_KEY_BYTES}-byte data key`)
  return seal(dataKey, recipientBoxPub)
}

/** unwrapKey (protocol/crypto/key-wrap.ts) with node:crypto's X25519. */
export function nodeUnwrapKey (wrapped: Uint8Array, box: NodeBoxKey): Uint8Array {
  return open(wrapped, WRAPPED_KEY_BYTES, box)
}

/** The binding digest of protocol/crypto/key-wrap.ts wrapBoundKey. */
function binding (part: 'raw' | 'result', imageCid: Uint8Array): Uint8Array {
  return sha256(concat(new TextEncoder().encode(`medichain/bound-key/v1/${part}`), imageCid))
}

/** unwrapBoundKey (protocol/crypto/key-wrap.ts) with node:crypto's X25519: BAD_WRAPPED_KEY unless bound to this image part. */
export function nodeUnwrapBoundKey (wrapped: Uint8Array, part: 'raw' | 'result', imageCid: Uint8Array, box: NodeBoxKey): Uint8Array {
  return nodeUnwrapBound(wrapped, binding(part, imageCid), box)
}

/** unwrapBound (protocol/crypto/key-wrap.ts) with node:crypto's X25519: BAD_WRAPPED_KEY unless it carries exactly `digest`. */
export function nodeUnwrapBound (wrapped: Uint8Array, digest: Uint8Array, box: NodeBoxKey): Uint8Array {
  const payload = open(wrapped, BOUND_WRAPPED_KEY_BYTES, box)
  try {
    if (!equals(payload.subarray(0, 32), digest)) {
      throw new MedichainError('BAD_WRAPPED_KEY', 'cannot unwrap the data key: it is bound to another image')
    }
    return payload.slice(32)
  } finally {
    payload.fill(0)
  }
}
