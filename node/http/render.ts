// JSON views of ledger objects for the HTTP API: bytes as lower-case hex, CIDs as strings, and
// block listings that summarise transactions by id and type so a listing never carries bodies.
import { CID } from 'multiformats/cid'
import { toHex } from '../../protocol/bytes.ts'
import type { Block } from '../../protocol/chain/block.ts'
import { headerToJson, proofToJson } from '../../protocol/chain/proof-json.ts'
import type { BlockHeaderJson, InclusionProofJson } from '../../protocol/chain/proof-json.ts'
import type { InclusionProof } from '../../protocol/chain/proof.ts'
import type { DecodedTx } from '../../protocol/chain/tx.ts'
import type { Evidence, Head, MemberView, TxLocation } from '../../ledger/types.ts'

/** Any value JSON can carry. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/** Converts plain data to JSON-safe values: Uint8Array → hex, CID → string, undefined fields dropped. */
export function toJsonValue (v: unknown): JsonValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v
  if (typeof v === 'number') return Number.isFinite(v) ? v : null
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) return toHex(v)
  const cid = CID.asCID(v)
  if (cid !== null) return cid.toString()
  if (Array.isArray(v)) return v.map(toJsonValue)
  if (typeof v === 'object') {
    const out: { [key: string]: JsonValue } = {}
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJsonValue(x)
    return out
  }
  return null
}

/** A chain head. */
export interface HeadJson { author: string, height: number, hash: string }

/** Hex view of a head. */
export function renderHead (head: Head): HeadJson {
  return { author: toHex(head.author), height: head.height, hash: toHex(head.hash) }
}

/** One transaction in a block listing: no body. */
export interface TxSummaryJson { id: string, type: string, signer: string, seq: number, time: number }

/** A block in a listing. */
export interface BlockJson { hash: string, header: BlockHeaderJson, sig: string, size: number, txs: TxSummaryJson[] }

/** Summary view of a block: header, signature and transaction ids and types. */
export function renderBlock (block: Block): BlockJson {
  return {
    hash: toHex(block.hash),
    header: headerToJson(block.header),
    sig: toHex(block.sig),
    size: block.bytes.length,
    txs: block.txs.map(t => ({ id: toHex(t.id), type: t.tx.type, signer: toHex(t.tx.signer), seq: t.tx.seq, time: t.tx.time }))
  }
}

/** A member as the API shows it. */
export interface MemberJson {
  key: string
  name: string
  addrs: string[]
  status: 'active' | 'removed'
  flagged: boolean
  /** Heights at which the member signed two blocks (evidence held here). */
  equivocations: number[]
  /** Its blocks above this height are refused (FLAGGED_MEMBER) until the consortium resolves it; null when none are. */
  refusedAbove: number | null
  /** Equivocations resolved by a quorum: the block kept at each height, and the resolving proposal. */
  resolutions: Array<{ height: number, keep: string, proposal: string }>
  admittedBy: string | null
  self: boolean
  connected: boolean
}

/** Hex view of a member; `connected` says whether this peer has a live connection to it. */
export function renderMember (m: MemberView, self: Uint8Array, connected: ReadonlySet<string>): MemberJson {
  const key = toHex(m.key)
  return {
    key,
    name: m.name,
    addrs: [...m.addrs],
    status: m.status,
    flagged: m.flagged,
    equivocations: [...m.equivocations],
    refusedAbove: m.refusedAbove,
    resolutions: m.resolutions.map(r => ({ height: r.height, keep: toHex(r.keep), proposal: toHex(r.proposal) })),
    admittedBy: m.admittedBy === null ? null : toHex(m.admittedBy),
    self: key === toHex(self),
    connected: connected.has(key)
  }
}

/** Equivocation evidence: the two conflicting signed blocks as hex. */
export interface EvidenceJson { author: string, height: number, blocks: [string, string] }

/** Hex view of evidence. */
export function renderEvidence (e: Evidence): EvidenceJson {
  return { author: toHex(e.author), height: e.height, blocks: [toHex(e.blocks[0]), toHex(e.blocks[1])] }
}

/** A transaction with where it sits and the proof that it does. */
export interface TxJson {
  id: string
  tx: JsonValue
  location: { txId: string, blockHash: string, author: string, height: number, index: number }
  proof: InclusionProofJson
}

/** Full view of one transaction, its location and its inclusion proof. */
export function renderTx (decoded: DecodedTx, location: TxLocation, proof: InclusionProof): TxJson {
  return {
    id: toHex(decoded.id),
    tx: toJsonValue(decoded.tx),
    location: {
      txId: toHex(location.txId),
      blockHash: toHex(location.blockHash),
      author: toHex(location.author),
      height: location.height,
      index: location.index
    },
    proof: proofToJson(proof)
  }
}
