// The level store of the FL history at `<data>/fl`: each task's header, each of its rounds under
// its own key (a round is written once, when it ends, in one batch with the updated header), and
// this hospital's participation records in order. A schema version is checked at open, as the
// ledger and account stores do. Every write goes through DurableWrites, so a write that failed on a
// full disk never leaves a torn log that would drop later records at the next open. Only this file
// touches level for FL.
import { Level } from 'level'
import { MedichainError } from '../../../protocol/errors.ts'
import { DurableWrites } from '../../durable/level.ts'
import { openVersioned } from '../../durable/level-schema.ts'
import { decodeParticipation, decodeRoundRecord, decodeTaskHeader } from './history-codec.ts'
import type { ParticipationRecord } from '../round/participant.ts'
import { viewFromHeader } from './record.ts'
import type { RoundRecord, TaskHeader, TaskView } from './record.ts'

/** Bumped whenever the key layout or the record encoding changes. */
export const FL_HISTORY_SCHEMA_VERSION = '1'

/**
 * The key layout. Task ids are [a-z0-9-], so `:` never occurs inside one; round numbers and
 * participation sequence numbers are zero-padded so that keys sort in number order.
 */
export const HISTORY_KEYS = {
  task: (id: string) => `t:${id}`,
  round: (id: string, round: number) => `r:${id}:${String(round).padStart(6, '0')}`,
  rounds: (id: string) => `r:${id}:`,
  participation: (seq: number) => `p:${String(seq).padStart(12, '0')}`,
  /** This hospital's model deployment (deploy/record.ts): one record, rewritten on each decision. */
  deployment: 'd:deployment'
}

/** A stored record that could not be read back, by key, with its code. */
export interface SkippedRecord { key: string, code: string }

/** Everything read back at open: tasks (rounds in order), participation (oldest first) with their sequence numbers. */
export interface LoadedHistory {
  tasks: TaskView[]
  participation: Array<{ seq: number, record: ParticipationRecord }>
  skipped: SkippedRecord[]
}

type Op = { type: 'put', key: string, value: string } | { type: 'del', key: string }

/** The task's header as stored: the view without its rounds. */
function headerOf (view: TaskView): TaskHeader {
  const { rounds: _rounds, ...header } = view
  return header
}

const END = '\uffff'

/** Typed access to the FL history database. */
export class TaskStore {
  readonly #db: Level<string, string>
  readonly #writes: DurableWrites

  constructor (path: string) {
    this.#db = new Level<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    this.#writes = new DurableWrites({ db: this.#db, path, name: 'FL history', open: async () => await this.open() })
  }

  /** Opens the store; a fresh one is stamped with the schema version, an old one is checked. */
  async open (): Promise<void> {
    await openVersioned(this.#db, 'FL history', FL_HISTORY_SCHEMA_VERSION)
  }

  /** Closes the store (the history waits for its queued writes first). */
  async close (): Promise<void> {
    await this.#db.close()
  }

  /**
   * Reads every record back. Records that fail their checks are left in place and listed in
   * `skipped` with their code; so are rounds whose task header is missing or unreadable.
   */
  async load (): Promise<LoadedHistory> {
    const skipped: SkippedRecord[] = []
    const skip = (key: string, err: unknown): void => {
      skipped.push({ key, code: err instanceof MedichainError ? err.code : 'CORRUPT_HISTORY' })
    }
    const tasks = new Map<string, TaskView>()
    for await (const [key, value] of this.#db.iterator({ gte: 't:', lt: `t:${END}` })) {
      try {
        tasks.set(key.slice(2), viewFromHeader(decodeTaskHeader(key.slice(2), value)))
      } catch (err) {
        skip(key, err)
      }
    }
    for await (const [key, value] of this.#db.iterator({ gte: 'r:', lt: `r:${END}` })) {
      const m = /^r:([a-z0-9-]+):(\d{6})$/.exec(key)
      const view = m === null ? undefined : tasks.get(m[1])
      if (m === null || view === undefined) {
        skipped.push({ key, code: 'ORPHAN_ROUND' })
        continue
      }
      try {
        view.rounds.push(decodeRoundRecord(m[1], Number(m[2]), value))
      } catch (err) {
        skip(key, err)
      }
    }
    const participation: LoadedHistory['participation'] = []
    for await (const [key, value] of this.#db.iterator({ gte: 'p:', lt: `p:${END}` })) {
      const m = /^p:(\d{12})$/.exec(key)
      try {
        if (m === null) throw new MedichainError('CORRUPT_HISTORY', 'participation key out of layout')
        participation.push({ seq: Number(m[1]), record: decodeParticipation(value) })
      } catch (err) {
        skip(key, err)
      }
    }
    return { tasks: [...tasks.values()], participation, skipped }
  }

  /**
   * The write of a task's header, serialised now (the view keeps changing while the write waits
   * its turn in the history's queue).
   */
  taskWrite (view: TaskView): () => Promise<void> {
    const value = JSON.stringify(headerOf(view))
    return async () => await this.#writes.run(async () => await this.#db.put(HISTORY_KEYS.task(view.id), value, { sync: true }))
  }

  /** The write of a round that just ended, with the task's header, as one batch; serialised now. */
  roundWrite (view: TaskView, record: RoundRecord): () => Promise<void> {
    const ops: Op[] = [
      { type: 'put', key: HISTORY_KEYS.round(view.id, record.round), value: JSON.stringify(record) },
      { type: 'put', key: HISTORY_KEYS.task(view.id), value: JSON.stringify(headerOf(view)) }
    ]
    return async () => await this.#batch(ops)
  }

  /** Deletes a task: its header and its rounds in one batch, then any round key left over. */
  async deleteTask (view: { id: string, rounds: ReadonlyArray<{ round: number }> }): Promise<void> {
    await this.#batch([
      { type: 'del', key: HISTORY_KEYS.task(view.id) },
      ...view.rounds.map(r => ({ type: 'del' as const, key: HISTORY_KEYS.round(view.id, r.round) }))
    ])
    await this.#writes.run(async () => await this.#db.clear({ gte: HISTORY_KEYS.rounds(view.id), lt: HISTORY_KEYS.rounds(view.id) + END }))
  }

  /** Writes participation record `seq` and deletes the ones numbered in `drop`, in one batch. */
  async putParticipation (seq: number, record: ParticipationRecord, drop: number[] = []): Promise<void> {
    await this.#batch([
      { type: 'put', key: HISTORY_KEYS.participation(seq), value: JSON.stringify(record) },
      ...drop.map(d => ({ type: 'del' as const, key: HISTORY_KEYS.participation(d) }))
    ])
  }

  /** Deletes participation records by number. */
  async deleteParticipation (seqs: number[]): Promise<void> {
    await this.#batch(seqs.map(d => ({ type: 'del' as const, key: HISTORY_KEYS.participation(d) })))
  }

  /** The stored deployment record (JSON text), if any; decoded by deploy/record.ts. */
  async getDeployment (): Promise<string | undefined> {
    return await this.#db.get(HISTORY_KEYS.deployment)
  }

  /** The write of the deployment record, serialised now; synced, so a pin survives power loss once acknowledged. */
  deploymentWrite (json: string): () => Promise<void> {
    return async () => await this.#writes.run(async () => await this.#db.put(HISTORY_KEYS.deployment, json, { sync: true }))
  }

  async #batch (ops: Op[]): Promise<void> {
    if (ops.length > 0) await this.#writes.run(async () => await this.#db.batch(ops, { sync: true }))
  }
}
