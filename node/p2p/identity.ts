// One key, two roles (docs/design.md §3): a hospital's 32-byte Ed25519 seed is both its ledger signing
// key and its libp2p identity, so a member's ledger key names exactly one PeerId and back.
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface'
import { fromHex, toHex } from '../../protocol/bytes.ts'
import { ED25519_PUBLIC_KEY_BYTES } from '../../protocol/constants.ts'

/** The libp2p private key of a hospital, from its 32-byte Ed25519 seed. */
export async function privateKeyFromSeed (seed: Uint8Array): Promise<Ed25519PrivateKey> {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new TypeError(`expected a 32-byte Ed25519 seed, got ${seed instanceof Uint8Array ? `${seed.length} bytes` : typeof seed}`)
  }
  return await generateKeyPairFromSeed('Ed25519', seed)
}

/** The PeerId of a hospital, from its 32-byte Ed25519 seed. */
export async function peerIdFromSeed (seed: Uint8Array): Promise<PeerId> {
  return peerIdFromPrivateKey(await privateKeyFromSeed(seed))
}

/** The PeerId that a member's 32-byte Ed25519 ledger key authenticates as. */
export function peerIdFromMemberKey (key: Uint8Array): PeerId {
  if (!(key instanceof Uint8Array) || key.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new TypeError(`expected a ${ED25519_PUBLIC_KEY_BYTES}-byte Ed25519 public key, got ${key instanceof Uint8Array ? `${key.length} bytes` : typeof key}`)
  }
  return peerIdFromPublicKey(publicKeyFromRaw(key))
}

/** The 32-byte Ed25519 ledger key behind a PeerId, or undefined for other key types. */
export function memberKeyOfPeer (peerId: PeerId): Uint8Array | undefined {
  if (peerId.type !== 'Ed25519') return undefined
  return peerId.publicKey.raw
}

/**
 * Reads a PeerId given as a PeerId, its string form, or a member key (bytes or 64 hex digits).
 * Throws TypeError for anything else.
 */
export function toPeerId (peer: PeerId | string | Uint8Array): PeerId {
  if (peer instanceof Uint8Array) return peerIdFromMemberKey(peer)
  if (typeof peer === 'string') {
    if (/^[0-9a-f]{64}$/i.test(peer)) return peerIdFromMemberKey(fromHex(peer))
    return peerIdFromString(peer)
  }
  return peer
}

/** Lower-case hex of the member key behind a PeerId, or undefined for non-Ed25519 peers. */
export function memberHexOfPeer (peerId: PeerId): string | undefined {
  const key = memberKeyOfPeer(peerId)
  return key === undefined ? undefined : toHex(key)
}
