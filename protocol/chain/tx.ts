// Transactions: `{type, body, signer, seq, time, sig}` in deterministic dag-cbor. The signature
// covers a domain tag, the ledger id and every other field, so a transaction signed for one
// consortium or one purpose can never be replayed in another. The types are tx-types.ts and the
// body schema tx-body.ts; this module is their public face.
import { encode, decode } from '../codec.ts'
import { DOMAIN, ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, MAX_TX_BYTES } from '../constants.ts'
import { domainBytes } from '../domain.ts'
import type { Identity, Verifier } from '../crypto/ed25519.ts'
import { SignatureError, TooLargeError } from '../errors.ts'
import { sha256 } from '../crypto/hash.ts'
import { expectBytes, expectEnum, expectFields, expectUint } from '../schema.ts'
import { parseBody } from './tx-body.ts'
import { TX_TYPES } from './tx-types.ts'
import type { DecodedTx, Tx, TxBodies, TxOf, TxType, UnsignedTx, UnsignedTxOf } from './tx-types.ts'

export { parseBody } from './tx-body.ts'
export { ACCESS_BASES, ACCESS_USES, MAX_INSTANCE_NUMBER, PSEUDONYM_BYTES, PURPOSES, ROLES, TX_TYPES } from './tx-types.ts'
export type { AccessBasis, AccessUse, ConsentScope, DecodedTx, GrantedKeys, Purpose, Role, SeriesPlace, Tx, TxBodies, TxOf, TxType, UnsignedTx, UnsignedTxOf, WrappedKeys } from './tx-types.ts'

const KEY = ED25519_PUBLIC_KEY_BYTES

/** Checks the shape of a whole transaction (not its signature) and returns it typed. */
export function parseTx (v: unknown): Tx {
  const f = expectFields(v, 'tx', ['type', 'body', 'signer', 'seq', 'time', 'sig'])
  const type = expectEnum(f.type, 'tx.type', TX_TYPES)
  return {
    type,
    body: parseBody(type, f.body),
    signer: expectBytes(f.signer, 'tx.signer', KEY),
    seq: expectUint(f.seq, 'tx.seq'),
    time: expectUint(f.time, 'tx.time'),
    sig: expectBytes(f.sig, 'tx.sig', ED25519_SIGNATURE_BYTES)
  } as Tx
}

/** Consent transactions carry their own domain tag so a patient's consent signature is never reusable elsewhere. */
function tagFor (type: TxType): typeof DOMAIN.tx | typeof DOMAIN.consent {
  return type.startsWith('consent.') ? DOMAIN.consent : DOMAIN.tx
}

/** The bytes a transaction's signature covers. */
export function txSigningBytes (ledgerId: Uint8Array, tx: UnsignedTx): Uint8Array {
  const { type, body, signer, seq, time } = tx
  return domainBytes(tagFor(type), encode({ ledger: ledgerId, type, body, signer, seq, time }))
}

/** Signs an unsigned transaction with `identity`, whose key must be `tx.signer`. */
export function signTx<T extends TxType> (ledgerId: Uint8Array, tx: UnsignedTxOf<T>, identity: Identity): TxOf<T> {
  return { ...tx, sig: identity.sign(txSigningBytes(ledgerId, tx as UnsignedTx)) }
}

/** Canonical bytes and id of a signed transaction. */
export function encodeTx (tx: Tx): DecodedTx {
  const bytes = encode(tx)
  if (bytes.length > MAX_TX_BYTES) throw new TooLargeError(`a transaction may be at most ${MAX_TX_BYTES} bytes, got ${bytes.length}`)
  return { tx, bytes, id: sha256(bytes) }
}

/** Decodes and shape-checks a transaction; the signature is checked by `verifyTx`. */
export function decodeTx (bytes: Uint8Array): DecodedTx {
  if (bytes.length > MAX_TX_BYTES) throw new TooLargeError(`a transaction may be at most ${MAX_TX_BYTES} bytes, got ${bytes.length}`)
  return { tx: parseTx(decode(bytes)), bytes, id: sha256(bytes) }
}

/** Throws SignatureError unless `tx.sig` is the signer's strict Ed25519 signature. */
export function verifyTx (ledgerId: Uint8Array, tx: Tx, verify: Verifier): void {
  if (!verify(tx.signer, txSigningBytes(ledgerId, tx), tx.sig)) {
    throw new SignatureError(`transaction ${tx.type} seq ${tx.seq} is not signed by its signer`)
  }
}

/** The bytes an account's proof of possession covers: the user key vouches for its own registration. */
export function accountPopBytes (ledgerId: Uint8Array, body: Omit<TxBodies['account.register'], 'pop'>): Uint8Array {
  const { user, box, role, hospital } = body
  return domainBytes(DOMAIN.account, encode({ ledger: ledgerId, user, box, role, hospital }))
}

/** Pseudonymous patient id: SHA-256 of the patient's Ed25519 public key (docs/design.md §5). */
export function patientIdOf (patientKey: Uint8Array): Uint8Array {
  return sha256(patientKey)
}
