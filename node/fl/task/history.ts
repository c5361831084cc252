// The FL history of one peer: the tasks it coordinated (each with its rounds and published model)
// and this hospital's own round participations, as `GET /api/fl/tasks[/:id]` and `/api/fl/status`
// show them. Reads come from memory; every change is also written, in order, to the level store
// at `<data>/fl` (task/store.ts), so the history survives a restart. A task found still running
// there comes back as 'interrupted'. Bounded: the last `keepTasks` tasks, `keepParticipation` rounds.
import type { Logger } from 'pino'
import { InvalidRequestError } from '../../../protocol/errors.ts'
import { codeOf } from '../../p2p/errors.ts'
import { MAX_TASKS_KEPT, MAX_TASKS_KEPT_LIMIT, PARTICIPATION_KEPT } from '../constants.ts'
import type { ParticipationRecord } from '../round/participant.ts'
import { markInterrupted } from './record.ts'
import type { RoundRecord, TaskView } from './record.ts'
import { TaskStore } from './store.ts'
import type { SkippedRecord } from './store.ts'

/** Options of the history. */
export interface TaskHistoryInit {
  /** Folder of the level store; without it the history lives in memory only. */
  path?: string
  /** Tasks kept (default MAX_TASKS_KEPT); beyond it the oldest finished ones are dropped. */
  keepTasks?: number
  /** Participation records kept (default PARTICIPATION_KEPT); the oldest are dropped. */
  keepParticipation?: number
}

/**
 * The history. Events: 'history:skipped' (SkippedRecord) for each stored record that could not be
 * read back at open (it is left in place and logged with its code; the rest is served).
 */
export interface TaskHistory extends EventTarget {
  /** Opens the store and loads it; SCHEMA_VERSION if it was written by another schema. */
  open(): Promise<void>
  /** Waits for queued writes, then closes the store. Later changes stay in memory only. */
  close(): Promise<void>
  get(id: string): TaskView | undefined
  /** Every kept task, oldest first. */
  list(): TaskView[]
  /** Records a new task, then drops the oldest finished tasks beyond the bound. */
  add(view: TaskView): void
  /** Stores the task's header as it stands now (status, baseline, best, published, …). */
  save(view: TaskView): void
  /** Stores a round just pushed onto `view.rounds`, with the header, in one batch. */
  saveRound(view: TaskView, record: RoundRecord): void
  /** This hospital's kept participation records, oldest first. */
  participation(): ParticipationRecord[]
  addParticipation(record: ParticipationRecord): void
  /** Resolves once every write queued so far has been tried. */
  flush(): Promise<void>
  /** The deployment record read at open (JSON text, deploy/record.ts), or null. */
  deployment(): string | null
  /** Queues a write of the deployment record; resolves once it is on disk (at once without a store), rejects if it failed. */
  saveDeployment(json: string): Promise<void>
}

/** Checks a bound given in the init: an integer in [1, max]. */
function bound (v: number | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback
  if (!Number.isInteger(v) || v < 1 || v > MAX_TASKS_KEPT_LIMIT) throw new InvalidRequestError(`${name} must be an integer in [1, ${MAX_TASKS_KEPT_LIMIT}], got ${String(v)}`)
  return v
}

