// Worker thread body of the seal pool (seal-pool.ts): encrypts one plaintext file, the upload's temp
// file, into the content format (protocol/crypto/content-crypto.ts) and adds the ciphertext to the
// blockstore as one unixfs file, the very DAG `Storage.add` builds (@helia/unixfs defaults: 1 MiB
// raw leaves, balanced, CIDv1). The file may still be growing: the main thread says how many bytes
// are written so far and, at the end, the final size. Running here keeps the upload's buffers (a
// 1 MiB read buffer reused, the ciphertext and the leaves) off the main thread's heap, whose
// collections grow with everything else the peer holds (docs/benchmarks.md, upload).
import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { parentPort } from 'node:worker_threads'
import { unixfs } from '@helia/unixfs'
import { NextToLast } from 'blockstore-fs/sharding'
import { CID } from 'multiformats/cid'
import { MedichainError } from '../../../protocol/errors.ts'
import { blockFileExists, writeBlockFile } from '../blocks/block-file.ts'
import { ChunkSealer } from './content-crypto-node.ts'
import { isNoSpace } from '../errors.ts'

/** main → worker: seal the file at `path` under `key` into the blockstore at `blocksPath`. */
export interface SealStart { type: 'start', id: number, path: string, key: Uint8Array, blocksPath: string, chunkSize?: number }
/** main → worker: `bytes` of the file are written; `final` when that is its whole size. */
export interface SealGrow { type: 'grow', id: number, bytes: number, final: boolean }
/** main → worker: give up (the upload failed); the worker answers with an ABORTED error. */
export interface SealAbort { type: 'abort', id: number }
/** main → worker: block `n` of the job is held (see SealHold). */
export interface SealHeld { type: 'held', id: number, n: number }
export type SealRequest = SealStart | SealGrow | SealAbort | SealHeld

/** worker → main: hold this block (before the worker writes it) and answer SealHeld. */
export interface SealHold { type: 'hold', id: number, n: number, cid: Uint8Array }
/** worker → main: a block file is in place and its data fsynced; `fresh` when it was not on disk before. */
export interface SealStored { type: 'stored', id: number, cid: Uint8Array, bytes: number, fresh: boolean }
/** worker → main: the job is over, with the root and ciphertext size, or a typed error. */
export type SealDone = { type: 'done', id: number, ok: true, cid: Uint8Array, size: number } | { type: 'done', id: number, ok: false, code: string, message: string }
export type SealResponse = SealHold | SealStored | SealDone

/** One job in this worker: what the main thread has said about the file so far. */
interface Job {
  id: number
  written: number
  final: boolean
  aborted: boolean
  /** Wakes the reader when `written`, `final` or `aborted` changes. */
  wake: () => void
  holds: Map<number, () => void>
}

const jobs = new Map<number, Job>()

function post (res: SealResponse): void {
  parentPort?.postMessage(res)
}

/** Waits until `ready()` or the job is aborted. */
async function until (job: Job, ready: () => boolean): Promise<void> {
  while (!ready()) {
    if (job.aborted) throw new MedichainError('ABORTED', 'the upload was aborted')
    await new Promise<void>(resolve => { job.wake = resolve })
  }
  if (job.aborted) throw new MedichainError('ABORTED', 'the upload was aborted')
}

/** Reads exactly `length` bytes at `position` into `buf`; a file shorter than the main thread said is an error. */
async function readExactly (fh: FileHandle, buf: Uint8Array, length: number, position: number): Promise<void> {
  for (let at = 0; at < length;) {
    const { bytesRead } = await fh.read(buf, at, length - at, position + at)
    if (bytesRead === 0) throw new MedichainError('INTERNAL', 'the upload\'s temp file is shorter than written')
    at += bytesRead
  }
}

/** The ciphertext of the file, chunk by chunk, as the file grows. */
async function * ciphertext (job: Job, fh: FileHandle, sealer: ChunkSealer): AsyncGenerator<Uint8Array> {
  const size = sealer.header.chunkSize
  const buf = new Uint8Array(size)
  yield sealer.header.bytes.slice()
  let position = 0
  for (;;) {
    await until(job, () => job.written >= position + size || job.final)
    if (job.written < position + size) break
    await readExactly(fh, buf, size, position)
    position += size
    // seal() copies into fresh ciphertext buffers, so `buf` is free again for the next read.
    yield * sealer.seal(buf, false)
  }
  const rest = job.written - position
  await readExactly(fh, buf, rest, position)
  yield * sealer.seal(buf.subarray(0, rest), true)
}

