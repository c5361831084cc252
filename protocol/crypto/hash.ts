// SHA-256 for protocol hashes (block ids, tx ids, Merkle nodes, patient ids, ledger id). In Node
// the native hash is used (about 10× faster on small inputs); in a browser, @noble/hashes. Both
// compute the same FIPS 180-4 digest, so a patient's page checks exactly what the peer computes.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'

interface NodeHash { update(data: Uint8Array): NodeHash, digest(): Uint8Array }
interface NodeCrypto { createHash(algorithm: 'sha256'): NodeHash }
interface NodeProcess { getBuiltinModule?: (id: 'node:crypto') => NodeCrypto }

/** node:crypto when running under Node (found at run time, so protocol/ imports no node: module). */
const nodeCrypto: NodeCrypto | undefined = (globalThis as { process?: NodeProcess }).process?.getBuiltinModule?.('node:crypto')

/** SHA-256 digest of bytes (FIPS 180-4). */
export const sha256: (bytes: Uint8Array) => Uint8Array = nodeCrypto === undefined
  ? (bytes) => nobleSha256(bytes)
  : (bytes) => {
      const digest = nodeCrypto.createHash('sha256').update(bytes).digest()
      return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)
    }

/** The portable implementation, exported so tests can check both agree. */
export const portableSha256 = (bytes: Uint8Array): Uint8Array => nobleSha256(bytes)
