// The hospital's DICOM intake (issue 13 item 6): instances held durably in custody for a linked
// patient, attached to the ledger by a few concurrent workers. C-STORE answers once an instance is
// in custody (sealed and fsynced, so a crash loses nothing); the pipeline stages then overlap
// across instances, and the `image.add` transactions that are ready together share one block and
// one fsync (the ledger's group commit), instead of one association waiting on each in turn.
import type { Logger } from 'pino'
import { MedichainError } from '../../../protocol/errors.ts'
import type { InstanceHeader } from '../catalogue/instance-header.ts'

/** One held instance to attach: its custody id, and the plaintext temp copy when one is still at hand. */
export interface IntakeJob {
  mrn: string
  id: string
  size: number
  patient: Uint8Array
  /** The received file, still in the temp folder (saves decrypting the custody copy). */
  plain?: string
  /** With `plain`: its header as parsed when it was filed, and its bytes when they were read then. */
  header?: InstanceHeader
  bytes?: Uint8Array
  /** The plaintext is only in `bytes` (received in memory): it is written to `plain` when attached. */
  inMemory?: boolean
}

/** What the intake uses: how one job is attached (restore if needed, upload, release). */
export interface IntakeComponents {
  attach: (job: IntakeJob) => Promise<void>
  logger: Logger
  /**
   * Jobs that may be in flight now (default `concurrency`): fewer while senders are being
   * answered, so that acknowledging comes first and the intake catches up after (ingest.ts).
   */
  limit?: () => number
}

/** Intake tunables. */
export interface IntakeInit {
  /** Jobs in flight at once (each holds a decode slot while decoding). */
  concurrency: number
}

/** Error codes after which a job stays in custody and is retried at the next start or link. */
const LATER = new Set(['DECODE_BUSY', 'STORAGE_FULL', 'STORE_FAILED', 'SYNCING', 'CLOCK_SKEW', 'UNAVAILABLE'])

/** The intake queue. */
export interface Intake {
  /** Resolves once the job is on the ledger; rejects with why not (the instance stays in custody). */
  enqueue(job: IntakeJob): Promise<void>
  /** Jobs queued or in flight. */
  pending(): number
  /** Resolves once no job is queued or in flight. */
  settled(): Promise<void>
  /**
   * Resolves once every job enqueued before the call has ended (attached, or failed and left in
   * custody), whatever was enqueued since: what a query waits for to see every instance
   * acknowledged before it.
   */
  caughtUp(): Promise<void>
  /** Starts queued jobs up to the current limit (after the limit has risen). */
  nudge(): void
  /** Takes no new jobs and waits for those in flight; queued ones stay in custody. */
  stop(): Promise<void>
}

/** Creates the intake: `createIntake(init)(components)`. */
export function createIntake (init: IntakeInit): (components: IntakeComponents) => Intake {
  return ({ attach, logger, limit }) => {
    const queue: Array<{ job: IntakeJob, seq: number, done: (err?: unknown) => void }> = []
    /** Jobs enqueued so far (each job's `seq` is its place), and the `seq`s in flight. */
    let enqueued = 0
    const inFlight = new Set<number>()
    /** Callers of caughtUp(), each waiting until no job up to its mark is queued or in flight. */
    let marks: Array<{ mark: number, wake: () => void }> = []
    /** The oldest job not ended yet (queue and flight are both in enqueue order), or Infinity. */
    const oldest = (): number => Math.min(queue[0]?.seq ?? Infinity, ...inFlight)
    const wakeMarks = (): void => {
      if (marks.length === 0) return
      const first = oldest()
      const woken = marks.filter(m => m.mark < first)
      if (woken.length === 0) return
      marks = marks.filter(m => m.mark >= first)
      for (const m of woken) m.wake()
    }
    /** Custody ids queued or in flight: a held instance is attached once, whoever asks. */
    const known = new Map<string, Promise<void>>()
    let stopped = false
    let idle: Array<() => void> = []

    const pump = (): void => {
      const allowed = Math.max(1, Math.min(init.concurrency, limit?.() ?? init.concurrency))
      while (!stopped && inFlight.size < allowed && queue.length > 0) {
        const next = queue.shift()
        if (next === undefined) break
        inFlight.add(next.seq)
        attach(next.job).then(() => next.done(), (err: unknown) => {
          const code = err instanceof MedichainError ? err.code : undefined
          // The instance stays in custody: nothing acknowledged is lost. A transient failure is
          // retried at the next start or link; any other is left for the hospital to look at.
          logger.warn({ code, retry: code !== undefined && LATER.has(code) }, 'an instance in custody could not be attached yet')
          next.done(err)
        }).finally(() => {
          inFlight.delete(next.seq)
          known.delete(next.job.id)
          if (inFlight.size === 0 && queue.length === 0) for (const wake of idle.splice(0)) wake()
          pump()
          wakeMarks()
        })
      }
    }

    return {
      async enqueue (job) {
        const already = known.get(job.id)
        if (already !== undefined) return await already
        if (stopped) throw new MedichainError('UNAVAILABLE', 'the peer is stopping; the instance stays in custody')
        const seq = enqueued++
        const done = new Promise<void>((resolve, reject) => queue.push({ job, seq, done: (err) => err === undefined ? resolve() : reject(err) }))
        // Callers that do not wait (C-STORE, a restart) must not leave it unhandled.
        done.catch(() => {})
        known.set(job.id, done)
        pump()
        return await done
      },
      pending: () => queue.length + inFlight.size,
      async settled () {
        if (inFlight.size === 0 && queue.length === 0) return
        await new Promise<void>(resolve => idle.push(resolve))
      },
      nudge: () => pump(),
      async caughtUp () {
        const mark = enqueued - 1
        if (mark < oldest()) return
        await new Promise<void>(resolve => marks.push({ mark, wake: resolve }))
      },
      async stop () {
        stopped = true
        for (const q of queue.splice(0)) {
          known.delete(q.job.id)
          q.done(new MedichainError('UNAVAILABLE', 'the peer is stopping; the instance stays in custody'))
        }
        wakeMarks()
        if (inFlight.size > 0) await new Promise<void>(resolve => idle.push(resolve))
      }
    }
  }
}