/**
 * Block writes one job keeps in flight: the importer's put returns at once below this, so the
 * next leaves are encrypted and hashed while earlier ones go to disk, and memory stays bounded.
 */
const WRITES_IN_FLIGHT = 16

async function seal (req: SealStart, job: Job): Promise<{ cid: CID, size: number }> {
  const sharding = new NextToLast()
  const pathOf = (cid: CID): string => {
    const { dir, file } = sharding.encode(cid)
    return join(req.blocksPath, dir, file)
  }
  let n = 0
  const writing = new Set<Promise<void>>()
  let failed: unknown
  const write = async (cid: CID, value: Uint8Array): Promise<void> => {
    // Held by the main thread before it exists on disk, so the collector never takes it.
    const held = new Promise<void>(resolve => job.holds.set(n, resolve))
    post({ type: 'hold', id: job.id, n: n++, cid: cid.bytes })
    await held
    if (job.aborted) throw new MedichainError('ABORTED', 'the upload was aborted')
    const path = pathOf(cid)
    const fresh = !(await blockFileExists(path))
    // The file's data goes to the device now, while the upload still arrives, so the upload's
    // one fsync pass before its record is left with the folders (blocks/blocks.ts Hold.sync).
    if (fresh) await writeBlockFile(path, value, { sync: true })
    post({ type: 'stored', id: job.id, cid: cid.bytes, bytes: value.byteLength, fresh })
  }
  const blockstore = {
    has: async (cid: CID) => await blockFileExists(pathOf(cid)),
    get: async function * (): AsyncGenerator<Uint8Array> {
      throw new MedichainError('INTERNAL', 'the seal worker only writes blocks')
    },
    put: async (cid: CID, value: Uint8Array) => {
      if (failed !== undefined) throw failed
      const w = write(cid, value).catch((err: unknown) => { failed ??= err })
      writing.add(w)
      void w.finally(() => writing.delete(w))
      while (writing.size >= WRITES_IN_FLIGHT) await Promise.race(writing)
      if (failed !== undefined) throw failed
      return cid
    }
  }
  /** Every write done; the first failure, if any, thrown. */
  const settled = async (): Promise<void> => {
    await Promise.all(writing)
    if (failed !== undefined) throw failed
  }
  const sealer = new ChunkSealer(req.key, req.chunkSize === undefined ? {} : { chunkSize: req.chunkSize })
  req.key.fill(0)
  const fh = await open(req.path, 'r')
  try {
    let size = 0
    const counted = async function * (): AsyncGenerator<Uint8Array> {
      for await (const piece of ciphertext(job, fh, sealer)) {
        size += piece.byteLength
        yield piece
      }
    }
    try {
      const cid = await unixfs({ blockstore }).addByteStream(counted())
      await settled()
      return { cid, size }
    } finally {
      // No write may still be running once the job reports: its owner removes the blocks of a failed one.
      await Promise.allSettled(writing)
    }
  } finally {
    await fh.close()
  }
}

function start (req: SealStart): void {
  const job: Job = { id: req.id, written: 0, final: false, aborted: false, wake: () => {}, holds: new Map() }
  jobs.set(req.id, job)
  seal(req, job).then(({ cid, size }) => {
    post({ type: 'done', id: req.id, ok: true, cid: cid.bytes, size })
  }, (err: unknown) => {
    const code = job.aborted ? 'ABORTED' : isNoSpace(err) ? 'STORAGE_FULL' : err instanceof MedichainError ? err.code : 'INTERNAL'
    // Codes and fixed words only: a file system message could carry a path, never PHI, but stays here.
    post({ type: 'done', id: req.id, ok: false, code, message: err instanceof MedichainError ? err.message : `the encrypted copy could not be stored (${code})` })
  }).finally(() => jobs.delete(req.id))
}

parentPort?.on('message', (req: SealRequest) => {
  if (req.type === 'start') return start(req)
  const job = jobs.get(req.id)
  if (job === undefined) return
  if (req.type === 'grow') {
    job.written = req.bytes
    job.final = req.final
  } else if (req.type === 'abort') {
    job.aborted = true
    for (const resolve of job.holds.values()) resolve()
    job.holds.clear()
  } else {
    job.holds.get(req.n)?.()
    job.holds.delete(req.n)
  }
  job.wake()
})
