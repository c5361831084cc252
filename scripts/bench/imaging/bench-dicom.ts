// `npm run bench:dicom`: ingest of the same DICOM files into Orthanc (Debian's PACS, over its REST
// API, the reference) and into a Medichain peer by C-STORE (dcmtk's storescu, one association
// carrying every instance) and by STOW-RS (one request), with and without the model. Each run
// starts fresh servers; the figures are medians of the runs with their spread, and each Medichain
// figure is divided by Orthanc's of the same run. The peer answers C-STORE and STOW-RS once an
// instance is durable in custody (`dicom.acknowledge = "custody"`); its intake then puts the
// `image.add` on the ledger (fsynced), with the AI result when the model runs (analysed in the
// worker pool). Two ratios per case: `ratio <case>` counts acknowledged instances (the sender's
// view, as Orthanc's answers are), `ratio <case> on the ledger` (without the model) or
// `ratio <case> incl. analysis` (with it) counts until the last `image.add` is on the ledger.
// Also printed: CPU ms per instance of each (Orthanc from /proc, the peer's every thread).
// Output lines are `name: value`. Options: --runs=N, --count=N, --quick; BENCH_CASES picks cases.
import { readFile, rm, mkdtemp } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOrthanc } from '../../orthanc.ts'
import { startBenchPeer, storescu, writeInstances } from './dicom-setup.ts'
import type { BenchPeer } from './dicom-setup.ts'

/** Bytes that fetch takes as a body. */
type Bytes = Uint8Array<ArrayBuffer>

const quick = process.argv.includes('--quick')
/** `--name=n` on the command line, else `fallback`. */
const option = (name: string, fallback: number): number => {
  const arg = process.argv.find(a => a.startsWith(`--${name}=`))
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3))
}
const runs = option('runs', quick ? 1 : 3)
const count = option('count', quick ? 50 : 200)
const side = 256

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}
const figure = (xs: number[]): string => `${median(xs).toFixed(1)} [${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}]`
const line = (name: string, value: string): void => console.log(`${name}: ${value}`)

/** Orthanc's REST ingest: each file POSTed to /instances in turn (keep-alive), as a PACS client would. */
async function orthancRate (files: Bytes[]): Promise<{ rate: number, cpuMs: number }> {
  const orthanc = await startOrthanc({ modalities: [] })
  try {
    const cpu0 = await orthanc.cpuMs()
    const t0 = performance.now()
    for (const body of files) {
      const res = await fetch(`${orthanc.url}/instances`, { method: 'POST', body, headers: { 'content-type': 'application/dicom' } })
      if (!res.ok) throw new Error(`Orthanc refused an instance: ${res.status}`)
      await res.arrayBuffer()
    }
    const rate = files.length / ((performance.now() - t0) / 1000)
    return { rate, cpuMs: (await orthanc.cpuMs() - cpu0) / files.length }
  } finally {
    await orthanc.stop()
  }
}

