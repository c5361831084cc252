// Blocks: create/decode round trips, and every way a received block can be wrong (a flipped bit
// anywhere, truncation, a lying header, bad links, oversize) is rejected with a stable code.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex, utf8 } from '../../../protocol/bytes.ts'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { blockHash, createBlock, decodeBlock, encodeHeader, headerSigningBytes, verifyBlockSignature } from '../../../protocol/chain/block.ts'
import type { Block, BlockDraft, BlockHeader, Link } from '../../../protocol/chain/block.ts'
import { encode } from '../../../protocol/codec.ts'
import { MAX_BLOCK_BYTES, MAX_TXS_PER_BLOCK } from '../../../protocol/constants.ts'
import { nobleIdentity, nobleVerify } from '../../../protocol/crypto/ed25519.ts'
import type { Identity } from '../../../protocol/crypto/ed25519.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { merkleRoot } from '../../../protocol/chain/merkle.ts'
import { patientIdOf, signTx } from '../../../protocol/chain/tx.ts'
import type { Tx } from '../../../protocol/chain/tx.ts'
import { nodeIdentity, nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { throwsCode } from '../../helpers/assert.ts'

const ledger = sha256(utf8('block test ledger'))
const author = nodeIdentity(new Uint8Array(32).fill(1))
const peers = [2, 3, 4].map(n => nobleIdentity(new Uint8Array(32).fill(n)))

function recordTx (seq: number, signer: Identity = author): Tx {
  const body = { patient: patientIdOf(peers[0].publicKey), record: new Uint8Array(16).fill(seq & 0xff) }
  return signTx(ledger, { type: 'record.create', body, signer: signer.publicKey, seq, time: 1_700_000_000_000 + seq }, signer)
}

function draft (over: Partial<BlockDraft> = {}): BlockDraft {
  return { ledger, height: 0, prev: null, links: [], time: 1_700_000_000_000, txs: [recordTx(1), recordTx(2)], ...over }
}

/** Re-signs `header` as `author` and encodes a block around it, as a misbehaving author could. */
function forge (header: BlockHeader, txs: Uint8Array[], signer: Identity = author): Uint8Array {
  return encode({ header, sig: signer.sign(headerSigningBytes(header)), txs })
}

/** Decodes and checks the signature: what a peer does before any ledger rule. */
function receive (bytes: Uint8Array): Block {
  const block = decodeBlock(bytes)
  verifyBlockSignature(block, nodeVerify)
  return block
}

const sampleCid = CID.create(1, 0x55, Digest.create(0x12, sha256(new Uint8Array([1]))))
const linksOf = (ids: Identity[]): Link[] => ids.map((id, i) => ({ author: id.publicKey, height: i, hash: sha256(id.publicKey) }))

test('round trip: genesis-height block and a linked successor decode to the same header, hash and txs', () => {
  const first = createBlock(draft(), author)
  const second = createBlock(draft({ height: 1, prev: first.hash, links: linksOf([...peers].reverse()), txs: [recordTx(3)] }), author)
  for (const block of [first, second]) {
    const back = receive(block.bytes)
    assert.is(toHex(encodeHeader(back.header)), toHex(encodeHeader(block.header)))
    assert.is(toHex(back.hash), toHex(block.hash))
    assert.is(toHex(back.hash), toHex(blockHash(block.header)))
    assert.equal(back.txs.map(t => toHex(t.id)), block.txs.map(t => toHex(t.id)))
    verifyBlockSignature(back, nobleVerify)
  }
  // createBlock sorts links, whatever order the draft gave.
  const sorted = [...second.header.links].sort((a, b) => toHex(a.author).localeCompare(toHex(b.author)))
  assert.equal(second.header.links.map(l => toHex(l.author)), sorted.map(l => toHex(l.author)))
})

test('round trip: an empty block', () => {
  const block = createBlock(draft({ txs: [] }), author)
  assert.is(receive(block.bytes).txs.length, 0)
})

test('a flipped bit anywhere in the bytes is rejected with a code, never accepted', () => {
  const block = createBlock(draft({ txs: [recordTx(1)] }), author)
  const codes = new Set<string>()
  for (let bit = 0; bit < block.bytes.length * 8; bit++) {
    const bad = block.bytes.slice()
    bad[bit >> 3] ^= 1 << (bit & 7)
    try {
      receive(bad)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      assert.type(code, 'string', `bit ${bit}: ${String(err)}`)
      codes.add(String(code))
      continue
    }
    assert.unreachable(`bit ${bit} flipped and the block was accepted`)
  }
  for (const code of ['BAD_ENCODING', 'BAD_SCHEMA', 'BAD_SIGNATURE', 'BAD_TX_ROOT']) assert.ok(codes.has(code), code)
})

test('truncated bytes: BAD_ENCODING at every length', () => {
  const block = createBlock(draft(), author)
  for (let n = 0; n < block.bytes.length; n++) throwsCode(() => decodeBlock(block.bytes.subarray(0, n)), 'BAD_ENCODING')
})

test('BAD_TX_ROOT: txCount or txRoot that does not match the transactions, even when signed', () => {
  const block = createBlock(draft(), author)
  const txs = block.txs.map(t => t.bytes)
  throwsCode(() => decodeBlock(forge({ ...block.header, txCount: 3 }, txs)), 'BAD_TX_ROOT')
  throwsCode(() => decodeBlock(forge(block.header, txs.slice(0, 1))), 'BAD_TX_ROOT')
  throwsCode(() => decodeBlock(forge({ ...block.header, txRoot: sha256(new Uint8Array(0)) }, txs)), 'BAD_TX_ROOT')
  throwsCode(() => decodeBlock(forge(block.header, [txs[1], txs[0]])), 'BAD_TX_ROOT')
  throwsCode(() => decodeBlock(forge(block.header, [txs[0], encode(recordTx(9))])), 'BAD_TX_ROOT')
})

test('BAD_SCHEMA: unsorted links, repeated links, self-links', () => {
  const block = createBlock(draft({ height: 1, prev: sha256(new Uint8Array(1)) }), author)
  const txs = block.txs.map(t => t.bytes)
  const sorted = createBlock(draft({ height: 1, prev: block.header.prev, links: linksOf(peers) }), author).header.links
  throwsCode(() => decodeBlock(forge({ ...block.header, links: [...sorted].reverse() }, txs)), 'BAD_SCHEMA')
  throwsCode(() => decodeBlock(forge({ ...block.header, links: [sorted[0], sorted[0]] }, txs)), 'BAD_SCHEMA')
  const self = { author: author.publicKey, height: 0, hash: sha256(new Uint8Array(2)) }
  throwsCode(() => decodeBlock(forge({ ...block.header, links: [self] }, txs)), 'BAD_SCHEMA')
  throwsCode(() => createBlock(draft({ height: 1, prev: block.header.prev, links: [self] }), author).bytes, 'BAD_SCHEMA')
})

test('BAD_SCHEMA: prev must be null exactly at height 0; version must be 1', () => {
  const block = createBlock(draft(), author)
  const txs = block.txs.map(t => t.bytes)
  throwsCode(() => decodeBlock(forge({ ...block.header, prev: sha256(new Uint8Array(3)) }, txs)), 'BAD_SCHEMA')
  throwsCode(() => decodeBlock(forge({ ...block.header, height: 1 }, txs)), 'BAD_SCHEMA')
  throwsCode(() => decodeBlock(forge({ ...block.header, v: 2 }, txs)), 'BAD_SCHEMA')
  throwsCode(() => decodeBlock(forge({ ...block.header, prev: new Uint8Array(31) }, txs)), 'BAD_SCHEMA')
  // The author's own side refuses to sign such headers at all.
  throwsCode(() => createBlock(draft({ prev: block.hash }), author), 'BAD_SCHEMA')
  throwsCode(() => createBlock(draft({ height: 1 }), author), 'BAD_SCHEMA')
})

test('BAD_SCHEMA / BAD_ENCODING: malformed transactions inside a block', () => {
  const block = createBlock(draft(), author)
  const bogus = encode({ type: 'record.create', nonsense: true })
  const txs = [bogus]
  const header = { ...block.header, txCount: 1, txRoot: merkleRoot(txs) }
  throwsCode(() => decodeBlock(forge(header, txs)), 'BAD_SCHEMA')
  const garbage = [new Uint8Array([0xff, 0x00])]
  throwsCode(() => decodeBlock(forge({ ...header, txRoot: merkleRoot(garbage) }, garbage)), 'BAD_ENCODING')
})

test('BAD_SIGNATURE: signed by someone other than the header author', () => {
  const block = createBlock(draft(), author)
  const forged = decodeBlock(forge(block.header, block.txs.map(t => t.bytes), peers[0]))
  throwsCode(() => verifyBlockSignature(forged, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyBlockSignature(forged, nobleVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyBlockSignature({ header: { ...block.header, time: block.header.time + 1 }, sig: block.sig }, nodeVerify), 'BAD_SIGNATURE')
})

test('TOO_LARGE: too many transactions, too many bytes', () => {
  const tx = recordTx(1)
  throwsCode(() => createBlock(draft({ txs: Array(MAX_TXS_PER_BLOCK + 1).fill(tx) }), author), 'TOO_LARGE')
  throwsCode(() => decodeBlock(new Uint8Array(MAX_BLOCK_BYTES + 1)), 'TOO_LARGE')
  // About 40 KiB per transaction: 30 of them pass MAX_BLOCK_BYTES.
  const keys = Array.from({ length: 64 }, () => ({ to: new Uint8Array(32), raw: new Uint8Array(256), result: new Uint8Array(256) }))
  const big = Array.from({ length: 30 }, (_, seq) => signTx(ledger, {
    type: 'image.add',
    body: {
      patient: new Uint8Array(32), record: null, raw: sampleCid, result: null, modality: 'CT', size: 1, model: null, score: null, keys
    },
    signer: author.publicKey,
    seq,
    time: 1
  }, author))
  throwsCode(() => createBlock(draft({ txs: big }), author), 'TOO_LARGE')
})

test.run()
