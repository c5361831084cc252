// Worker threads that encrypt uploads into the blockstore (seal-worker.ts). An upload's temp file
// is sealed while the body is still arriving: the caller reports how far the file is written, the
// worker reads, encrypts, chunks, hashes and writes the blocks behind it, and asks the main thread
// to hold each block before writing it, so the collector never sees it unheld. Jobs go to the
// worker with the fewest in flight; a worker runs several jobs at once, interleaved on its loop.
import { Worker } from 'node:worker_threads'
import { CID } from 'multiformats/cid'
import { MedichainError } from '../../../protocol/errors.ts'
import { AbortedError, StorageFullError, StorageNotStartedError } from '../errors.ts'
import type { SealRequest, SealResponse } from './seal-worker.ts'

/** What a job tells its owner about the blocks it writes. */
export interface SealHooks {
  /** Called before the block is written (the worker waits for it): hold it away from the collector. */
  hold(cid: CID): void
  /** The block's file is in place, its data fsynced; `fresh` when it was not on disk before. */
  stored(cid: CID, bytes: number, fresh: boolean): void
}

/** One file being sealed. */
export interface SealJob {
  /** `bytes` of the file are written (call as it grows); `final` once that is the whole file. */
  grow(bytes: number, final?: boolean): void
  /** Stops the job; `done` then rejects with ABORTED. Idempotent. */
  abort(): void
  /** The unixfs root and the ciphertext size, once every block is written and its data fsynced (the folders are not). */
  readonly done: Promise<{ cid: CID, size: number }>
}

/** Options of createSealPool. */
export interface SealPoolInit {
  /** Worker threads (≥ 1), started on first use. */
  workers: number
  /** The blockstore-fs folder the workers write into (NextToLast sharding, as helia-light.ts). */
  blocksPath: string
}

/** The seal workers of one storage instance. */
export interface SealPool {
  /** Starts sealing the plaintext file at `path` under `key` (copied; the caller keeps and zeroes its own). */
  seal(path: string, key: Uint8Array, hooks: SealHooks, options?: { chunkSize?: number }): SealJob
  /** Fails every job in flight (NOT_STARTED) and stops the workers. */
  close(): Promise<void>
}

interface Running { worker: Worker, jobs: Set<number> }
interface Pending { hooks: SealHooks, resolve: (r: { cid: CID, size: number }) => void, reject: (err: Error) => void, slot: Running }

/** The typed error of a failed job, from the code the worker sent. */
function jobError (code: string, message: string): Error {
  if (code === 'ABORTED') return new AbortedError(message)
  if (code === 'STORAGE_FULL') return new StorageFullError()
  return new MedichainError(code, message)
}

/** Creates the pool: `createSealPool(init)`, then `seal(...)` per upload and `close()` at stop. */
export function createSealPool (init: SealPoolInit): SealPool {
  if (!Number.isSafeInteger(init.workers) || init.workers < 1) throw new MedichainError('INVALID', 'the seal pool needs at least one worker')
  const url = new URL('./seal-worker.ts', import.meta.url)
  const slots: Running[] = []
  const pending = new Map<number, Pending>()
  let nextId = 0
  let closed = false

  const settle = (id: number, err: Error | null, result?: { cid: CID, size: number }): void => {
    const p = pending.get(id)
    if (p === undefined) return
    pending.delete(id)
    p.slot.jobs.delete(id)
    if (err !== null) p.reject(err)
    else if (result !== undefined) p.resolve(result)
  }

  const spawn = (): Running => {
    const slot: Running = { worker: new Worker(url), jobs: new Set() }
    const send = (req: SealRequest): void => slot.worker.postMessage(req)
    slot.worker.on('message', (res: SealResponse) => {
      const p = pending.get(res.id)
      if (p === undefined) return
      if (res.type === 'hold') {
        p.hooks.hold(CID.decode(res.cid))
        send({ type: 'held', id: res.id, n: res.n })
      } else if (res.type === 'stored') {
        p.hooks.stored(CID.decode(res.cid), res.bytes, res.fresh)
      } else if (res.ok) {
        settle(res.id, null, { cid: CID.decode(res.cid), size: res.size })
      } else {
        settle(res.id, jobError(res.code, res.message))
      }
    })
    // A worker that dies (out of memory) fails only its own jobs; the next job gets a new one.
    const died = (): void => {
      const i = slots.indexOf(slot)
      if (i >= 0) slots.splice(i, 1)
      for (const id of [...slot.jobs]) settle(id, new MedichainError('INTERNAL', 'the seal worker stopped'))
    }
    slot.worker.on('error', died)
    slot.worker.on('exit', died)
    slots.push(slot)
    return slot
  }

  /** The worker with the fewest jobs, or a new one while the pool is not full. */
  const pick = (): Running => {
    const least = slots.reduce<Running | undefined>((a, b) => a === undefined || b.jobs.size < a.jobs.size ? b : a, undefined)
    if (least !== undefined && (least.jobs.size === 0 || slots.length >= init.workers)) return least
    return spawn()
  }

  return {
    seal (path, key, hooks, options = {}) {
      if (closed) throw new StorageNotStartedError('storage is not started')
      const slot = pick()
      const id = nextId++
      slot.jobs.add(id)
      const done = new Promise<{ cid: CID, size: number }>((resolve, reject) => pending.set(id, { hooks, resolve, reject, slot }))
      const send = (req: SealRequest): void => {
        if (pending.has(id)) slot.worker.postMessage(req)
      }
      send({ type: 'start', id, path, key: key.slice(), blocksPath: init.blocksPath, ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }) })
      let final = false
      return {
        grow (bytes, isFinal = false) {
          if (final) return
          final = isFinal
          send({ type: 'grow', id, bytes, final: isFinal })
        },
        abort () {
          send({ type: 'abort', id })
        },
        done
      }
    },
    async close () {
      closed = true
      for (const id of [...pending.keys()]) settle(id, new StorageNotStartedError('storage stopped during the upload'))
      await Promise.all(slots.splice(0).map(async s => await s.worker.terminate()))
    }
  }
}
