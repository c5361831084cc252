// Continuing a federated task (issue 4: a hospital's IT team picks a task up again after a restart
// without losing the rounds already trained). An 'interrupted' or 'stopped' task coordinated here
// is continued as a NEW task with the same options, starting from the global model that its last
// recorded round started from (the coordinator stored it in helia) at that round's number, so the
// round numbering and the learning-rate schedule go on where it was. That last round runs again:
// its aggregate, if it had one, was never stored.
import { TaskNotContinuableError } from '../errors.ts'
import { parseTaskOptions } from './options.ts'
import type { TaskOptions } from './options.ts'
import type { RoundRecord, TaskStatus, TaskView } from './record.ts'

/** The statuses a task can be continued from: it ended before its rounds were done, and not by an error. */
export const CONTINUABLE_STATUSES: readonly TaskStatus[] = ['interrupted', 'stopped']

/**
 * The options of the task that continues `view`: its own, with `initialModel` = the model its last
 * round started from and `firstRound` = that round's number. TASK_NOT_CONTINUABLE when `view` was
 * coordinated by another peer than `self` (hex key), is not interrupted or stopped, or has no round.
 */
export function continuationOptions (view: TaskView, self: string): TaskOptions {
  const id = view.id.slice(0, 64)
  if (view.coordinator !== self) throw new TaskNotContinuableError(`task ${id} was coordinated by another peer: only its coordinator can continue it`)
  if (!CONTINUABLE_STATUSES.includes(view.status)) {
    throw new TaskNotContinuableError(`task ${id} is ${view.status}: only an interrupted or stopped task can be continued`)
  }
  const last = view.rounds.reduce<RoundRecord | undefined>((a, r) => a === undefined || r.round > a.round ? r : a, undefined)
  if (last === undefined) throw new TaskNotContinuableError(`task ${id} has no round to continue from: start a new task instead`)
  const { initialModel: _initial, ...options } = view.options
  return parseTaskOptions({ ...options, initialModel: last.model, firstRound: last.round })
}

/**
 * The rounds that built the model a continuation started from, for its provenance (the
 * participants model.publish lists): for each task up the chain of `continues` still kept in the
 * history, its rounds before its successor's first round. Oldest first.
 */
export function priorRounds (view: TaskView, get: (id: string) => TaskView | undefined): RoundRecord[] {
  const chain: RoundRecord[][] = []
  const seen = new Set([view.id])
  let before = view.options.firstRound
  let id = view.continues
  while (id !== null && !seen.has(id)) {
    seen.add(id)
    const prev = get(id)
    if (prev === undefined) break
    const until = before
    chain.unshift(prev.rounds.filter(r => r.round < until))
    before = prev.options.firstRound
    id = prev.continues
  }
  return chain.flat()
}
