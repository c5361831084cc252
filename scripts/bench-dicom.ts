// `npm run bench:dicom`: ingest of the same DICOM files into Orthanc (Debian's PACS, over its REST
// API, the reference) and into a Medichain peer by C-STORE (dcmtk's storescu, one association
// carrying every instance) and by STOW-RS (one request), with and without the model. Each run
// starts fresh servers; the figures are medians of the runs with their spread, and each Medichain
// figure is divided by Orthanc's of the same run. Medichain's rate counts an instance once its
// `image.add` is on the ledger (fsynced), not when C-STORE acknowledged it (durable in custody):
// both are printed. Output lines are `name: value`, the ratios `ratio <what>: <number>`.
import { readFile, rm, mkdtemp } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { startOrthanc } from './orthanc.ts'
import { startBenchPeer, storescu, writeInstances } from './bench/dicom-setup.ts'
import type { BenchPeer } from './bench/dicom-setup.ts'

/** Bytes that fetch takes as a body. */
type Bytes = Uint8Array<ArrayBuffer>

const quick = process.argv.includes('--quick')
const runs = quick ? 1 : 3
const count = quick ? 50 : 200
const side = 256

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}
const figure = (xs: number[]): string => `${median(xs).toFixed(1)} [${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}]`
const line = (name: string, value: string): void => console.log(`${name}: ${value}`)

/** Orthanc's REST ingest: each file POSTed to /instances in turn (keep-alive), as a PACS client would. */
async function orthancRate (files: Bytes[]): Promise<number> {
  const orthanc = await startOrthanc({ modalities: [] })
  try {
    const t0 = performance.now()
    for (const body of files) {
      const res = await fetch(`${orthanc.url}/instances`, { method: 'POST', body, headers: { 'content-type': 'application/dicom' } })
      if (!res.ok) throw new Error(`Orthanc refused an instance: ${res.status}`)
      await res.arrayBuffer()
    }
    return files.length / ((performance.now() - t0) / 1000)
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

/** One Medichain measurement on a fresh peer: instances/s acknowledged and on the ledger. */
async function medichainRate (how: 'c-store' | 'stow', model: boolean, paths: string[], files: Bytes[]): Promise<{ ack: number, ledger: number }> {
  const peer: BenchPeer = await startBenchPeer(model)
  try {
    let ackMs: number
    const t0 = performance.now()
    if (how === 'c-store') {
      const r = await storescu(peer.dicomPort, paths)
      if (r.code !== 0 || /E: |W: Store SCP/.test(r.stderr)) throw new Error(`storescu failed: ${r.stderr.slice(0, 400)}`)
      ackMs = performance.now() - t0
    } else {
      const { token } = await (await peer.clinician.request('POST', '/api/dicomweb/tokens', { scope: ['write'] })).json() as { token: string }
      const boundary = 'medichain-bench-boundary'
      const body = stowBody(files, boundary)
      const s0 = performance.now()
      const res = await fetch(`${peer.url}/dicomweb/studies`, { method: 'POST', body, headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' } })
      if (res.status !== 200) throw new Error(`STOW-RS answered ${res.status}: ${(await res.text()).slice(0, 400)}`)
      await res.arrayBuffer()
      ackMs = performance.now() - s0
    }
    await peer.imagesOnLedger(files.length)
    const ledgerMs = performance.now() - t0
    return { ack: files.length / (ackMs / 1000), ledger: files.length / (ledgerMs / 1000) }
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
  const cases = [['c-store', false], ['c-store', true], ['stow', false], ['stow', true]] as const
  const results = new Map<string, { ack: number[], ledger: number[], ratio: number[] }>()
  for (let run = 0; run < runs; run++) {
    const reference = await orthancRate(files)
    orthanc.push(reference)
    for (const [how, model] of cases) {
      const name = `${how} ${model ? 'model' : 'no model'}`
      const r = await medichainRate(how, model, paths, files)
      const acc = results.get(name) ?? { ack: [], ledger: [], ratio: [] }
      acc.ack.push(r.ack)
      acc.ledger.push(r.ledger)
      acc.ratio.push(r.ledger / reference)
      results.set(name, acc)
      console.error(`run ${run + 1}: ${name} ${r.ledger.toFixed(1)}/s on the ledger, orthanc ${reference.toFixed(1)}/s`)
    }
  }
  line('orthanc rest (instances/s)', figure(orthanc))
  for (const [name, r] of results) {
    line(`medichain ${name}, acknowledged (instances/s)`, figure(r.ack))
    line(`medichain ${name}, on the ledger (instances/s)`, figure(r.ledger))
  }
  for (const [name, r] of results) line(`ratio ${name}`, `${median(r.ratio).toFixed(2)} [${Math.min(...r.ratio).toFixed(2)}–${Math.max(...r.ratio).toFixed(2)}]`)
  line('load average at end (1 min)', loadavg()[0].toFixed(1))
} finally {
  await rm(dir, { recursive: true, force: true })
}
