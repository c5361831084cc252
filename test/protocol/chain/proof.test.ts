// Inclusion proofs as a patient's browser checks them: every transaction of a block proves with
// noble alone, and each tampering (tx, path, index, ledger, author, signature) is BAD_PROOF.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex, utf8 } from '../../../protocol/bytes.ts'
import { createBlock } from '../../../protocol/chain/block.ts'
import type { Block } from '../../../protocol/chain/block.ts'
import { nobleIdentity, nobleVerify } from '../../../protocol/crypto/ed25519.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { inclusionPath } from '../../../protocol/chain/merkle.ts'
import { verifyInclusionProof } from '../../../protocol/chain/proof.ts'
import type { InclusionProof } from '../../../protocol/chain/proof.ts'
import { patientIdOf, signTx } from '../../../protocol/chain/tx.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { throwsCode } from '../../helpers/assert.ts'

const ledger = sha256(utf8('proof test ledger'))
const hospital = nobleIdentity(new Uint8Array(32).fill(1))
const other = nobleIdentity(new Uint8Array(32).fill(2))
const patient = nobleIdentity(new Uint8Array(32).fill(3))

function makeBlock (author = hospital, txCount = 5): Block {
  const txs = Array.from({ length: txCount }, (_, seq) => signTx(ledger, {
    type: 'record.create',
    body: { patient: patientIdOf(patient.publicKey), record: new Uint8Array(16).fill(seq) },
    signer: author.publicKey,
    seq,
    time: 1_700_000_000_000 + seq
  }, author))
  return createBlock({ ledger, height: 0, prev: null, links: [], time: 1_700_000_000_000, txs }, author)
}

function proofOf (block: Block, index: number): InclusionProof {
  const leaves = block.txs.map(t => t.bytes)
  return { header: block.header, sig: block.sig, index, path: inclusionPath(leaves, index), tx: leaves[index] }
}

const block = makeBlock()
const trusted = { verify: nobleVerify, ledgerId: ledger, authors: [other.publicKey, hospital.publicKey] }

/** A copy of `bytes` with one bit flipped. */
function flip (bytes: Uint8Array, bit = 0): Uint8Array {
  const out = bytes.slice()
  out[bit >> 3] ^= 1 << (bit & 7)
  return out
}

test('valid proofs verify with noble (as in the browser) and node:crypto, for every index and size', () => {
  for (const size of [1, 2, 3, 5, 8]) {
    const b = size === 5 ? block : makeBlock(hospital, size)
    for (let index = 0; index < size; index++) {
      const proven = verifyInclusionProof(proofOf(b, index), trusted)
      assert.is(toHex(proven.tx.id), toHex(b.txs[index].id))
      assert.is(toHex(proven.blockHash), toHex(b.hash))
      assert.is(toHex(proven.author), toHex(hospital.publicKey))
      assert.is(proven.height, 0)
      verifyInclusionProof(proofOf(b, index), { verify: nodeVerify })
    }
  }
})

test('BAD_PROOF: tampered transaction bytes', () => {
  const proof = proofOf(block, 2)
  for (const bit of [0, 8 * 10 + 3, proof.tx.length * 8 - 1]) {
    throwsCode(() => verifyInclusionProof({ ...proof, tx: flip(proof.tx, bit) }, trusted), 'BAD_PROOF')
  }
  throwsCode(() => verifyInclusionProof({ ...proof, tx: proofOf(block, 3).tx }, trusted), 'BAD_PROOF')
})

test('BAD_PROOF: tampered, truncated or extended audit path', () => {
  const proof = proofOf(block, 2)
  for (let i = 0; i < proof.path.length; i++) {
    const path = proof.path.map((p, j) => j === i ? flip(p, 5) : p)
    throwsCode(() => verifyInclusionProof({ ...proof, path }, trusted), 'BAD_PROOF')
  }
  throwsCode(() => verifyInclusionProof({ ...proof, path: proof.path.slice(1) }, trusted), 'BAD_PROOF')
  throwsCode(() => verifyInclusionProof({ ...proof, path: [...proof.path, proof.path[0]] }, trusted), 'BAD_PROOF')
  throwsCode(() => verifyInclusionProof({ ...proof, path: [] }, trusted), 'BAD_PROOF')
})

test('BAD_PROOF: wrong index, including out of range and non-integer', () => {
  const proof = proofOf(block, 2)
  for (const index of [0, 1, 3, 4, 5, 99, -1, 2.5]) {
    throwsCode(() => verifyInclusionProof({ ...proof, index }, trusted), 'BAD_PROOF')
  }
})

test('BAD_PROOF: wrong ledger id, untrusted author', () => {
  const proof = proofOf(block, 0)
  throwsCode(() => verifyInclusionProof(proof, { ...trusted, ledgerId: sha256(utf8('another ledger')) }), 'BAD_PROOF')
  throwsCode(() => verifyInclusionProof(proof, { ...trusted, authors: [other.publicKey] }), 'BAD_PROOF')
  throwsCode(() => verifyInclusionProof(proof, { ...trusted, authors: [] }), 'BAD_PROOF')
})

test('BAD_PROOF: forged header signature, or a header changed after signing', () => {
  const proof = proofOf(block, 1)
  throwsCode(() => verifyInclusionProof({ ...proof, sig: flip(proof.sig, 100) }, trusted), 'BAD_PROOF')
  throwsCode(() => verifyInclusionProof({ ...proof, sig: new Uint8Array(64) }, trusted), 'BAD_PROOF')
  throwsCode(() => verifyInclusionProof({ ...proof, header: { ...proof.header, time: proof.header.time + 1 } }, trusted), 'BAD_PROOF')
  // Another member's valid block, presented under the trusted member's name.
  const foreign = makeBlock(other)
  const forged = { ...proofOf(foreign, 1), header: { ...foreign.header, author: hospital.publicKey } }
  throwsCode(() => verifyInclusionProof(forged, trusted), 'BAD_PROOF')
  // A header signed by the right key but over a different txRoot.
  const swapped = { ...proof, header: { ...proof.header, txRoot: foreign.header.txRoot } }
  throwsCode(() => verifyInclusionProof(swapped, trusted), 'BAD_PROOF')
})

test.run()
