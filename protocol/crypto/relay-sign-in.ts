// Sign-in at a hospital that is not the patient's home (issue 18): the browser seals its proof to
// the home hospital's box key, and the hospital it visits only carries it. The proof holds the
// authentication secret (auth-secret.ts), which is password-equivalent for signing in at home,
// so it never travels in the clear past the browser; it is bound to the home hospital (only its
// key opens it), to the visited hospital (the libp2p peer that must deliver it) and to a fresh
// nonce and time (so it cannot be replayed). The home hospital answers with the sealed vault
// encrypted under a reply key that only the proof and the browser hold, so the visited hospital
// cannot even try passwords offline against the vault. Pure: runs in browsers and in the peer.
import { fromBase64, toBase64 } from '../base64.ts'
import { bufferSource, concat, fromHex, toHex, utf8 } from '../bytes.ts'
import { decode, encode } from '../codec.ts'
import { MedichainError } from '../errors.ts'
import { openSealed, sealTo } from './key-wrap.ts'
import { expectBytes, expectFields, expectString, expectUint } from '../schema.ts'
import { hospitalBoxPublicKey, secureRandomBytes } from './user-keys.ts'
import type { RandomBytes } from './user-keys.ts'

/** Version of the sealed proof; part of the sealed bytes, so another version never parses as this one. */
export const RELAY_PROOF_VERSION = 1

/** Domain tag inside the proof and in the reply's AAD, so neither is ever read as something else. */
const PROOF_DOMAIN = 'medichain/relay-sign-in/v1'
const REPLY_DOMAIN = 'medichain/relay-reply/v1'

/** Sizes: the nonce and the reply key are 32 random bytes, the authentication secret 32 bytes. */
const NONCE_BYTES = 32
const REPLY_KEY_BYTES = 32
const SECRET_BYTES = 32
const IV_BYTES = 12

/** What the browser proves to the home hospital, as the home hospital reads it. */
export interface RelayProof {
  /** The username at the home hospital (folded to lower case). */
  username: string
  /** The home hospital's member key: the box was sealed to its key. */
  home: Uint8Array
  /** The visited hospital's member key: only that peer may deliver the proof. */
  via: Uint8Array
  /** The browser's clock when it sealed the proof (ms since the epoch). */
  time: number
  /** 32 fresh random bytes; the home hospital accepts each nonce once. */
  nonce: Uint8Array
  /** The authentication secret (deriveAuthSecret), 32 bytes. */
  secret: Uint8Array
  /** Key the home hospital encrypts its reply (the sealed vault) under. */
  reply: Uint8Array
}

/** Thrown when a proof or a reply cannot be opened or has the wrong shape (one code, no detail). */
export class BadRelayProofError extends MedichainError {
  constructor (message = 'the relayed sign-in proof cannot be opened or is malformed', options?: ErrorOptions) {
    super('BAD_RELAY_PROOF', message, options)
    this.name = 'BadRelayProofError'
  }
}

/**
 * Seals a proof for `home`, to be delivered by `via`. `secretHex` is deriveAuthSecret's output.
 * Returns the opaque proof and the reply key, which the caller keeps to open the reply.
 */
export function sealRelayProof (input: { username: string, secretHex: string, home: Uint8Array, via: Uint8Array, time: number }, random: RandomBytes = secureRandomBytes): { proof: Uint8Array, replyKey: Uint8Array } {
  const secret = fromHex(input.secretHex)
  if (secret.length !== SECRET_BYTES) throw new MedichainError('INVALID', `the authentication secret must be ${SECRET_BYTES} bytes`)
  const reply = random(REPLY_KEY_BYTES).slice()
  const payload = encode({
    v: RELAY_PROOF_VERSION,
    d: PROOF_DOMAIN,
    user: input.username.normalize('NFC').toLowerCase(),
    home: input.home,
    via: input.via,
    time: input.time,
    nonce: random(NONCE_BYTES).slice(),
    secret,
    reply
  })
  try {
    return { proof: sealTo(payload, hospitalBoxPublicKey(input.home), random), replyKey: reply }
  } finally {
    payload.fill(0)
    secret.fill(0)
  }
}

/** Opens a proof with the home hospital's X25519 secret key; BAD_RELAY_PROOF on any failure. */
export function openRelayProof (proof: Uint8Array, homeBoxSecret: Uint8Array): RelayProof {
  let plain: Uint8Array
  try {
    plain = openSealed(proof, homeBoxSecret)
  } catch (err) {
    throw new BadRelayProofError(undefined, { cause: err })
  }
  try {
    const f = expectFields(decode(plain), 'proof', ['v', 'd', 'user', 'home', 'via', 'time', 'nonce', 'secret', 'reply'])
    if (f.v !== RELAY_PROOF_VERSION || f.d !== PROOF_DOMAIN) throw new BadRelayProofError('unsupported proof version')
    return {
      username: expectString(f.user, 'proof.user', 256),
      home: expectBytes(f.home, 'proof.home', 32),
      via: expectBytes(f.via, 'proof.via', 32),
      time: expectUint(f.time, 'proof.time'),
      nonce: expectBytes(f.nonce, 'proof.nonce', NONCE_BYTES),
      secret: expectBytes(f.secret, 'proof.secret', SECRET_BYTES),
      reply: expectBytes(f.reply, 'proof.reply', REPLY_KEY_BYTES)
    }
  } catch (err) {
    if (err instanceof BadRelayProofError) throw err
    throw new BadRelayProofError(undefined, { cause: err })
  } finally {
    plain.fill(0)
  }
}

