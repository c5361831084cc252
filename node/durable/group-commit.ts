// Group commit for a level store's synced puts: puts that arrive while a synced batch is being
// written go together into the next one, so concurrent writers share one fsync instead of one
// each. Each put resolves only once the batch that holds it is durable, never before (the
// DICOM catalogue and custody; docs/benchmarks.md "DICOM ingest").
import type { DurableWrites } from './level.ts'

/** The store a group commit writes to. */
export interface GroupCommitStore {
  batch(ops: Array<{ type: 'put', key: string, value: Uint8Array }>, options: { sync: boolean }): Promise<void>
}

/** Synced puts of one store, batched while a batch is in flight. */
export class GroupCommit {
  readonly #db: GroupCommitStore
  readonly #writes: DurableWrites
  #queue: Array<{ key: string, value: Uint8Array, resolve: () => void, reject: (err: unknown) => void }> = []
  #running = false
  #idle: Array<() => void> = []

  constructor (db: GroupCommitStore, writes: DurableWrites) {
    this.#db = db
    this.#writes = writes
  }

  /** Puts `value` under `key`; resolves once it is durable, with the puts batched beside it. */
  async put (key: string, value: Uint8Array): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#queue.push({ key, value, resolve, reject })
      this.#next()
    })
  }

  /** Resolves once every put asked for so far is written (or has failed). */
  async settled (): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return
    await new Promise<void>(resolve => this.#idle.push(resolve))
  }

  #next (): void {
    if (this.#running) return
    const batch = this.#queue.splice(0)
    if (batch.length === 0) {
      for (const wake of this.#idle.splice(0)) wake()
      return
    }
    this.#running = true
    const ops = batch.map(b => ({ type: 'put' as const, key: b.key, value: b.value }))
    this.#writes.run(async () => await this.#db.batch(ops, { sync: true })).then(
      () => { for (const b of batch) b.resolve() },
      (err: unknown) => { for (const b of batch) b.reject(err) }
    ).finally(() => {
      this.#running = false
      this.#next()
    })
  }
}
