// RFC 6962 Merkle trees: the certificate-transparency known answers, then every leaf of every
// tree up to 64 leaves, and deliberately corrupted proofs (transparency-dev's probe set).
import { readFileSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { inclusionPath, leafHash, merkleRoot, nodeHash, rootFromPath, verifyInclusion } from '../../../protocol/chain/merkle.ts'
import { throwsCode } from '../../helpers/assert.ts'

interface Vectors {
  leaves: string[]
  emptyRoot: string
  roots: string[]
  inclusion: Array<{ index: number, size: number, path: string[] }>
}

const kat = JSON.parse(readFileSync(new URL('../../vectors/rfc6962-merkle.json', import.meta.url), 'utf8')) as Vectors
const leaves = kat.leaves.map(fromHex)

/** n distinct leaves of varying length. */
function makeLeaves (n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => new Uint8Array(1 + (i % 7)).map((_, j) => (i + j * 31) & 0xff))
}

/** transparency-dev/merkle's corruptInclusionProof probes, minus the byte-string leaf/root ones. */
function corruptions (index: number, size: number, path: Uint8Array[], root: Uint8Array): Array<{ what: string, index: number, size: number, path: Uint8Array[] }> {
  const out = [
    { what: 'index - 1', index: index - 1, size, path },
    { what: 'index + 1', index: index + 1, size, path },
    { what: 'index ^ 2', index: index ^ 2, size, path },
    { what: 'size * 2', index, size: size * 2, path },
    { what: 'size / 2', index, size: Math.floor(size / 2), path },
    { what: 'extended by an empty entry', index, size, path: [...path, new Uint8Array(0)] },
    { what: 'extended by the root', index, size, path: [...path, root] },
    { what: 'prefixed by an empty entry', index, size, path: [new Uint8Array(0), ...path] },
    { what: 'prefixed by the root', index, size, path: [root, ...path] }
  ]
  for (let i = 0; i < path.length; i++) {
    const bad = path.map(p => p.slice())
    bad[i][0] ^= 8
    out.push({ what: `flipped bit in path[${i}]`, index, size, path: bad })
    const short = path.map(p => p.slice())
    short[i] = short[i].subarray(1)
    out.push({ what: `31-byte path[${i}]`, index, size, path: short })
  }
  if (path.length > 0) out.push({ what: 'truncated', index, size, path: path.slice(0, -1) })
  if (path.length > 1) out.push({ what: 'inserted entry', index, size, path: [path[0], sha256(root), ...path.slice(1)] })
  return out
}

test('RFC 6962 hashing: leaf and node prefixes, empty tree', () => {
  assert.is(toHex(merkleRoot([])), kat.emptyRoot)
  assert.is(toHex(leafHash(new Uint8Array(0))), toHex(sha256(new Uint8Array([0]))))
  const l = leafHash(new Uint8Array([1]))
  const r = leafHash(new Uint8Array([2]))
  assert.is(toHex(nodeHash(l, r)), toHex(sha256(new Uint8Array([1, ...l, ...r]))))
})

test('RFC 6962 known answers: roots of the first n reference leaves, n = 1..8', () => {
  assert.is(kat.roots.length, 8)
  kat.roots.forEach((root, i) => assert.is(toHex(merkleRoot(leaves.slice(0, i + 1))), root, `size ${i + 1}`))
})

test('RFC 6962 known answers: audit paths, and they verify against the known roots', () => {
  for (const v of kat.inclusion) {
    const tree = leaves.slice(0, v.size)
    assert.equal(inclusionPath(tree, v.index).map(toHex), v.path, `PATH(${v.index}, D[${v.size}])`)
    const root = fromHex(kat.roots[v.size - 1])
    assert.ok(verifyInclusion(leaves[v.index], v.index, v.size, v.path.map(fromHex), root))
  }
})

test('RFC 6962 known answers: corrupted proofs fail', () => {
  for (const v of kat.inclusion) {
    const root = fromHex(kat.roots[v.size - 1])
    for (const c of corruptions(v.index, v.size, v.path.map(fromHex), root)) {
      assert.not.ok(verifyInclusion(leaves[v.index], c.index, c.size, c.path, root), `${v.index}/${v.size}: ${c.what}`)
    }
    assert.not.ok(verifyInclusion(new TextEncoder().encode('WrongLeaf'), v.index, v.size, v.path.map(fromHex), root))
    assert.not.ok(verifyInclusion(leaves[v.index], v.index, v.size, v.path.map(fromHex), fromHex(kat.emptyRoot)))
  }
})

test('property: every leaf of every tree of 1..64 leaves verifies; corrupted proofs fail', () => {
  for (let size = 1; size <= 64; size++) {
    const tree = makeLeaves(size)
    const root = merkleRoot(tree)
    for (let index = 0; index < size; index++) {
      const path = inclusionPath(tree, index)
      assert.ok(verifyInclusion(tree[index], index, size, path, root), `leaf ${index} of ${size}`)
      assert.is(toHex(rootFromPath(tree[index], index, size, path)), toHex(root))
      for (const c of corruptions(index, size, path, root)) {
        assert.not.ok(verifyInclusion(tree[index], c.index, c.size, c.path, root), `leaf ${index} of ${size}: ${c.what}`)
      }
      const otherLeaf = tree[(index + 1) % size]
      if (size > 1) assert.not.ok(verifyInclusion(otherLeaf, index, size, path, root), `leaf ${index} of ${size}: wrong leaf`)
    }
  }
})

test('malformed proofs throw BAD_PROOF from rootFromPath; inclusionPath rejects bad indexes', () => {
  const tree = makeLeaves(5)
  const path = inclusionPath(tree, 2)
  throwsCode(() => rootFromPath(tree[2], 5, 5, path), 'BAD_PROOF')
  throwsCode(() => rootFromPath(tree[2], -1, 5, path), 'BAD_PROOF')
  throwsCode(() => rootFromPath(tree[2], 1.5, 5, path), 'BAD_PROOF')
  throwsCode(() => rootFromPath(tree[2], 0, 0, []), 'BAD_PROOF')
  throwsCode(() => rootFromPath(tree[2], 2, 5, path.slice(1)), 'BAD_PROOF')
  throwsCode(() => rootFromPath(tree[2], 2, 5, [...path, path[0]]), 'BAD_PROOF')
  throwsCode(() => rootFromPath(tree[2], 2, 5, [path[0].subarray(1), ...path.slice(1)]), 'BAD_PROOF')
  assert.throws(() => inclusionPath(tree, 5), RangeError)
  assert.throws(() => inclusionPath([], 0), RangeError)
})

test.run()
