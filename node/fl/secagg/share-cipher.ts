// Encryption of Shamir shares from one hospital to another (Bonawitz §4 "ShareKeys"): AES-256-GCM
// (NIST SP 800-38D) under HKDF of the X25519 agreement of the two hospitals' share keys, with the
// round context and both member keys as associated data, so a share cannot be moved to another
// round or pair. Anyone may route the ciphertext; only the addressee can read it, and any change to
// it fails authentication (SHARE_FORGED).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { concat } from '../../../protocol/bytes.ts'
import { GCM_NONCE_BYTES, GCM_TAG_BYTES, HKDF_INFO } from './constants.ts'
import { SecAggError } from './errors.ts'
import { agree, deriveKey } from './keys.ts'

function associated (context: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  return concat(context, from, to)
}

/** nonce ‖ ciphertext ‖ tag of `plaintext` from `from` to `to`. */
export function sealShare (plaintext: Uint8Array, sharePrivateKey: Uint8Array, recipientPublic: Uint8Array, context: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  const key = deriveKey(agree(sharePrivateKey, recipientPublic), context, HKDF_INFO.share)
  const nonce = randomBytes(GCM_NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES })
  cipher.setAAD(associated(context, from, to))
  const body = concat(new Uint8Array(cipher.update(plaintext)), new Uint8Array(cipher.final()))
  return concat(nonce, body, new Uint8Array(cipher.getAuthTag()))
}

/** The plaintext of a sealed share; throws SHARE_FORGED when it does not authenticate. */
export function openShare (sealed: Uint8Array, sharePrivateKey: Uint8Array, senderPublic: Uint8Array, context: Uint8Array, from: Uint8Array, to: Uint8Array): Uint8Array {
  if (sealed.length < GCM_NONCE_BYTES + GCM_TAG_BYTES) throw new SecAggError('SHARE_FORGED', 'sealed share is too short')
  const key = deriveKey(agree(sharePrivateKey, senderPublic), context, HKDF_INFO.share)
  const nonce = sealed.subarray(0, GCM_NONCE_BYTES)
  const tag = sealed.subarray(sealed.length - GCM_TAG_BYTES)
  const body = sealed.subarray(GCM_NONCE_BYTES, sealed.length - GCM_TAG_BYTES)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES })
  decipher.setAAD(associated(context, from, to))
  decipher.setAuthTag(tag)
  try {
    return concat(new Uint8Array(decipher.update(body)), new Uint8Array(decipher.final()))
  } catch {
    throw new SecAggError('SHARE_FORGED', 'sealed share fails authentication')
  }
}
