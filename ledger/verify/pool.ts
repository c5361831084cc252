// Signature verification on worker threads. A block of 256 transactions costs 256 Ed25519
// verifications; doing them beside the main thread lets decoding, state updates and level I/O
// of one block overlap the verification of the next (see docs/benchmarks.md, ingest ratio).
import { Worker } from 'node:worker_threads'
import { MedichainError } from '../../protocol/errors.ts'
import type { VerifyReady, VerifyResponse } from './worker.ts'

/** Checks every signature of a block; rejects with the typed error's code when one fails. */
export interface VerifyPool {
  /**
   * Resolves once every worker has loaded its modules (a few hundred ms of CPU each), so the
   * first blocks received do not wait on that; rejects if a worker fails to start.
   */
  ready(): Promise<void>
  verifyBlock(bytes: Uint8Array, ledgerId: Uint8Array): Promise<void>
  close(): Promise<void>
}

/** Starts `size` worker threads (size ≥ 1). */
export function createVerifyPool (size: number): VerifyPool {
  const url = new URL('./worker.ts', import.meta.url)
  const workers = Array.from({ length: size }, () => new Worker(url))
  const load = workers.map(() => 0)
  const waiting = new Map<number, { resolve: () => void, reject: (err: Error) => void, worker: number }>()
  let next = 0
  const ready = Promise.all(workers.map(async w => await new Promise<void>((resolve, reject) => {
    const onExit = (code: number): void => reject(new Error(`a verify worker exited with ${code} before it was ready`))
    const onReady = (msg: VerifyResponse | VerifyReady): void => {
      if (!('ready' in msg)) return
      w.off('message', onReady)
      w.off('error', reject)
      w.off('exit', onExit)
      resolve()
    }
    w.on('message', onReady)
    w.once('error', reject)
    w.once('exit', onExit)
  }))).then(() => {})
  // A caller that never asks whether the pool is ready must not see an unhandled rejection.
  ready.catch(() => {})
  workers.forEach((w, i) => {
    w.on('message', (res: VerifyResponse | VerifyReady) => {
      if ('ready' in res) return
      const p = waiting.get(res.id)
      if (p === undefined) return
      waiting.delete(res.id)
      load[i]--
      if (res.ok) p.resolve()
      else p.reject(new MedichainError(res.code, res.message))
    })
    w.on('error', (err) => {
      for (const [id, p] of waiting) if (p.worker === i) { waiting.delete(id); p.reject(err) }
    })
  })
  return {
    async ready () {
      await ready
    },
    async verifyBlock (bytes, ledgerId) {
      const worker = load.indexOf(Math.min(...load))
      load[worker]++
      const id = next++
      await new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject, worker })
        workers[worker].postMessage({ id, bytes, ledgerId })
      })
    },
    async close () {
      await Promise.all(workers.map(async w => await w.terminate()))
    }
  }
}
