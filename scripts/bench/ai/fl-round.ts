// Round overhead of federated learning on loopback (issue 4): three hospital peers, each in its own
// process, run a task with the production model; per round, overhead = (round wall time − slowest
// local training) / slowest local training, where the wall time runs from sending the global model
// to having validated the aggregate. Also reported without the coordinator's validation step.
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createGenesis } from '../../../protocol/chain/genesis.ts'
import { nodeIdentity, randomSeed } from '../../../ledger/verify/node-crypto.ts'
import type { RoundRecord, TaskView } from '../../../node/fl/index.ts'
import type { FromPeer, ToPeer } from './fl-peer.ts'

/** Settings of the run. */
export interface FlRoundOptions {
  rounds: number
  perHospital: number
  heldOut: number
  epochs: number
  imageSize: number
  seed: number
  /** Further task options, e.g. `{ aggregation: 'secure', clip }` for the secure-aggregation overhead. */
  task?: Record<string, unknown>
}

/** Per-round figures and their medians. */
export interface FlRoundResult {
  rounds: RoundRecord[]
  overhead: number
  overheadWithoutValidation: number
  wallMs: number
  slowestTrainMs: number
  validateMs: number
  /** Median time from round start to the slowest update's arrival, minus that update's training. */
  transferMs: number
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Resolves with the next message of `type` from a child (rejects on an error message or exit). */
async function next<T extends FromPeer['type']> (child: ChildProcess, type: T): Promise<Extract<FromPeer, { type: T }>> {
  return await new Promise((resolve, reject) => {
    const onMessage = (m: FromPeer): void => {
      if (m.type === 'error') reject(new Error(m.message))
      if (m.type !== type) return
      child.off('message', onMessage)
      resolve(m as Extract<FromPeer, { type: T }>)
    }
    child.on('message', onMessage)
    child.once('exit', code => reject(new Error(`peer exited with ${String(code)}`)))
  })
}

/** Runs the task on three peer processes and returns the figures. */
export async function flRound (o: FlRoundOptions): Promise<FlRoundResult> {
  const seeds = [0, 1, 2].map(() => randomSeed())
  const genesis = createGenesis({ name: 'bench-fl', created: Date.now(), members: seeds.map((s, i) => ({ name: `H${i}`, key: nodeIdentity(s).publicKey, addrs: [] })) })
  const children = seeds.map(() => fork(new URL('./fl-peer.ts', import.meta.url), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  const post = (c: ChildProcess, m: ToPeer): void => { c.send(m) }
  try {
    const ready = children.map(async c => await next(c, 'ready'))
    children.forEach((c, n) => post(c, { type: 'init', n, seed: seeds[n], genesis, data: { seed: o.seed, perHospital: o.perHospital, heldOut: o.heldOut, imageSize: o.imageSize } }))
    const addrs = (await Promise.all(ready)).map(r => r.addr)
    const connected = children.map(async c => await next(c, 'connected'))
    children.forEach((c, n) => post(c, { type: 'connect', addrs: addrs.slice(n + 1) }))
    await Promise.all(connected)
    const done = next(children[0], 'done')
    post(children[0], { type: 'run', options: { task: 'bench', rounds: o.rounds, minParticipants: 3, epochs: o.epochs, patience: o.rounds, roundTimeoutMs: 600_000, seed: 1, ...o.task } })
    const view: TaskView = (await done).view
    const rounds = view.rounds.filter(r => r.status === 'aggregated' && r.slowestTrainMs !== null)
    if (rounds.length === 0) throw new Error(`no round aggregated: ${JSON.stringify(view.error)}`)
    const slow = (r: RoundRecord): number => r.slowestTrainMs ?? 0
    const slowest = (r: RoundRecord): RoundRecord['participants'][number] => r.participants.reduce((a, b) => b.trainMs > a.trainMs ? b : a)
    return {
      rounds,
      overhead: median(rounds.map(r => (r.wallMs - slow(r)) / slow(r))),
      overheadWithoutValidation: median(rounds.map(r => (r.wallMs - r.validateMs - slow(r)) / slow(r))),
      wallMs: median(rounds.map(r => r.wallMs)),
      slowestTrainMs: median(rounds.map(slow)),
      validateMs: median(rounds.map(r => r.validateMs)),
      transferMs: median(rounds.map(r => slowest(r).receivedMs - slowest(r).trainMs))
    }
  } finally {
    await Promise.all(children.map(async c => {
      if (c.exitCode !== null) return
      const exited = new Promise(resolve => c.once('exit', resolve))
      post(c, { type: 'stop' })
      await exited
    }))
  }
}
