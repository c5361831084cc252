// `npm run bench:load`: 50 signed-in users (40 patients, 10 clinicians) against one peer in its
// own process, a realistic mix of reads and writes, first saturated (no think time) and then
// with think time, each phase 60 s. Prints req/s, p50/p95/p99 latency, errors, and the peer's RSS
// before and after. `--duration S`, `--users N`, `--runs R` (medians with the spread), `--profile`
// (the peer writes a V8 CPU profile, `node --cpu-prof`, into ./bench-profiles).
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { createSignedIn, makeImages } from './load-users.ts'
import type { LoadUser } from './load-users.ts'
import { runPhase } from './load-phase.ts'
import type { PhaseResult } from './load-phase.ts'

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    users: { type: 'string', default: '50' },
    runs: { type: 'string', default: '1' },
    profile: { type: 'boolean', default: false },
    'think-ms': { type: 'string', default: '1000' }
  },
  strict: true
})
const durationMs = Number(values.duration) * 1000
const users = Number(values.users)
const runs = Number(values.runs)
const thinkMs = Number(values['think-ms'])
for (const [name, v] of [['duration', durationMs], ['users', users], ['runs', runs], ['think-ms', thinkMs]] as const) {
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name}: expected a non-negative number`)
}

/** The peer's resident set size in MiB, from /proc (Linux). */
async function rssMiB (pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

/** Starts the peer process and waits for its ready line. */
async function startPeer (): Promise<{ child: ChildProcess, url: string, pid: number, setup: string }> {
  const args = values.profile ? ['--cpu-prof', '--cpu-prof-dir=bench-profiles'] : []
  const child = spawn(process.execPath, [...args, 'scripts/bench/users/load-peer.ts'], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  for await (const line of lines) {
    const ready = JSON.parse(line) as { url: string, pid: number, setup: string }
    return { child, ...ready }
  }
  throw new Error('the bench peer exited before it was ready')
}

const fmt = (r: PhaseResult): string =>
  `${r.rps.toFixed(1)} req/s, p50 ${r.p50.toFixed(0)} ms, p95 ${r.p95.toFixed(0)} ms, p99 ${r.p99.toFixed(0)} ms, ${r.errors} errors of ${r.requests}${r.errors > 0 ? ` (${Object.entries(r.errorsByStatus).map(([s, n]) => `${s}×${n}`).join(', ')})` : ''}`

const med = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2 }
const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`

const results: Record<'saturated' | 'think', PhaseResult[]> = { saturated: [], think: [] }
const rss: Array<{ before: number, after: number }> = []
for (let run = 0; run < runs; run++) {
  const peer = await startPeer()
  try {
    const admin = new MedichainClient({ baseUrl: peer.url })
    const images = makeImages(8)
    const population: LoadUser[] = await createSignedIn(peer.url, admin, peer.setup, users, images)
    const before = await rssMiB(peer.pid)
    console.log(`run ${run + 1}: ${population.length} users signed in; peer RSS ${before.toFixed(0)} MiB`)
    for (const phase of ['saturated', 'think'] as const) {
      const r = await runPhase(population, { durationMs, thinkMs: phase === 'think' ? thinkMs : 0, upload: images[0] })
      results[phase].push(r)
      console.log(`  ${phase === 'saturated' ? 'saturated (no think time)' : `think time (mean ${thinkMs} ms)`}: ${fmt(r)}`)
      for (const [kind, k] of Object.entries(r.byKind)) console.log(`    ${kind}: ${k.count} requests, p50 ${k.p50.toFixed(0)} ms, p99 ${k.p99.toFixed(0)} ms`)
    }
    const after = await rssMiB(peer.pid)
    rss.push({ before, after })
    console.log(`  peer RSS before ${before.toFixed(0)} MiB, after ${after.toFixed(0)} MiB`)
  } finally {
    peer.child.kill('SIGTERM')
    await new Promise(resolve => peer.child.once('exit', resolve))
  }
}
if (runs > 1) {
  console.log(`medians of ${runs} runs (min–max):`)
  for (const phase of ['saturated', 'think'] as const) {
    const rs = results[phase]
    const pick = (f: (r: PhaseResult) => number): string => `${med(rs.map(f)).toFixed(0)} (${spread(rs.map(f))})`
    console.log(`  ${phase}: req/s ${pick(r => r.rps)}, p50 ${pick(r => r.p50)} ms, p95 ${pick(r => r.p95)} ms, p99 ${pick(r => r.p99)} ms, errors ${pick(r => r.errors)}`)
  }
  console.log(`  RSS before ${med(rss.map(r => r.before)).toFixed(0)} MiB (${spread(rss.map(r => r.before))}), after ${med(rss.map(r => r.after)).toFixed(0)} MiB (${spread(rss.map(r => r.after))})`)
}
