// Blocks: a signed header that commits to its transactions through an RFC 6962 root. Signing the
// header (not the whole block) lets a browser check one transaction's inclusion from the header,
// the signature and an audit path, without the other transactions.
import * as dagCbor from '@ipld/dag-cbor'
import { compare, equals, toHex } from '../bytes.ts'
import { decode, encode } from '../codec.ts'
import { BLOCK_VERSION, DOMAIN, ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES, HASH_BYTES, MAX_BLOCK_BYTES, MAX_MEMBERS, MAX_TXS_PER_BLOCK } from '../constants.ts'
import { domainBytes } from '../domain.ts'
import type { Identity, Verifier } from '../crypto/ed25519.ts'
import { EncodingError, LedgerRuleError, SchemaError, SignatureError, TooLargeError } from '../errors.ts'
import { sha256 } from '../crypto/hash.ts'
import { merkleRoot } from './merkle.ts'
import { expectArray, expectBytes, expectFields, expectUint, nullable } from '../schema.ts'
import { decodeTx, encodeTx, parseTx } from './tx.ts'
import type { DecodedTx, Tx } from './tx.ts'

/** The latest block of another member's chain that the author had seen: a Merkle clock entry. */
export interface Link { author: Uint8Array, height: number, hash: Uint8Array }

/** The signed part of a block. */
export interface BlockHeader {
  v: number
  ledger: Uint8Array
  author: Uint8Array
  height: number
  prev: Uint8Array | null
  links: Link[]
  time: number
  txCount: number
  txRoot: Uint8Array
}

/** A decoded, shape-checked block with its canonical bytes and hash. Signature not yet checked. */
export interface Block {
  header: BlockHeader
  sig: Uint8Array
  txs: DecodedTx[]
  /** SHA-256 of the canonical header bytes. */
  hash: Uint8Array
  /** Canonical bytes of the whole signed block, as gossiped and stored. */
  bytes: Uint8Array
}

function parseLink (v: unknown, p: string): Link {
  const f = expectFields(v, p, ['author', 'height', 'hash'])
  return {
    author: expectBytes(f.author, `${p}.author`, ED25519_PUBLIC_KEY_BYTES),
    height: expectUint(f.height, `${p}.height`),
    hash: expectBytes(f.hash, `${p}.hash`, HASH_BYTES)
  }
}

/** Checks a header's shape, including the ordering rules of `links`. */
export function parseHeader (v: unknown): BlockHeader {
  const f = expectFields(v, 'header', ['v', 'ledger', 'author', 'height', 'prev', 'links', 'time', 'txCount', 'txRoot'])
  const header: BlockHeader = {
    v: expectUint(f.v, 'header.v'),
    ledger: expectBytes(f.ledger, 'header.ledger', HASH_BYTES),
    author: expectBytes(f.author, 'header.author', ED25519_PUBLIC_KEY_BYTES),
    height: expectUint(f.height, 'header.height'),
    prev: nullable(f.prev, 'header.prev', (x, p) => expectBytes(x, p, HASH_BYTES)),
    links: expectArray(f.links, 'header.links', MAX_MEMBERS, parseLink),
    time: expectUint(f.time, 'header.time'),
    txCount: expectUint(f.txCount, 'header.txCount', MAX_TXS_PER_BLOCK),
    txRoot: expectBytes(f.txRoot, 'header.txRoot', HASH_BYTES)
  }
  if (header.v !== BLOCK_VERSION) throw new SchemaError(`header.v: expected ${BLOCK_VERSION}, got ${header.v}`)
  if ((header.height === 0) !== (header.prev === null)) {
    throw new SchemaError('header.prev: must be null exactly at height 0')
  }
  for (let i = 0; i < header.links.length; i++) {
    const link = header.links[i]
    if (equals(link.author, header.author)) throw new SchemaError(`header.links[${i}]: an author may not link its own chain`)
    if (i > 0 && compare(header.links[i - 1].author, link.author) >= 0) {
      throw new SchemaError(`header.links[${i}]: links must be sorted by author with no repeats`)
    }
  }
  return header
}

/** Canonical bytes of a header; the block hash is their SHA-256. */
export function encodeHeader (header: BlockHeader): Uint8Array {
  return encode(header)
}

/** The bytes a block signature covers. */
export function headerSigningBytes (header: BlockHeader): Uint8Array {
  return domainBytes(DOMAIN.block, encodeHeader(header))
}

/** SHA-256 of the canonical header bytes. */
export function blockHash (header: BlockHeader): Uint8Array {
  return sha256(encodeHeader(header))
}

