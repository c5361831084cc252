// The analysis worker pool (issue 13 item 6): detect-strange runs in worker threads, each with its
// own tfjs backend and a copy of the model, so that the main thread keeps answering C-STORE,
// STOW-RS and the web UI while images are analysed. A worker takes up to `batch` queued images per
// predict call. A worker that dies (a crash, out of memory, `interrupt`) is replaced and the
// images it held are analysed again on the new one; an image that kills MAX_ATTEMPTS workers fails
// with ANALYSIS_FAILED.
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { CID } from 'multiformats/cid'
import { MedichainError } from '../../../protocol/errors.ts'
import type { Analyser, AnalysisResult } from '../../analysis/analyser.ts'
import type { DecodedImage } from '../../imaging/types.ts'
import type { AnalysisReply, AnalysisRequest } from './analysis-worker.ts'

/** Thrown when an image could not be analysed: the workers analysing it kept dying. */
export class AnalysisFailedError extends MedichainError {
  constructor (message: string) {
    super('ANALYSIS_FAILED', message)
    this.name = 'AnalysisFailedError'
  }
}

/** Tries per image before it fails: a worker may die for another image of its batch. */
export const MAX_ATTEMPTS = 3

/** Default number of analysis workers: every core but one (the main thread's), at least one. */
export function defaultAnalysisWorkers (): number {
  return Math.max(1, availableParallelism() - 1)
}

/** Sizes of the pool. */
export interface AnalysisPoolInit {
  /** Worker threads (≥ 1). */
  workers: number
  /** Images per predict call (≥ 1). */
  batch: number
}

/** What the pool is doing (for health and tests). */
export interface AnalysisPoolStats { workers: number, running: number, queued: number, restarts: number }

/** The analysis pool of a peer. */
export interface AnalysisPool {
  /** An analyser that runs `analyser`'s model in the pool, or `analyser` itself when it has no weights to move. */
  offload(analyser: Analyser): Analyser
  stats(): AnalysisPoolStats
  /** Terminates every worker now, as a crash would; what they held is analysed again on new workers. */
  interrupt(): Promise<void>
  /** Refuses new work, fails what is queued with UNAVAILABLE, and stops every worker. */
  close(): Promise<void>
}

interface Job {
  id: number
  model: string
  weights: Uint8Array
  cid: CID
  image: DecodedImage
  input?: Float32Array
  attempts: number
  resolve: (r: AnalysisResult) => void
  reject: (err: Error) => void
}

interface Slot { worker: Worker, models: Set<string>, batch: Job[] | null }

/** Creates the pool; workers start on first use and are replaced when one dies. */
export function createAnalysisPool (init: AnalysisPoolInit): AnalysisPool {
  if (!Number.isSafeInteger(init.workers) || init.workers < 1) throw new MedichainError('INVALID', 'the analysis pool needs at least one worker')
  if (!Number.isSafeInteger(init.batch) || init.batch < 1) throw new MedichainError('INVALID', 'the analysis batch must be at least one image')
  const url = new URL('./analysis-worker.ts', import.meta.url)
  /** Images queued beyond those in the workers: enough to fill every worker's next batch. */
  const room = init.workers * init.batch
  const queue: Job[] = []
  const slots = new Set<Slot>()
  const waitingForRoom: Array<() => void> = []
  let nextId = 0
  let restarts = 0
  let closed = false

  const spawn = (): Slot => {
    const slot: Slot = { worker: new Worker(url), models: new Set(), batch: null }
    slots.add(slot)
    let gone = false
    const died = (): void => {
      if (gone) return
      gone = true
      slots.delete(slot)
      const held = slot.batch ?? []
      slot.batch = null
      if (closed) {
        for (const j of held) j.reject(new MedichainError('UNAVAILABLE', 'the peer is stopping'))
        return
      }
      restarts++
      // Put back in front, in order: they were next. One that has used its tries fails.
      for (const j of held.reverse()) {
        j.attempts++
        if (j.attempts >= MAX_ATTEMPTS) j.reject(new AnalysisFailedError(`the analysis worker stopped ${j.attempts} times on this image`))
        else queue.unshift(j)
      }
      pump()
    }
    slot.worker.on('message', (reply: AnalysisReply) => {
      const batch = slot.batch ?? []
      slot.batch = null
      for (const r of reply.results) {
        const job = batch.find(j => j.id === r.id)
        if (job === undefined) continue
        if (r.ok) job.resolve({ png: r.png, score: r.score, boxes: r.boxes, model: job.cid, backend: r.backend })
        else job.reject(new MedichainError(r.code, r.message))
      }
      pump()
    })
    slot.worker.on('error', died)
    slot.worker.on('exit', died)
    return slot
  }

  /** Hands queued images to idle workers, up to `batch` of one model each. */
  const pump = (): void => {
    while (!closed && queue.length > 0) {
      let slot = [...slots].find(s => s.batch === null)
      if (slot === undefined && slots.size < init.workers) slot = spawn()
      if (slot === undefined) break
      const model = queue[0].model
      const batch: Job[] = []
      for (let i = 0; i < queue.length && batch.length < init.batch;) {
        if (queue[i].model === model) batch.push(...queue.splice(i, 1))
        else i++
      }
      slot.batch = batch
      const request: AnalysisRequest = {
        model,
        ...(slot.models.has(model) ? {} : { weights: batch[0].weights }),
        jobs: batch.map(j => ({ id: j.id, image: j.image, ...(j.input === undefined ? {} : { input: j.input }) }))
      }
      slot.models.add(model)
      slot.worker.postMessage(request)
    }
    while (waitingForRoom.length > 0 && queue.length < room) waitingForRoom.shift()?.()
  }

  const enqueue = async (a: { model: string, weights: Uint8Array, cid: CID }, image: DecodedImage, input?: Float32Array): Promise<{ result: Promise<AnalysisResult> }> => {
    while (!closed && queue.length >= room) await new Promise<void>(resolve => waitingForRoom.push(resolve))
    if (closed) throw new MedichainError('UNAVAILABLE', 'the peer is stopping')
    const result = new Promise<AnalysisResult>((resolve, reject) => {
      queue.push({ id: nextId++, ...a, image, input, attempts: 0, resolve, reject })
    })
    pump()
    return { result }
  }

  return {
    offload (analyser) {
      if (analyser.submit !== undefined || analyser.weights === undefined) return analyser
      const weights = analyser.weights()
      const a = { model: analyser.model.toString(), weights, cid: analyser.model }
      return {
        model: analyser.model,
        inputSize: analyser.inputSize,
        weights: () => weights,
        submit: async (image, input) => await enqueue(a, image, input),
        analyse: async (image, input) => await (await enqueue(a, image, input)).result
      }
    },
    stats: () => ({ workers: slots.size, running: [...slots].reduce((n, s) => n + (s.batch?.length ?? 0), 0), queued: queue.length, restarts }),
    async interrupt () {
      await Promise.all([...slots].map(async s => await s.worker.terminate()))
    },
    async close () {
      closed = true
      for (const j of queue.splice(0)) j.reject(new MedichainError('UNAVAILABLE', 'the peer is stopping'))
      for (const wake of waitingForRoom.splice(0)) wake()
      await Promise.all([...slots].map(async s => await s.worker.terminate()))
      slots.clear()
    }
  }
}
