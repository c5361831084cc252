// Decompression bombs against a real peer (issue 11.6). The peer runs as its own process
// (`medichain start`), so its memory is measured alone (VmRSS from /proc); a clinician uploads a
// PNG whose IHDR claims 8192² 16-bit RGBA, a JPEG whose SOF claims 8192², and a deflated DICOM of
// 4096² × 16 bits × 12 frames, all three at once, while /api/health is polled back to back. Each
// is refused with PIXEL_BUDGET, RSS stays under 1 GB, health p99 under 100 ms, and normal uploads
// of every format still work afterwards. test-runner: alone (a latency bound: no neighbour may
// take its core).
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import type { Role } from '../../../protocol/chain/tx.ts'
import { dicomBomb, jpegBomb, pngBomb } from '../../helpers/imaging/bombs.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { client, TEST_SCRYPT_N } from '../../helpers/peers/peers.ts'
import { rejects } from '../../helpers/assert.ts'
import { withTimeout } from '../../helpers/timeout.ts'

const MAIN = fileURLToPath(new URL('../../../node/main.ts', import.meta.url))
const GIB = 2 ** 30
/** Rounds of the three bombs in parallel, and health pollers: a few hundred samples, so the 99th percentile is not the maximum. */
const ROUNDS = 20
const POLLERS = 2
/** Deadline of one round: refusals from the header take milliseconds; decoding a bomb took minutes. */
const ROUND_MS = 30_000

/** What the poller measured: health latencies (ms), the peer's peak RSS (bytes), and failures. */
interface Measured { latencies: number[], peak: number, failures: string[] }

