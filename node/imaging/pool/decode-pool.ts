// A bounded pool of decode workers (node:worker_threads). At most `workers` images are decoded,
// and held for analysis, at once; at most `queue` more wait; beyond that a caller is refused at
// once with DECODE_BUSY (503) rather than queued without bound, so overload costs neither memory
// nor the main thread's time.
import { Worker } from 'node:worker_threads'
import { MedichainError } from '../../../protocol/errors.ts'
import type { DicomScaling } from '../dicom/decode.ts'
import type { DecodeRequest, DecodeResponse, ImagePreview } from './decode-worker.ts'
import { CorruptImageError, DecodeBusyError } from '../errors.ts'
import type { ImageLimits } from '../limits.ts'
import type { DecodedImage, ImageFormat } from '../types.ts'

/** Sizes of the pool and the pixel budget each decode runs under. */
export interface DecodePoolInit {
  /** Worker threads, and images decoded or analysed at once (≥ 1). */
  workers: number
  /** Callers that may wait for a worker (≥ 0); more are refused with DECODE_BUSY. */
  queue: number
  limits: ImageLimits
}

/** One image to decode: a file (read inside the worker) or bytes already in memory. */
export type DecodeJob = ({ path: string } | { bytes: Uint8Array }) & {
  format?: ImageFormat
  dicomScaling?: DicomScaling
  /** Also prepare the analyser's model input of this side, in the worker (the model's preprocessing). */
  modelInput?: number
  /** Also make the image card's preview (thumbnail; DICOM date and descriptions), in the worker. */
  preview?: boolean
  /**
   * Wait for a worker however long the line (never DECODE_BUSY): for callers that bound their own
   * concurrency, such as the DICOM intake and STOW-RS, whose instances are already accepted.
   */
  wait?: boolean
}

/** A decoded image, with the model input and the card preview when the job asked for them. */
export interface Decoded { image: DecodedImage, input?: Float32Array, preview?: ImagePreview }

/** What the pool is doing now (for health and tests). */
export interface DecodePoolStats { workers: number, busy: number, queued: number }

/** The decode pool of a peer. */
export interface DecodePool {
  /**
   * Decodes `job` in a worker, then runs `use` on the image while still holding the slot, so the
   * images held for analysis are bounded too. Throws DECODE_BUSY when the queue is full, the
   * loaders' typed errors (PIXEL_BUDGET, CORRUPT_IMAGE, …), or UNAVAILABLE once closed.
   */
  withImage<T>(job: DecodeJob, use: (image: DecodedImage, input: Float32Array | undefined, preview: ImagePreview | undefined) => Promise<T>): Promise<T>
  /** Starts every worker now, so that the first uploads do not wait for a thread to boot. */
  start(): void
  stats(): DecodePoolStats
  /** Refuses new work and stops every worker. */
  close(): Promise<void>
}

interface Pending { resolve: (decoded: Decoded) => void, reject: (err: Error) => void }

/** Creates the pool; workers start on first use and are replaced if one dies. */
export function createDecodePool (init: DecodePoolInit): DecodePool {
  if (!Number.isSafeInteger(init.workers) || init.workers < 1) throw new MedichainError('INVALID', 'decode pool needs at least one worker')
  if (!Number.isSafeInteger(init.queue) || init.queue < 0) throw new MedichainError('INVALID', 'decode queue must be a non-negative integer')
  const url = new URL('./decode-worker.ts', import.meta.url)
  const idle: Worker[] = []
  const all = new Set<Worker>()
  /** The request each busy worker is on. */
  const current = new Map<Worker, number>()
  const pending = new Map<number, Pending>()
  const waiting: Array<() => void> = []
  let busy = 0
  let nextId = 0
  let closed = false

  const acquire = async (wait: boolean): Promise<void> => {
    if (closed) throw new MedichainError('UNAVAILABLE', 'the peer is stopping')
    if (busy < init.workers) { busy++; return }
    if (!wait && waiting.length >= init.queue) throw new DecodeBusyError(`all ${init.workers} decode workers are busy and ${init.queue} uploads wait; try again shortly`)
    await new Promise<void>(resolve => waiting.push(resolve))
    if (closed) throw new MedichainError('UNAVAILABLE', 'the peer is stopping')
  }
  const release = (): void => {
    const next = waiting.shift()
    if (next !== undefined) next() // the slot passes on; busy stays the same
    else busy--
  }

  const spawn = (): Worker => {
    const w = new Worker(url)
    all.add(w)
    const fail = (err: Error): void => {
      all.delete(w)
      const i = idle.indexOf(w)
      if (i >= 0) idle.splice(i, 1)
      const job = current.get(w)
      current.delete(w)
      const p = job === undefined ? undefined : pending.get(job)
      if (job !== undefined && p !== undefined) { pending.delete(job); p.reject(err) }
    }
    w.on('message', (res: DecodeResponse) => {
      const p = pending.get(res.id)
      if (p === undefined) return
      pending.delete(res.id)
      current.delete(w)
      idle.push(w)
      if (res.ok) p.resolve({ image: res.image, input: res.input, preview: res.preview })
      else p.reject(new MedichainError(res.code, res.message))
    })
    // A worker that dies mid-decode (out of memory, a decoder crash) fails only its own image.
    w.on('error', () => fail(new CorruptImageError('the decoder stopped on this file')))
    w.on('exit', () => fail(new CorruptImageError('the decoder stopped on this file')))
    return w
  }

  const decode = async (job: DecodeJob): Promise<Decoded> => {
    const w = idle.pop() ?? spawn()
    const id = nextId++
    current.set(w, id)
    const req: DecodeRequest = {
      id, limits: init.limits, format: job.format, dicomScaling: job.dicomScaling, modelInput: job.modelInput, preview: job.preview,
      ...('path' in job ? { path: job.path } : { bytes: job.bytes })
    }
    return await new Promise<Decoded>((resolve, reject) => {
      pending.set(id, { resolve, reject })
      try {
        w.postMessage(req)
      } catch (err) {
        // Input that cannot be cloned into the worker (a detached buffer): this job fails, the worker stays.
        pending.delete(id)
        current.delete(w)
        idle.push(w)
        reject(new MedichainError('INVALID', `the image cannot be passed to a decode worker: ${(err as Error).name}`))
      }
    })
  }

  return {
    async withImage (job, use) {
      await acquire(job.wait === true)
      try {
        const { image, input, preview } = await decode(job)
        return await use(image, input, preview)
      } finally {
        release()
      }
    },
    start () {
      while (!closed && all.size < init.workers) idle.push(spawn())
    },
    stats: () => ({ workers: init.workers, busy, queued: waiting.length }),
    async close () {
      closed = true
      for (const wake of waiting.splice(0)) wake()
      await Promise.all([...all].map(async w => await w.terminate()))
      all.clear()
      idle.length = 0
    }
  }
}
