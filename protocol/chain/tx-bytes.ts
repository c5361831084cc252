// A transaction's signing bytes and its canonical bytes, each made from the other without encoding
// the body again. In canonical dag-cbor (RFC 8949 §4.2.3: keys sorted by length, then bytewise)
// the signed transaction is `{seq, sig, body, time, type, signer}` and the signed payload is
// `{seq, body, time, type, ledger, signer}`: the same encoded fields in the same order, `sig`
// taken out and `ledger` put in before `signer`. So a transaction is encoded once, when it is
// signed or received, and its signature is checked over bytes spliced from those.
import { concat, equals, utf8 } from '../bytes.ts'
import { encode } from '../codec.ts'
import { DOMAIN, ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, MAX_TX_BYTES } from '../constants.ts'
import type { Identity, Verifier } from '../crypto/ed25519.ts'
import { SignatureError, TooLargeError } from '../errors.ts'
import { sha256 } from '../crypto/hash.ts'
import { encodeTx, txSigningBytes } from './tx.ts'
import type { DecodedTx, Tx, TxType, UnsignedTx, UnsignedTxOf } from './tx.ts'

/** A map of six entries (CBOR major type 5). */
const MAP6 = 0xa6
/** Text "seq" (major type 3, length 3). */
const SEQ_KEY = Uint8Array.from([0x63, 0x73, 0x65, 0x71])
/** Text "sig", then the head of a 64-byte byte string (major type 2, one length byte). */
const SIG_FIELD_HEAD = Uint8Array.from([0x63, 0x73, 0x69, 0x67, 0x58, ED25519_SIGNATURE_BYTES])
const SIG_FIELD_BYTES = SIG_FIELD_HEAD.length + ED25519_SIGNATURE_BYTES
/** Text "signer", then the head of a 32-byte byte string: always the last field of both maps. */
const SIGNER_FIELD_HEAD = Uint8Array.from([0x66, 0x73, 0x69, 0x67, 0x6e, 0x65, 0x72, 0x58, ED25519_PUBLIC_KEY_BYTES])
const SIGNER_FIELD_BYTES = SIGNER_FIELD_HEAD.length + ED25519_PUBLIC_KEY_BYTES
/** Text "ledger" (major type 3, length 6). */
const LEDGER_KEY = concat(Uint8Array.from([0x66]), utf8('ledger'))
const TAGS = { tx: domainPrefix(DOMAIN.tx), consent: domainPrefix(DOMAIN.consent) }

function domainPrefix (tag: string): Uint8Array {
  return concat(utf8(tag), new Uint8Array([0]))
}

/** Same domain rule as tx.ts: consent transactions are signed under their own tag. */
function tagBytes (type: TxType): Uint8Array {
  return type.startsWith('consent.') ? TAGS.consent : TAGS.tx
}

/** Length of an unsigned integer's encoding (major type 0) from its first byte, or 0 if it is none. */
function uintBytes (first: number): number {
  if (first < 0x18) return 1
  if (first === 0x18) return 2
  if (first === 0x19) return 3
  if (first === 0x1a) return 5
  if (first === 0x1b) return 9
  return 0
}

function matchesAt (bytes: Uint8Array, at: number, head: Uint8Array): boolean {
  if (at < 0 || at + head.length > bytes.length) return false
  for (let i = 0; i < head.length; i++) if (bytes[at + i] !== head[i]) return false
  return true
}

/** The `"ledger": <bytes>` field of the signed payload, kept for the last ledger id asked for. */
let ledgerField: { id: Uint8Array, field: Uint8Array } | null = null
function ledgerFieldOf (ledgerId: Uint8Array): Uint8Array {
  if (ledgerField !== null && equals(ledgerField.id, ledgerId)) return ledgerField.field
  const field = concat(LEDGER_KEY, encode(ledgerId))
  ledgerField = { id: ledgerId.slice(), field }
  return field
}

/**
 * Where the shared fields sit in a six-entry map that starts `{seq, …}` and ends `…, signer}`:
 * the end of `seq`, or 0 when the bytes do not have that shape.
 */
function seqEnd (bytes: Uint8Array): number {
  if (bytes[0] !== MAP6 || !matchesAt(bytes, 1, SEQ_KEY)) return 0
  const n = uintBytes(bytes[1 + SEQ_KEY.length])
  if (n === 0) return 0
  const end = 1 + SEQ_KEY.length + n
  return matchesAt(bytes, bytes.length - SIGNER_FIELD_BYTES, SIGNER_FIELD_HEAD) ? end : 0
}

/**
 * The bytes `dtx`'s signature covers: exactly `txSigningBytes(ledgerId, dtx.tx)`, spliced from
 * `dtx.bytes` instead of encoded again. `dtx.bytes` must be the canonical encoding of `dtx.tx`,
 * as `decodeTx` and `encodeTx` return it; bytes of any other shape fall back to the encoding.
 */
export function signingBytesOf (ledgerId: Uint8Array, dtx: DecodedTx): Uint8Array {
  const b = dtx.bytes
  const seq = seqEnd(b)
  const tail = b.length - SIGNER_FIELD_BYTES
  if (seq === 0 || !matchesAt(b, seq, SIG_FIELD_HEAD) || tail < seq + SIG_FIELD_BYTES) return txSigningBytes(ledgerId, dtx.tx)
  const tag = tagBytes(dtx.tx.type)
  const ledger = ledgerFieldOf(ledgerId)
  const middle = b.subarray(seq + SIG_FIELD_BYTES, tail)
  const out = new Uint8Array(tag.length + seq + middle.length + ledger.length + SIGNER_FIELD_BYTES)
  let at = 0
  for (const part of [tag, b.subarray(0, seq), middle, ledger, b.subarray(tail)]) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** Throws SignatureError unless `dtx.tx.sig` is the signer's strict Ed25519 signature (as `verifyTx`). */
export function verifyDecodedTx (ledgerId: Uint8Array, dtx: DecodedTx, verify: Verifier): void {
  const { tx } = dtx
  if (!verify(tx.signer, signingBytesOf(ledgerId, dtx), tx.sig)) {
    throw new SignatureError(`transaction ${tx.type} seq ${tx.seq} is not signed by its signer`)
  }
}

/**
 * Signs an unsigned transaction (as `signTx`) and returns it with its canonical bytes and id (as
 * `encodeTx`), encoding it once: the transaction's bytes are spliced from the signed payload's.
 * Throws TOO_LARGE past MAX_TX_BYTES.
 */
export function signEncodedTx<T extends TxType> (ledgerId: Uint8Array, unsigned: UnsignedTxOf<T>, identity: Identity): DecodedTx {
  const signing = txSigningBytes(ledgerId, unsigned as UnsignedTx)
  const sig = identity.sign(signing)
  const tx = { ...unsigned, sig } as Tx
  const payload = signing.subarray(tagBytes(unsigned.type).length)
  const seq = seqEnd(payload)
  const ledger = ledgerFieldOf(ledgerId)
  const tail = payload.length - SIGNER_FIELD_BYTES
  if (seq === 0 || sig.length !== ED25519_SIGNATURE_BYTES || !matchesAt(payload, tail - ledger.length, ledger)) return encodeTx(tx)
  const bytes = concat(payload.subarray(0, seq), SIG_FIELD_HEAD, sig, payload.subarray(seq, tail - ledger.length), payload.subarray(tail))
  if (bytes.length > MAX_TX_BYTES) throw new TooLargeError(`a transaction may be at most ${MAX_TX_BYTES} bytes, got ${bytes.length}`)
  return { tx, bytes, id: sha256(bytes) }
}
