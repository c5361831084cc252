// Where FL keeps model and update files: a two-method interface over content-addressed storage, so
// the coordinator, the participants and the hot-loader need only "put bytes, get a CID" and "get
// the bytes of a CID". The peer backs it with helia (node/storage); the CID is the one storage.add
// returns for those bytes, which is what model.publish records on the ledger.
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { concat } from '../../../protocol/bytes.ts'
import { NotFoundError, TooLargeError } from '../../../protocol/errors.ts'
import type { Storage } from '../../storage/index.ts'
import { MODEL_MAX_BYTES } from '../constants.ts'

/** Options of a read. */
export interface ModelGetOptions {
  signal?: AbortSignal
  /** Time one missing block may take to arrive (ms). */
  timeoutMs?: number
}

/** Content-addressed bytes for models and updates. */
export interface ModelStore {
  /** Stores `bytes` (pinned here) and returns their CID. */
  put(bytes: Uint8Array): Promise<CID>
  /** The bytes of `cid`, from this disk or fetched from members; at most MODEL_MAX_BYTES. */
  get(cid: CID, options?: ModelGetOptions): Promise<Uint8Array>
  /** Keeps `cid` here for good (every peer pins the published model it serves). */
  pin?(cid: CID, options?: ModelGetOptions): Promise<void>
}

/** Concatenates a stream of chunks, refusing more than `max` bytes. */
export async function collectBytes (source: AsyncIterable<Uint8Array>, max = MODEL_MAX_BYTES): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of source) {
    size += chunk.length
    if (size > max) throw new TooLargeError(`a model file may be at most ${max} bytes`)
    chunks.push(chunk)
  }
  return concat(...chunks)
}

/** A ModelStore over the peer's helia storage (unixfs files, pinned on add). */
export function storageModelStore (storage: Pick<Storage, 'add' | 'cat' | 'pin'>): ModelStore {
  return {
    async put (bytes) {
      const { cid } = await storage.add([bytes])
      return cid
    },
    async get (cid, options = {}) {
      return await collectBytes(storage.cat(cid, options))
    },
    async pin (cid, options = {}) {
      await storage.pin(cid, options)
    }
  }
}

/**
 * A ModelStore in memory, for tools that run federated maths in one process (benchmarks, unit
 * tests of a round). CIDs are CIDv1 raw SHA-256 of the bytes: the CID helia gives a file that fits
 * one chunk (1 MiB). `get` of an unknown CID throws NOT_FOUND.
 */
export function memoryModelStore (): ModelStore {
  const files = new Map<string, Uint8Array>()
  return {
    async put (bytes) {
      const cid = CID.create(1, raw.code, await sha256.digest(bytes))
      files.set(cid.toString(), bytes.slice())
      return cid
    },
    async get (cid) {
      const bytes = files.get(cid.toString())
      if (bytes === undefined) throw new NotFoundError(`no model file ${cid.toString()}`)
      return bytes.slice()
    }
  }
}