/** A multipart/related body of application/dicom parts (PS3.18 §10.5.1). */
function stowBody (files: Bytes[], boundary: string): Bytes {
  const parts: Uint8Array[] = []
  const enc = new TextEncoder()
  for (const f of files) parts.push(enc.encode(`\r\n--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), f)
  parts.push(enc.encode(`\r\n--${boundary}--\r\n`))
  return new Uint8Array(Buffer.concat(parts))
}

/** One Medichain measurement on a fresh peer: instances/s acknowledged and on the ledger, and CPU ms per instance. */
async function medichainRate (how: 'c-store' | 'stow', model: boolean, paths: string[], files: Bytes[]): Promise<{ ack: number, ledger: number, cpuMs: number }> {
  const peer: BenchPeer = await startBenchPeer(model)
  let cpuMs: number | undefined
  try {
    let send: () => Promise<void>
    if (how === 'c-store') {
      send = async () => {
        const r = await storescu(peer.dicomPort, paths)
        if (r.code !== 0 || /E: |W: Store SCP/.test(r.stderr)) throw new Error(`storescu failed: ${r.stderr.slice(0, 400)}`)
      }
    } else {
      const { token } = await (await peer.clinician.request('POST', '/api/dicomweb/tokens', { scope: ['write'] })).json() as { token: string }
      const boundary = 'medichain-bench-boundary'
      const body = stowBody(files, boundary)
      send = async () => {
        const res = await fetch(`${peer.url}/dicomweb/studies`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' } })
        if (res.status !== 200) throw new Error(`STOW-RS answered ${res.status}: ${(await res.text()).slice(0, 400)}`)
        await res.arrayBuffer()
      }
    }
    await peer.measure()
    const t0 = performance.now()
    await send()
    const ackMs = performance.now() - t0
    await peer.imagesOnLedger(files.length)
    const ledgerMs = performance.now() - t0
    cpuMs = await peer.stop()
    if (cpuMs === undefined) throw new Error('the bench peer did not report its CPU time')
    return { ack: files.length / (ackMs / 1000), ledger: files.length / (ledgerMs / 1000), cpuMs: cpuMs / files.length }
  } finally {
    await peer.stop()
  }
}

const dir = await mkdtemp(join(tmpdir(), 'medichain-bench-dicom-files-'))
try {
  const paths = await writeInstances(dir, count, side)
  const files: Bytes[] = await Promise.all(paths.map(async p => new Uint8Array(await readFile(p))))
  line('machine cores', String(availableParallelism()))
  line('load average at start (1 min)', loadavg()[0].toFixed(1))
  line('files', `${count} × ${side}² 16-bit CT, ${Math.round(files[0].length / 1024)} KiB each; ${runs} runs, each on fresh servers`)
  const orthanc: number[] = []
  const orthancCpu: number[] = []
  const only = process.env.BENCH_CASES?.split(',')
  const cases = ([['c-store', false], ['c-store', true], ['stow', false], ['stow', true]] as const)
    .filter(([how, model]) => only === undefined || only.includes(`${how} ${model ? 'model' : 'no model'}`))
  const results = new Map<string, { ack: number[], ledger: number[], ratio: number[], ledgerRatio: number[], cpu: number[] }>()
  for (let run = 0; run < runs; run++) {
    const { rate: reference, cpuMs } = await orthancRate(files)
    orthanc.push(reference)
    orthancCpu.push(cpuMs)
    for (const [how, model] of cases) {
      const name = `${how} ${model ? 'model' : 'no model'}`
      const r = await medichainRate(how, model, paths, files)
      const acc = results.get(name) ?? { ack: [], ledger: [], ratio: [], ledgerRatio: [], cpu: [] }
      acc.cpu.push(r.cpuMs)
      acc.ack.push(r.ack)
      acc.ledger.push(r.ledger)
      acc.ratio.push(r.ack / reference)
      acc.ledgerRatio.push(r.ledger / reference)
      results.set(name, acc)
      console.error(`run ${run + 1}: ${name} ${r.ack.toFixed(1)}/s acknowledged, ${r.ledger.toFixed(1)}/s on the ledger, ${r.cpuMs.toFixed(1)} ms CPU each; orthanc ${reference.toFixed(1)}/s`)
    }
  }
  line('orthanc rest (instances/s)', figure(orthanc))
  line('orthanc rest, CPU per instance (ms)', figure(orthancCpu))
  for (const [name, r] of results) {
    line(`medichain ${name}, acknowledged (instances/s)`, figure(r.ack))
    line(`medichain ${name}, on the ledger (instances/s)`, figure(r.ledger))
    line(`medichain ${name}, CPU per instance, all threads (ms)`, figure(r.cpu))
  }
  const ratio = (xs: number[]): string => `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`
  for (const [name, r] of results) {
    line(`ratio ${name}`, ratio(r.ratio))
    line(`ratio ${name} ${name.endsWith('no model') ? 'on the ledger' : 'incl. analysis'}`, ratio(r.ledgerRatio))
  }
  line('load average at end (1 min)', loadavg()[0].toFixed(1))
} finally {
  await rm(dir, { recursive: true, force: true })
}