/** The health poller (plain JS for an eval worker): `pollers` loops of fetch + VmRSS until told to stop. */
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads')
const { readFile } = require('node:fs/promises')
const { url, pid, pollers } = workerData
let running = true
parentPort.once('message', () => { running = false })
const latencies = []
const failures = []
let peak = 0
async function rss () {
  const m = /^VmRSS:\\s+(\\d+) kB$/m.exec(await readFile('/proc/' + pid + '/status', 'utf8'))
  return m === null ? 0 : Number(m[1]) * 1024
}
async function poll () {
  while (running) {
    const t0 = performance.now()
    try {
      const res = await fetch(url + '/api/health')
      await res.arrayBuffer()
      if (res.status !== 200) failures.push('health answered ' + res.status)
      latencies.push(performance.now() - t0)
      peak = Math.max(peak, await rss())
    } catch (err) {
      failures.push('health failed: ' + String(err))
      return
    }
  }
}
Promise.all(Array.from({ length: pollers }, poll)).then(() => parentPort.postMessage({ latencies, peak, failures }))
`

let dir = ''
let child: ChildProcess | null = null
test.after.each(async () => {
  if (child !== null && child.exitCode === null && child.signalCode === null) {
    const p = child
    const exited = new Promise(resolve => p.once('close', resolve))
    p.kill('SIGTERM')
    // A peer stuck decoding on its main thread (the bug this test is about) never hears SIGTERM.
    await withTimeout(exited, 15_000, 'the peer to stop').catch(async () => {
      p.kill('SIGKILL')
      await exited
    })
  }
  child = null
  if (dir !== '') await rm(dir, { recursive: true, force: true })
})

/** Starts `medichain start` on ports 0 in a fresh data folder; resolves with its URL and setup token. */
async function startPeer (): Promise<{ url: string, token: string, pid: number }> {
  dir = await mkdtemp(join(tmpdir(), 'medichain-bombs-'))
  const data = join(dir, 'd')
  await mkdir(data, { mode: 0o700 })
  // Test-cost password hashing; the pixel budget and the pool keep their defaults.
  await writeFile(join(data, 'config.json'), JSON.stringify({ auth: { scryptN: TEST_SCRYPT_N } }))
  // Test peers never take the default DICOM port: files run two at a time.
  const env: Record<string, string> = { MEDICHAIN_LOG_LEVEL: 'warn', MEDICHAIN_DICOM_PORT: '0' }
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MEDICHAIN_') && v !== undefined) env[k] = v
  const p = spawn(process.execPath, [MAIN, 'start', '--data', data, '--http-port', '0', '--p2p-port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
  child = p
  let out = ''
  let err = ''
  p.stderr?.on('data', (b: Buffer) => { err += b.toString() })
  const ready = new Promise<{ url: string, token: string }>((resolve, reject) => {
    p.stdout?.on('data', (b: Buffer) => {
      out += b.toString()
      const url = /^ {2}http: +(http:\/\/\S+)$/m.exec(out)
      const setup = /admin setup .*#token=(\S+)$/m.exec(out)
      if (url !== null && setup !== null) resolve({ url: url[1], token: setup[1] })
    })
    p.once('close', () => reject(new Error(`the peer exited early: ${err}`)))
  })
  const { url, token } = await withTimeout(ready, 60_000, 'the peer to start')
  return { url, token, pid: p.pid as number }
}

/** The resident set of process `pid` in bytes (VmRSS, proc(5)). */
async function rssOf (pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))
  if (m === null) throw new Error('no VmRSS line')
  return Number(m[1]) * 1024
}

async function signedIn (url: string, admin: MedichainClient | null, username: string, role: Role, setupToken?: string): Promise<MedichainClient> {
  const c = client(url)
  const password = `${username} has a long password`
  await c.signUp({ username, password, role, ...(setupToken === undefined ? {} : { setupToken }) })
  if (admin !== null && role === 'clinician') await admin.approve(username)
  await c.signIn(username, password)
  return c
}

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]
}

test('three bombs at once: each PIXEL_BUDGET, RSS under 1 GB, health p99 under 100 ms; normal uploads still work', async () => {
  const { url, token, pid } = await startPeer()
  const admin = await signedIn(url, null, 'bomb-admin', 'admin', token)
  const patient = await signedIn(url, admin, 'bomb-patient', 'patient')
  const doc = await signedIn(url, admin, 'bomb-doc', 'clinician')
  const pid0 = patient.user?.patientId as string
  const bombs = { png: pngBomb(8192), jpeg: jpegBomb(8192), dicom: dicomBomb(4096, 12) }
  assert.ok(bombs.png.length < 600_000 && bombs.jpeg.length < 1000 && bombs.dicom.length < 500_000, 'the bombs are small on the wire')
  // A peer in service: one upload has been served (its code paths compiled), and the poller's
  // connection is open, before the clock starts.
  await doc.upload(pid0, testImages(3).png, 'first.png')
  await (await fetch(`${url}/api/health`)).arrayBuffer()
  const baseline = await rssOf(pid)

  // Health is polled back to back, and the peer's RSS read after each answer, from a worker
  // thread of its own, so that this thread's work (sending the uploads) does not delay the polls.
  const poller = new Worker(POLLER, { eval: true, workerData: { url, pid, pollers: POLLERS } })
  const measured = new Promise<Measured>((resolve, reject) => {
    poller.once('message', resolve)
    poller.once('error', reject)
  })
  const outcomes: Array<PromiseSettledResult<unknown>> = []
  try {
    for (let round = 0; round < ROUNDS; round++) {
      outcomes.push(...await withTimeout(Promise.allSettled([
        rejects(async () => await doc.upload(pid0, bombs.png, 'bomb.png'), 'PIXEL_BUDGET'),
        rejects(async () => await doc.upload(pid0, bombs.jpeg, 'bomb.jpg'), 'PIXEL_BUDGET'),
        rejects(async () => await doc.upload(pid0, bombs.dicom, 'bomb.dcm'), 'PIXEL_BUDGET')
      ]), ROUND_MS, `round ${round + 1} of the bombs`))
    }
  } finally {
    poller.postMessage('stop')
  }
  const { latencies, failures, peak: polledPeak } = await withTimeout(measured, 30_000, 'the health poller')
  const peak = Math.max(baseline, polledPeak, child?.exitCode === null ? await rssOf(pid) : 0)
  const p99 = percentile(latencies, 0.99)
  console.log(`  peer RSS: baseline ${(baseline / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB; /api/health: ${latencies.length} polls, p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`)
  assert.equal(failures, [], 'health answered every poll')
  for (const o of outcomes) if (o.status === 'rejected') throw o.reason
  assert.ok(peak < GIB, `peer RSS peaked at ${peak} bytes`)
  assert.ok(latencies.length >= 10, 'health was polled throughout')
  assert.ok(p99 < 100, `health p99 was ${p99} ms`)

  const files = testImages()
  for (const [name, bytes] of [['scan.dcm', files.dicom], ['scan.png', files.png], ['scan.jpg', files.jpeg]] as const) {
    const up = await doc.upload(pid0, bytes, name)
    assert.is(up.size, bytes.length, name)
  }
  assert.is((await patient.myImages()).length, 4, 'the first upload and these three; no bomb')
})

test.run()
