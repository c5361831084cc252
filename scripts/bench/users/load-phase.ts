// One phase of `npm run bench:load`: every user runs requests in a loop for the duration, picked
// from a weighted mix of what patients and clinicians do in the UI, with an exponential think
// time between them (or none: saturated). Latency is measured to the last byte of the answer.
import type { LoadUser } from './load-users.ts'

/** Latency percentiles of one kind of request. */
export interface KindResult { count: number, p50: number, p99: number }

/** What a phase measured. */
export interface PhaseResult {
  requests: number
  errors: number
  errorsByStatus: Record<string, number>
  rps: number
  p50: number
  p95: number
  p99: number
  byKind: Record<string, KindResult>
}

type Op = { kind: string, weight: number, run: (u: LoadUser) => Promise<unknown> }

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]
const body = async (res: Response): Promise<void> => { await res.arrayBuffer() }

/** A patient's day: their images, who viewed them, consents, credit, the session check. */
const PATIENT_OPS: Op[] = [
  { kind: 'GET /api/me/images', weight: 35, run: async u => await body(await u.client.request('GET', '/api/me/images')) },
  { kind: 'GET /api/me/audit', weight: 25, run: async u => await body(await u.client.request('GET', '/api/me/audit')) },
  { kind: 'GET /api/me/consents', weight: 15, run: async u => await body(await u.client.request('GET', '/api/me/consents')) },
  { kind: 'GET /api/me/credit', weight: 10, run: async u => await body(await u.client.request('GET', '/api/me/credit')) },
  { kind: 'GET /api/auth/me', weight: 10, run: async u => await body(await u.client.request('GET', '/api/auth/me')) },
  { kind: 'GET /api/health', weight: 5, run: async u => await body(await u.client.request('GET', '/api/health')) }
]

/** A clinician's: list a patient's images (one access.log for the listing), open one, the odd upload. */
const CLINICIAN_OPS: Op[] = [
  { kind: 'GET /api/patients/:id/images', weight: 45, run: async u => await body(await u.client.request('GET', `/api/patients/${pick(u.patients)}/images`)) },
  { kind: 'GET /api/images/:cid', weight: 25, run: async u => await body(await u.client.request('GET', `/api/images/${pick(u.cids)}`)) },
  { kind: 'GET /api/auth/me', weight: 15, run: async u => await body(await u.client.request('GET', '/api/auth/me')) },
  { kind: 'GET /api/health', weight: 13, run: async u => await body(await u.client.request('GET', '/api/health')) },
  { kind: 'POST /api/patients/:id/images', weight: 2, run: async u => await u.client.upload(pick(u.patients), UPLOAD, 'scan.png') }
]

let UPLOAD: Uint8Array = new Uint8Array()

function choose (ops: Op[]): Op {
  const total = ops.reduce((a, o) => a + o.weight, 0)
  let r = Math.random() * total
  for (const o of ops) {
    r -= o.weight
    if (r < 0) return o
  }
  return ops[ops.length - 1]
}

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p / 100) - 1))]
}

/** Runs every user's loop for `durationMs`; `thinkMs` is the mean pause between requests (0: none). */
export async function runPhase (users: LoadUser[], opts: { durationMs: number, thinkMs: number, upload?: Uint8Array }): Promise<PhaseResult> {
  if (opts.upload !== undefined) UPLOAD = opts.upload
  const latencies: number[] = []
  const byKind = new Map<string, number[]>()
  const errorsByStatus: Record<string, number> = {}
  let errors = 0
  const started = performance.now()
  const deadline = started + opts.durationMs
  await Promise.all(users.map(async (u) => {
    const ops = u.role === 'patient' ? PATIENT_OPS : CLINICIAN_OPS
    while (performance.now() < deadline) {
      const op = choose(ops)
      const t0 = performance.now()
      try {
        await op.run(u)
      } catch (err) {
        errors++
        const key = typeof err === 'object' && err !== null && 'status' in err ? String(err.status) : 'network'
        errorsByStatus[key] = (errorsByStatus[key] ?? 0) + 1
      }
      const ms = performance.now() - t0
      latencies.push(ms)
      const k = byKind.get(op.kind) ?? []
      k.push(ms)
      byKind.set(op.kind, k)
      if (opts.thinkMs > 0) await new Promise(resolve => setTimeout(resolve, -Math.log(1 - Math.random()) * opts.thinkMs))
    }
  }))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  const kinds: Record<string, KindResult> = {}
  for (const [kind, xs] of byKind) {
    xs.sort((a, b) => a - b)
    kinds[kind] = { count: xs.length, p50: percentile(xs, 50), p99: percentile(xs, 99) }
  }
  return {
    requests: latencies.length,
    errors,
    errorsByStatus,
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    byKind: kinds
  }
}
