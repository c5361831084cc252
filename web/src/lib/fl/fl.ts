// Reads the federated-learning API (issue 4: `GET /api/fl/tasks`, `GET /api/fl/tasks/:id`) into
// the shapes the dashboard draws. Validated at the boundary like any outside data: a field of the
// wrong type is dropped, never trusted, so a newer peer's extra fields cannot break the page.

/** One participant of a round. */
export interface FlParticipant { hospital: string, name: string | null, samples: number | null, loss: number | null }

/** One round as the dashboard charts it. */
export interface FlRound {
  round: number
  /** Validation loss on the coordinator's held-out set (falls back to the mean training loss). */
  loss: number | null
  dice: number | null
  participants: FlParticipant[]
  durationMs: number | null
}

/** The model a task published (`model.publish` on the ledger). */
export interface FlModel { cid: string, round: number | null, dice: number | null, loss: number | null }

/** A task in the list, or in full with its rounds. */
export interface FlTask {
  id: string
  status: string
  coordinator: string | null
  created: number | null
  rounds: FlRound[]
  model: FlModel | null
  /** Why the task failed or ended early (`NO_VALIDATION_SET`, `INTERRUPTED`, …), or null. */
  error: { code: string, message: string } | null
  /** The id of the interrupted or stopped task this one continues, or null. */
  continues: string | null
  /** How updates are combined: `fedavg`, `trimmed-mean` or `secure` (the coordinator sees only the sum); null when not reported. */
  aggregation: string | null
}

/** Whether an admin may continue a task (`POST /api/fl/tasks/:id/continue`): it ended interrupted or stopped, after at least one round. */
export function canContinue (t: FlTask): boolean {
  return (t.status === 'interrupted' || t.status === 'stopped') && t.rounds.length > 0
}

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown): number | null => typeof v === 'number' && Number.isFinite(v) ? v : null
const str = (v: unknown): string | null => typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : null

/** The first finite number among the named fields (the API may nest metrics). */
function pick (o: Obj, ...names: string[]): number | null {
  for (const name of names) {
    const [a, b] = name.split('.')
    const v = b === undefined ? o[a] : isObj(o[a]) ? (o[a] as Obj)[b] : undefined
    const n = num(v)
    if (n !== null) return n
  }
  return null
}

function parseParticipant (v: unknown): FlParticipant | null {
  if (typeof v === 'string') return { hospital: v, name: null, samples: null, loss: null }
  if (!isObj(v)) return null
  const hospital = str(v.hospital) ?? str(v.key) ?? str(v.member)
  if (hospital === null) return null
  return { hospital, name: str(v.name), samples: pick(v, 'samples', 'sampleCount'), loss: pick(v, 'loss', 'localLoss') }
}

function parseRound (v: unknown, i: number): FlRound | null {
  if (!isObj(v)) return null
  const started = pick(v, 'startedAt', 'timings.startedAt', 'timings.start')
  const ended = pick(v, 'endedAt', 'timings.endedAt', 'timings.end')
  return {
    round: pick(v, 'round', 'index') ?? i + 1,
    loss: pick(v, 'valLoss', 'validationLoss', 'validation.loss', 'metrics.loss', 'loss'),
    dice: pick(v, 'dice', 'valDice', 'validation.dice', 'metrics.dice'),
    participants: Array.isArray(v.participants) ? v.participants.map(parseParticipant).filter(p => p !== null) : [],
    durationMs: pick(v, 'wallMs', 'durationMs', 'timings.totalMs', 'timings.durationMs', 'ms') ?? (started !== null && ended !== null ? ended - started : null)
  }
}

function parseModel (v: unknown): FlModel | null {
  if (typeof v === 'string') return { cid: v, round: null, dice: null, loss: null }
  if (!isObj(v)) return null
  const cid = str(v.cid) ?? str(v.model)
  return cid === null ? null : { cid, round: pick(v, 'round'), dice: pick(v, 'dice', 'metrics.dice'), loss: pick(v, 'loss', 'metrics.loss') }
}

function parseError (v: unknown): FlTask['error'] {
  if (!isObj(v)) return null
  const code = str(v.code)
  return code === null ? null : { code, message: typeof v.message === 'string' ? v.message.slice(0, 500) : '' }
}

/** One task; null when it has no id. */
export function parseFlTask (v: unknown): FlTask | null {
  if (!isObj(v)) return null
  const id = str(v.id) ?? str(v.task)
  if (id === null) return null
  const rounds = Array.isArray(v.rounds) ? v.rounds.map(parseRound).filter(r => r !== null) : []
  return {
    id,
    status: str(v.status) ?? 'unknown',
    coordinator: str(v.coordinator),
    created: pick(v, 'created', 'createdAt', 'startedAt'),
    rounds: rounds.sort((a, b) => a.round - b.round),
    model: parseModel(v.model ?? v.published ?? null),
    error: parseError(v.error),
    continues: str(v.continues),
    aggregation: str(v.aggregation) ?? (isObj(v.options) ? str(v.options.aggregation) : null)
  }
}

/** The task list (`{ tasks: [...] }` or a bare array). */
export function parseFlTasks (v: unknown): FlTask[] {
  const list = Array.isArray(v) ? v : isObj(v) && Array.isArray(v.tasks) ? v.tasks : []
  return list.map(parseFlTask).filter(t => t !== null)
}