/** The authentication secret of a proof as the home hospital's sign-in checks it (64 hex digits). */
export function proofSecretHex (proof: RelayProof): string {
  return toHex(proof.secret)
}

/** The reply's AAD: its domain tag. The reply key is fresh per proof, so nothing else needs binding. */
const REPLY_AAD = bufferSource(concat(utf8(REPLY_DOMAIN), new Uint8Array([0])))

async function replyCryptoKey (key: Uint8Array, use: 'encrypt' | 'decrypt'): Promise<CryptoKey> {
  return await globalThis.crypto.subtle.importKey('raw', bufferSource(key), { name: 'AES-GCM' }, false, [use])
}

/** Encrypts the sealed vault (any JSON value) for the browser under the proof's reply key: IV ‖ AES-256-GCM. */
export async function sealRelayReply (vault: unknown, replyKey: Uint8Array, random: RandomBytes = secureRandomBytes): Promise<Uint8Array> {
  const iv = bufferSource(random(IV_BYTES).slice())
  const key = await replyCryptoKey(replyKey, 'encrypt')
  const ct = await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: REPLY_AAD }, key, bufferSource(utf8(JSON.stringify(vault))))
  return concat(iv, new Uint8Array(ct))
}

/** Opens the home hospital's reply with the reply key the browser kept; BAD_RELAY_PROOF when it does not open. */
export async function openRelayReply (reply: Uint8Array, replyKey: Uint8Array): Promise<unknown> {
  try {
    const key = await replyCryptoKey(replyKey, 'decrypt')
    const plain = await globalThis.crypto.subtle.decrypt({ name: 'AES-GCM', iv: bufferSource(reply.subarray(0, IV_BYTES)), additionalData: REPLY_AAD }, key, bufferSource(reply.subarray(IV_BYTES)))
    return JSON.parse(new TextDecoder().decode(plain))
  } catch (err) {
    throw new BadRelayProofError('the home hospital\'s reply does not open with this sign-in\'s key', { cause: err })
  }
}

/** Words left out of a hospital's short name: they are in almost every name. */
const FILLER = new Set(['hospital', 'the'])

/**
 * A hospital's short name, the part after `@` in `alice@north`: its directory (or genesis) name
 * folded to lower case, "hospital" and "the" dropped, other words joined by `-` ("North Hospital"
 * → `north`, "St Anne" → `st-anne`). A name of filler words only keeps them.
 */
export function hospitalShortName (name: string): string {
  const words = name.normalize('NFKD').toLowerCase().replace(/[\u0300-\u036f]/g, '').split(/[^a-z0-9]+/).filter(w => w !== '')
  const kept = words.filter(w => !FILLER.has(w))
  return (kept.length > 0 ? kept : words).join('-')
}

/** A username as typed: the name and, for `alice@north`, the hospital's short name (or a key prefix). */
export interface TypedUsername { username: string, qualifier: string | null }

/** Splits `alice@north` at its last `@`; an unqualified name has qualifier null. */
export function parseTypedUsername (typed: string): TypedUsername {
  const trimmed = typed.trim()
  const at = trimmed.lastIndexOf('@')
  if (at < 0) return { username: trimmed.toLowerCase(), qualifier: null }
  return { username: trimmed.slice(0, at).toLowerCase(), qualifier: trimmed.slice(at + 1).trim().toLowerCase() }
}

/** A hospital as the sign-in page lists it. */
export interface HomeChoice { key: string, name: string, short: string }

/**
 * The hospitals a qualifier names: the one whose short name it is, else those whose key (hex)
 * starts with it (at least 8 digits). Two hospitals with one short name give two: the page then
 * asks the patient to pick from the list.
 */
export function matchHome<T extends HomeChoice> (qualifier: string, homes: readonly T[]): T[] {
  const q = qualifier.toLowerCase()
  const byName = homes.filter(h => h.short === q)
  if (byName.length > 0) return byName
  return /^[0-9a-f]{8,64}$/.test(q) ? homes.filter(h => h.key.startsWith(q)) : []
}

/** Proof bytes as they travel in JSON. */
export function proofToBase64 (proof: Uint8Array): string {
  return toBase64(proof)
}

/** Proof bytes from JSON; BAD_RELAY_PROOF for anything that is not base64 of a plausible size. */
export function proofFromBase64 (text: unknown): Uint8Array {
  if (typeof text !== 'string' || text.length > 8192) throw new BadRelayProofError('proof: expected base64 of the sealed proof')
  try {
    return fromBase64(text)
  } catch (err) {
    throw new BadRelayProofError('proof: not canonical base64', { cause: err })
  }
}
