// JSON form of an inclusion proof, as the HTTP API serves it: every byte string is lower-case hex.
// `proofFromJson` checks the shape and returns an InclusionProof that verifyInclusionProof takes
// as is, so a browser can fetch a proof and check it with no other code from the peer.
import { fromHex, toHex } from '../bytes.ts'
import { parseHeader } from './block.ts'
import type { BlockHeader } from './block.ts'
import { ED25519_SIGNATURE_BYTES, HASH_BYTES, MAX_TX_BYTES, MAX_TXS_PER_BLOCK } from '../constants.ts'
import { SchemaError } from '../errors.ts'
import type { InclusionProof } from './proof.ts'
import { expectArray, expectFields, expectUint, nullable } from '../schema.ts'

/** A Merkle-clock link with hex fields. */
export interface LinkJson { author: string, height: number, hash: string }

/** A block header with hex fields. */
export interface BlockHeaderJson {
  v: number
  ledger: string
  author: string
  height: number
  prev: string | null
  links: LinkJson[]
  time: number
  txCount: number
  txRoot: string
}

/** An inclusion proof with hex fields: what `GET /api/ledger/tx/:id` returns under `proof`. */
export interface InclusionProofJson {
  header: BlockHeaderJson
  sig: string
  index: number
  path: string[]
  tx: string
}

/** Hex view of a block header. */
export function headerToJson (header: BlockHeader): BlockHeaderJson {
  return {
    v: header.v,
    ledger: toHex(header.ledger),
    author: toHex(header.author),
    height: header.height,
    prev: header.prev === null ? null : toHex(header.prev),
    links: header.links.map(l => ({ author: toHex(l.author), height: l.height, hash: toHex(l.hash) })),
    time: header.time,
    txCount: header.txCount,
    txRoot: toHex(header.txRoot)
  }
}

/** Hex view of an inclusion proof. */
export function proofToJson (proof: InclusionProof): InclusionProofJson {
  return {
    header: headerToJson(proof.header),
    sig: toHex(proof.sig),
    index: proof.index,
    path: proof.path.map(toHex),
    tx: toHex(proof.tx)
  }
}

/** Bytes of a lower-case hex string of exactly `length` bytes (or at most `max`); SchemaError otherwise. */
export function expectHex (v: unknown, path: string, length?: number, max = 1 << 20): Uint8Array {
  if (typeof v !== 'string') throw new SchemaError(`${path}: expected a hex string, got ${v === null ? 'null' : typeof v}`)
  if (!/^(?:[0-9a-f]{2})*$/.test(v)) throw new SchemaError(`${path}: expected lower-case hex with an even number of digits`)
  const n = v.length / 2
  if (length !== undefined && n !== length) throw new SchemaError(`${path}: expected ${length} bytes of hex, got ${n}`)
  if (n > max) throw new SchemaError(`${path}: expected at most ${max} bytes of hex, got ${n}`)
  return fromHex(v)
}

/** Reads a header back from its hex view, with the same checks as a decoded header. */
export function headerFromJson (v: unknown, path = 'header'): BlockHeader {
  const f = expectFields(v, path, ['v', 'ledger', 'author', 'height', 'prev', 'links', 'time', 'txCount', 'txRoot'])
  return parseHeader({
    v: f.v,
    ledger: expectHex(f.ledger, `${path}.ledger`, HASH_BYTES),
    author: expectHex(f.author, `${path}.author`, 32),
    height: f.height,
    prev: nullable(f.prev, `${path}.prev`, (x, p) => expectHex(x, p, HASH_BYTES)),
    links: expectArray(f.links, `${path}.links`, 256, (x, p) => {
      const l = expectFields(x, p, ['author', 'height', 'hash'])
      return { author: expectHex(l.author, `${p}.author`, 32), height: l.height, hash: expectHex(l.hash, `${p}.hash`, HASH_BYTES) }
    }),
    time: f.time,
    txCount: f.txCount,
    txRoot: expectHex(f.txRoot, `${path}.txRoot`, HASH_BYTES)
  })
}

/** Reads an inclusion proof from its JSON view; throws SchemaError (BAD_SCHEMA) on any bad field. */
export function proofFromJson (v: unknown): InclusionProof {
  const f = expectFields(v, 'proof', ['header', 'sig', 'index', 'path', 'tx'])
  return {
    header: headerFromJson(f.header, 'proof.header'),
    sig: expectHex(f.sig, 'proof.sig', ED25519_SIGNATURE_BYTES),
    index: expectUint(f.index, 'proof.index', MAX_TXS_PER_BLOCK - 1),
    // A tree of MAX_TXS_PER_BLOCK leaves is at most log2(1024) = 10 levels deep.
    path: expectArray(f.path, 'proof.path', 32, (x, p) => expectHex(x, p, HASH_BYTES)),
    tx: expectHex(f.tx, 'proof.tx', undefined, MAX_TX_BYTES)
  }
}
