// RFC 6962 / RFC 9162 Merkle tree hashing: leaf hash = SHA-256(0x00 || leaf), node hash =
// SHA-256(0x01 || left || right). Pure functions: the same code builds roots and proofs in the
// peer and checks proofs in the browser.
import { concat, equals } from '../bytes.ts'
import { ProofError } from '../errors.ts'
import { sha256 } from '../crypto/hash.ts'

const LEAF = new Uint8Array([0x00])
const NODE = new Uint8Array([0x01])

/** RFC 6962 §2.1 leaf hash. */
export function leafHash (leaf: Uint8Array): Uint8Array {
  return sha256(concat(LEAF, leaf))
}

/** RFC 6962 §2.1 interior node hash. */
export function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concat(NODE, left, right))
}

/** Largest power of two strictly less than n (n ≥ 2). */
function split (n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

function rootOfHashes (hashes: Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start
  if (n === 1) return hashes[start]
  const k = split(n)
  return nodeHash(rootOfHashes(hashes, start, start + k), rootOfHashes(hashes, start + k, end))
}

/** Merkle Tree Hash MTH(D[n]) of the leaves (RFC 6962 §2.1); the empty tree hashes to SHA-256(""). */
export function merkleRoot (leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return sha256(new Uint8Array(0))
  return rootOfHashes(leaves.map(leafHash), 0, leaves.length)
}

function pathOf (hashes: Uint8Array[], m: number, start: number, end: number): Uint8Array[] {
  const n = end - start
  if (n === 1) return []
  const k = split(n)
  if (m < k) return [...pathOf(hashes, m, start, start + k), rootOfHashes(hashes, start + k, end)]
  return [...pathOf(hashes, m - k, start + k, end), rootOfHashes(hashes, start, start + k)]
}

/** Audit path PATH(m, D[n]) for leaf `index` (RFC 6962 §2.1.1). */
export function inclusionPath (leaves: Uint8Array[], index: number): Uint8Array[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`leaf index ${index} is outside a tree of ${leaves.length} leaves`)
  }
  return pathOf(leaves.map(leafHash), index, 0, leaves.length)
}

/** Root implied by a leaf and its audit path (RFC 9162 §2.1.3.2); throws ProofError if malformed. */
export function rootFromPath (leaf: Uint8Array, index: number, size: number, path: Uint8Array[]): Uint8Array {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new ProofError(`leaf index ${index} is outside a tree of ${size} leaves`)
  }
  let fn = index
  let sn = size - 1
  let r = leafHash(leaf)
  for (const p of path) {
    if (p.length !== 32) throw new ProofError(`audit path entries must be 32 bytes, got ${p.length}`)
    if (sn === 0) throw new ProofError('audit path is longer than the tree allows')
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  if (sn !== 0) throw new ProofError('audit path is shorter than the tree requires')
  return r
}

/** True when `leaf` at `index` of a tree of `size` leaves has root `root` through `path`. */
export function verifyInclusion (leaf: Uint8Array, index: number, size: number, path: Uint8Array[], root: Uint8Array): boolean {
  try {
    return equals(rootFromPath(leaf, index, size, path), root)
  } catch {
    return false
  }
}