/** Creates the history: `createTaskHistory(init)(components)`, then `open()`. */
export function createTaskHistory (init: TaskHistoryInit = {}) {
  const keepTasks = bound(init.keepTasks, MAX_TASKS_KEPT, 'keepTasks')
  const keepParticipation = bound(init.keepParticipation, PARTICIPATION_KEPT, 'keepParticipation')
  return (components: { logger: Logger }): TaskHistory => {
    const log = components.logger.child({ module: 'fl:history' })
    const events = new EventTarget()
    const tasks = new Map<string, TaskView>()
    let participation: Array<{ seq: number, record: ParticipationRecord }> = []
    let nextSeq = 0
    let store: TaskStore | null = null
    let queue: Promise<void> = Promise.resolve()
    let deployment: string | null = null

    /** Queues a write behind the earlier ones; a failed write is logged and the rest go on. */
    const write = (what: string, make: (s: TaskStore) => () => Promise<void>): void => {
      if (store === null) return
      const run = make(store)
      queue = queue.then(run).catch((err: unknown) => { log.error({ code: codeOf(err), what }, 'FL history write failed') })
    }

    /** Drops the oldest finished tasks while more than `keepTasks` are kept. */
    const trimTasks = (): void => {
      for (const view of tasks.values()) {
        if (tasks.size <= keepTasks) return
        if (view.status === 'running') continue
        tasks.delete(view.id)
        const gone = { id: view.id, rounds: view.rounds.map(r => ({ round: r.round })) }
        write('task:delete', s => async () => await s.deleteTask(gone))
      }
    }

    const trimParticipation = (): number[] => {
      const drop = participation.slice(0, Math.max(0, participation.length - keepParticipation)).map(p => p.seq)
      participation = participation.slice(drop.length)
      return drop
    }

    const load = async (s: TaskStore): Promise<void> => {
      const loaded = await s.load()
      for (const skipped of loaded.skipped) {
        log.warn(skipped, 'skipped an unreadable FL history record')
        events.dispatchEvent(new CustomEvent<SkippedRecord>('history:skipped', { detail: skipped }))
      }
      tasks.clear()
      const ordered = loaded.tasks.sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1))
      for (const view of ordered) {
        view.rounds.sort((a, b) => a.round - b.round)
        tasks.set(view.id, view)
        if (view.status !== 'running') continue
        markInterrupted(view)
        log.info({ task: view.id, rounds: view.rounds.length }, 'a task that was running when this peer stopped is marked interrupted')
        write('task:interrupted', st => st.taskWrite(view))
      }
      trimTasks()
      deployment = await s.getDeployment() ?? null
      participation = loaded.participation
      nextSeq = participation.reduce((n, p) => Math.max(n, p.seq + 1), 0)
      const drop = trimParticipation()
      if (drop.length > 0) write('participation:trim', st => async () => await st.deleteParticipation(drop))
      log.info({ tasks: tasks.size, participation: participation.length, skipped: loaded.skipped.length }, 'FL history loaded')
    }

    return Object.assign(events, {
      async open () {
        if (store !== null || init.path === undefined) return
        const s = new TaskStore(init.path)
        await s.open()
        store = s
        try {
          await load(s)
        } catch (err) {
          store = null
          await s.close()
          throw err
        }
      },
      async close () {
        const s = store
        if (s === null) return
        store = null
        await queue
        await s.close()
      },
      get: (id: string) => tasks.get(id),
      list: () => [...tasks.values()],
      add (view: TaskView) {
        tasks.set(view.id, view)
        write('task:add', s => s.taskWrite(view))
        trimTasks()
      },
      save (view: TaskView) {
        if (tasks.get(view.id) === view) write('task:save', s => s.taskWrite(view))
      },
      saveRound (view: TaskView, record: RoundRecord) {
        if (tasks.get(view.id) === view) write('task:round', s => s.roundWrite(view, record))
      },
      participation: () => participation.map(p => p.record),
      addParticipation (record: ParticipationRecord) {
        const seq = nextSeq++
        participation.push({ seq, record })
        const drop = trimParticipation()
        write('participation:add', s => async () => await s.putParticipation(seq, record, drop))
      },
      flush: async () => await queue,
      deployment: () => deployment,
      async saveDeployment (json: string): Promise<void> {
        deployment = json
        if (store === null) return
        const done = queue.then(store.deploymentWrite(json))
        queue = done.catch((err: unknown) => { log.error({ code: codeOf(err), what: 'deployment' }, 'FL history write failed') })
        await done
      }
    })
  }
}
