// The messages of one secure-aggregation round (Bonawitz §4, rounds 0–4), each signed by its
// hospital over `utf8(SECAGG_TAG) ‖ 0x00 ‖ dag-cbor({ledger, …fields})`, so the coordinator that
// routes them cannot forge or alter one: keys (AdvertiseKeys), encrypted shares (ShareKeys), the
// masked input (MaskedInputCollection) and the revealed shares (Unmasking).
import { concat, utf8 } from '../../../protocol/bytes.ts'
import { encode } from '../../../protocol/codec.ts'
import type { Identity, Verifier } from '../../../protocol/crypto/ed25519.ts'
import { SECAGG_TAG } from './constants.ts'
import { SecAggError } from './errors.ts'

/** Round 0: a hospital's two ephemeral public keys and its sample count (its FedAvg weight). */
export interface AdvertiseKeys {
  kind: 'secagg-keys'
  task: string
  round: number
  hospital: Uint8Array
  /** X25519 public key c_pk: pairwise masks. */
  maskKey: Uint8Array
  /** X25519 public key s_pk: share encryption. */
  shareKey: Uint8Array
  samples: number
  sig: Uint8Array
}

/** Round 1: a hospital's shares of its self-mask seed and mask private key, one sealed box per other hospital. */
export interface ShareKeys {
  kind: 'secagg-shares'
  task: string
  round: number
  hospital: Uint8Array
  shares: Array<{ to: Uint8Array, sealed: Uint8Array }>
  sig: Uint8Array
}

/** Round 2: a hospital's masked, quantised input (uint32 little-endian). */
export interface MaskedInput {
  kind: 'secagg-masked'
  task: string
  round: number
  hospital: Uint8Array
  masked: Uint8Array
  sig: Uint8Array
}

/** Round 4: one share per hospital of the round: of the seed for survivors, of the mask key for dropouts. */
export interface Unmask {
  kind: 'secagg-unmask'
  task: string
  round: number
  hospital: Uint8Array
  seedShares: Array<{ of: Uint8Array, x: number, y: Uint8Array }>
  keyShares: Array<{ of: Uint8Array, x: number, y: Uint8Array }>
  sig: Uint8Array
}

/** Any hospital-signed secure-aggregation message. */
export type SecAggMessage = AdvertiseKeys | ShareKeys | MaskedInput | Unmask

type UnsignedOf<M> = M extends SecAggMessage ? Omit<M, 'sig'> : never

/** The bytes a secure-aggregation message's signature covers. */
export function secAggSigningBytes (ledgerId: Uint8Array, message: UnsignedOf<SecAggMessage>): Uint8Array {
  return concat(utf8(SECAGG_TAG), new Uint8Array([0]), encode({ ...message, ledger: ledgerId }))
}

/** `message` signed by `identity` (its hospital). */
export function signSecAgg<M extends SecAggMessage> (ledgerId: Uint8Array, message: UnsignedOf<M>, identity: Identity): M {
  // The spread keeps every field of M; only `sig` is added.
  return { ...message, sig: identity.sign(secAggSigningBytes(ledgerId, message)) } as unknown as M
}

/** Throws BAD_SIGNATURE unless `message` is signed by its hospital. */
export function verifySecAgg (ledgerId: Uint8Array, message: SecAggMessage, verify: Verifier): void {
  const { sig, ...unsigned } = message
  if (!verify(message.hospital, secAggSigningBytes(ledgerId, unsigned as UnsignedOf<SecAggMessage>), sig)) {
    throw new SecAggError('BAD_SIGNATURE', `${message.kind} for round ${message.round} is not signed by its hospital`)
  }
}