/** What an author supplies to build its next block. */
export interface BlockDraft {
  ledger: Uint8Array
  height: number
  prev: Uint8Array | null
  links: Link[]
  time: number
  /**
   * The transactions, signed; given with their canonical bytes and id (as `encodeTx` or
   * `signEncodedTx` return them), they are not encoded again.
   */
  txs: ReadonlyArray<Tx | DecodedTx>
}

function isEncoded (t: Tx | DecodedTx): t is DecodedTx {
  return 'bytes' in t && 'id' in t && 'tx' in t
}

/** Builds and signs a block. Links are sorted here so callers cannot get the order wrong. */
export function createBlock (draft: BlockDraft, identity: Identity): Block {
  if (draft.txs.length > MAX_TXS_PER_BLOCK) throw new TooLargeError(`a block may hold at most ${MAX_TXS_PER_BLOCK} transactions`)
  const txs = draft.txs.map(t => isEncoded(t) ? t : encodeTx(t))
  const header: BlockHeader = {
    v: BLOCK_VERSION,
    ledger: draft.ledger,
    author: identity.publicKey,
    height: draft.height,
    prev: draft.prev,
    links: [...draft.links].sort((a, b) => compare(a.author, b.author)),
    time: draft.time,
    txCount: txs.length,
    txRoot: merkleRoot(txs.map(t => t.bytes))
  }
  // Never sign a header every receiver would reject (a self-link, prev at height 0): a later
  // corrected block at the same height would then look like equivocation.
  parseHeader(header)
  // The header is encoded once, for its signature and its hash.
  const headerBytes = encodeHeader(header)
  const sig = identity.sign(domainBytes(DOMAIN.block, headerBytes))
  const bytes = encode({ header, sig, txs: txs.map(t => t.bytes) })
  if (bytes.length > MAX_BLOCK_BYTES) throw new TooLargeError(`a block may be at most ${MAX_BLOCK_BYTES} bytes, got ${bytes.length}`)
  return { header, sig, txs, hash: sha256(headerBytes), bytes }
}

/**
 * Decodes a signed block and checks everything that needs no ledger state: canonical encoding,
 * schema, tx count and tx root. The signature is checked by `verifyBlockSignature`.
 */
export function decodeBlock (bytes: Uint8Array, opts: { checked?: boolean } = {}): Block {
  if (bytes.length > MAX_BLOCK_BYTES) throw new TooLargeError(`a block may be at most ${MAX_BLOCK_BYTES} bytes, got ${bytes.length}`)
  // `checked`: these exact bytes already passed this function in full (the peer's verify worker);
  // only the parse is redone, not the canonical-form and tx-root checks.
  if (opts.checked === true) return decodeCheckedBlock(bytes)
  const f = expectFields(decode(bytes), 'block', ['header', 'sig', 'txs'])
  const header = parseHeader(f.header)
  const sig = expectBytes(f.sig, 'block.sig', ED25519_SIGNATURE_BYTES)
  const txBytes = expectArray(f.txs, 'block.txs', MAX_TXS_PER_BLOCK, (x, p) => expectBytes(x, p))
  if (txBytes.length !== header.txCount) {
    throw new LedgerRuleError('BAD_TX_ROOT', `header says ${header.txCount} transactions, block holds ${txBytes.length}`)
  }
  const txs = txBytes.map((b, i) => {
    try {
      return decodeTx(b)
    } catch (err) {
      if (err instanceof EncodingError || err instanceof SchemaError) {
        err.message = `block.txs[${i}]: ${err.message}`
      }
      throw err
    }
  })
  if (!equals(merkleRoot(txBytes), header.txRoot)) {
    throw new LedgerRuleError('BAD_TX_ROOT', `txRoot does not match the block's transactions`)
  }
  return { header, sig, txs, hash: blockHash(header), bytes }
}

function decodeCheckedBlock (bytes: Uint8Array): Block {
  const f = expectFields(dagCbor.decode(bytes), 'block', ['header', 'sig', 'txs'])
  const header = parseHeader(f.header)
  const txBytes = expectArray(f.txs, 'block.txs', MAX_TXS_PER_BLOCK, (x, p) => expectBytes(x, p))
  const txs = txBytes.map(b => ({ tx: parseTx(dagCbor.decode(b)), bytes: b, id: sha256(b) }))
  return { header, sig: expectBytes(f.sig, 'block.sig', ED25519_SIGNATURE_BYTES), txs, hash: blockHash(header), bytes }
}

/** Throws SignatureError unless the block is signed by its author. */
export function verifyBlockSignature (block: Pick<Block, 'header' | 'sig'>, verify: Verifier): void {
  if (!verify(block.header.author, headerSigningBytes(block.header), block.sig)) {
    throw new SignatureError(`block ${block.header.height} of ${toHex(block.header.author).slice(0, 12)} is not signed by its author`)
  }
}
