// Frames of the sync protocol `/medichain/sync/1.0.0`, as canonical dag-cbor, each checked at the
// boundary: the client asks with its heads, the server answers with the blocks it lacks; then the
// two swap equivocation evidence the other lacks.
import { toHex } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import { ED25519_PUBLIC_KEY_BYTES, HASH_BYTES, MAX_BLOCK_BYTES } from '../../protocol/constants.ts'
import { SchemaError } from '../../protocol/errors.ts'
import { expectArray, expectBytes, expectEnum, expectFields, expectUint } from '../../protocol/schema.ts'
import type { Evidence, Head } from '../../ledger/types.ts'
import { SYNC_MAX_BLOCKS, SYNC_MAX_EVIDENCE_IDS, SYNC_MAX_HEADS } from './constants.ts'

/** Names one piece of evidence: the equivocating author and height. */
export interface EvidenceId { author: Uint8Array, height: number }

/** Client to server. */
export type SyncRequest =
  | { t: 'heads', heads: Head[] }
  | { t: 'have', have: EvidenceId[] }
  | { t: 'push', evidence: Evidence[] }

/** Server to client. */
export type SyncResponse =
  | { t: 'blocks', blocks: Uint8Array[], more: boolean }
  | { t: 'evidence', have: EvidenceId[], evidence: Evidence[] }

/** Canonical bytes of a sync frame. */
export function encodeFrame (frame: SyncRequest | SyncResponse): Uint8Array {
  return encode(frame)
}

const key = (v: unknown, p: string): Uint8Array => expectBytes(v, p, ED25519_PUBLIC_KEY_BYTES)

function parseHead (v: unknown, p: string): Head {
  const f = expectFields(v, p, ['author', 'height', 'hash'])
  return { author: key(f.author, `${p}.author`), height: expectUint(f.height, `${p}.height`), hash: expectBytes(f.hash, `${p}.hash`, HASH_BYTES) }
}

function parseEvidenceId (v: unknown, p: string): EvidenceId {
  const f = expectFields(v, p, ['author', 'height'])
  return { author: key(f.author, `${p}.author`), height: expectUint(f.height, `${p}.height`) }
}

/** Checks the shape of one evidence record (the ledger checks the signatures). */
export function parseEvidence (v: unknown, p: string): Evidence {
  const f = expectFields(v, p, ['author', 'height', 'blocks'])
  const blocks = expectArray(f.blocks, `${p}.blocks`, 2, (x, q) => expectBytes(x, q, undefined, MAX_BLOCK_BYTES))
  if (blocks.length !== 2) throw new SchemaError(`${p}.blocks: expected 2 blocks, got ${blocks.length}`)
  return { author: key(f.author, `${p}.author`), height: expectUint(f.height, `${p}.height`), blocks: [blocks[0], blocks[1]] }
}

const evidenceList = (v: unknown, p: string): Evidence[] => expectArray(v, p, SYNC_MAX_EVIDENCE_IDS, parseEvidence)
const idList = (v: unknown, p: string): EvidenceId[] => expectArray(v, p, SYNC_MAX_EVIDENCE_IDS, parseEvidenceId)

/** Decodes and checks a client frame; throws EncodingError or SchemaError. */
export function decodeRequest (bytes: Uint8Array): SyncRequest {
  const v = decode(bytes)
  const t = expectEnum(expectFields(v, 'sync', ['t'], ['heads', 'have', 'evidence']).t, 'sync.t', ['heads', 'have', 'push'] as const)
  switch (t) {
    case 'heads': {
      const f = expectFields(v, 'sync', ['t', 'heads'])
      return { t, heads: expectArray(f.heads, 'sync.heads', SYNC_MAX_HEADS, parseHead) }
    }
    case 'have': {
      const f = expectFields(v, 'sync', ['t', 'have'])
      return { t, have: idList(f.have, 'sync.have') }
    }
    case 'push': {
      const f = expectFields(v, 'sync', ['t', 'evidence'])
      return { t, evidence: evidenceList(f.evidence, 'sync.evidence') }
    }
  }
}

/** Decodes and checks a server frame; throws EncodingError or SchemaError. */
export function decodeResponse (bytes: Uint8Array): SyncResponse {
  const v = decode(bytes)
  const t = expectEnum(expectFields(v, 'sync', ['t'], ['blocks', 'more', 'have', 'evidence']).t, 'sync.t', ['blocks', 'evidence'] as const)
  if (t === 'blocks') {
    const f = expectFields(v, 'sync', ['t', 'blocks', 'more'])
    if (typeof f.more !== 'boolean') throw new SchemaError('sync.more: expected a boolean')
    const blocks = expectArray(f.blocks, 'sync.blocks', SYNC_MAX_BLOCKS, (x, p) => expectBytes(x, p, undefined, MAX_BLOCK_BYTES))
    return { t, blocks, more: f.more }
  }
  const f = expectFields(v, 'sync', ['t', 'have', 'evidence'])
  return { t, have: idList(f.have, 'sync.have'), evidence: evidenceList(f.evidence, 'sync.evidence') }
}

/** A string key of an evidence id, for set lookups. */
export function evidenceKey (id: EvidenceId): string {
  return `${toHex(id.author)}/${id.height}`
}
