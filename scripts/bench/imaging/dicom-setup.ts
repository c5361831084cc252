// Setup and clients of `npm run bench:dicom`: the synthetic instances (one patient, one series of
// 256² 16-bit CT slices), the peer child process, its admin, a clinician and the patient linked to
// the instances' PatientID, and the Orthanc REST reference client.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { MedichainClient } from '../../../protocol/client/client.ts'
import { SOP_CLASS } from '../../../node/imaging/constants.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { toUint16 } from '../../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../../synth/phantom.ts'

/** The PatientID (MRN) every bench instance carries; synthetic, like every bench datum. */
export const BENCH_MRN = 'BENCH-MRN-0001'

/** Writes `count` CT slices of `side`² 16-bit pixels (12 stored bits) into `dir`; returns their paths. */
export async function writeInstances (dir: string, count: number, side: number): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  const paths: string[] = []
  for (let i = 0; i < count; i++) {
    const p = generatePhantom(i + 1, { size: side, lesionCount: 1 })
    const bytes = encodeDicom({
      rows: side, columns: side, bitsAllocated: 16, bitsStored: 12, pixels: toUint16(p.pixels, 12), modality: 'CT', sopClassUid: SOP_CLASS.ct,
      sopInstanceUid: `2.25.900100${i + 1}`, studyInstanceUid: '2.25.9001001', seriesInstanceUid: '2.25.9001002',
      patient: { name: 'SYNTH^BENCH', id: BENCH_MRN, birthDate: '19700101' }
    })
    const path = join(dir, `slice-${String(i).padStart(4, '0')}.dcm`)
    await writeFile(path, bytes)
    paths.push(path)
  }
  return paths
}

/** A bench peer process and what the bench does with it. */
export interface BenchPeer {
  url: string
  dicomPort: number
  clinician: MedichainClient
  /** Resolves once `n` images are on the ledger (the peer reports each block that adds images). */
  imagesOnLedger: (n: number) => Promise<void>
  /** Starts the measured window: the peer counts its CPU time (all threads) from now. */
  measure: () => Promise<void>
  /** Stops the peer; resolves with its CPU milliseconds since `measure` (undefined without). */
  stop: () => Promise<number | undefined>
}

const VAULT_ITERATIONS = 1000

/** Starts the bench peer (with the default model when `model`), its users, and the MRN link. */
export async function startBenchPeer (model: boolean): Promise<BenchPeer> {
  const child: ChildProcess = spawn(process.execPath, [...(process.env.BENCH_PEER_NODE_ARGS ?? '').split(' ').filter(a => a !== ''), join(import.meta.dirname, 'dicom-peer.ts'), ...(model ? ['--model'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  let images = 0
  let cpuMs: number | undefined
  let onMeasuring: (() => void) | undefined
  const waiters: Array<{ n: number, resolve: () => void }> = []
  const ready = new Promise<{ url: string, dicomPort: number, setup: string }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`bench peer exited with ${code}`)))
    lines.on('line', (line) => {
      if (process.env.BENCH_DEBUG) console.error('peer:', line)
      const msg = JSON.parse(line) as { url?: string, dicomPort?: number, setup?: string, images?: number, measuring?: boolean, cpuMs?: number }
      if (msg.url !== undefined) resolve(msg as { url: string, dicomPort: number, setup: string })
      if (msg.measuring === true) onMeasuring?.()
      if (msg.cpuMs !== undefined) cpuMs = msg.cpuMs
      if (msg.images !== undefined) {
        images = msg.images
        for (const w of waiters.splice(0)) {
          if (images >= w.n) w.resolve()
          else waiters.push(w)
        }
      }
    })
  })
  const { url, dicomPort, setup } = await ready
  const token = new URL(setup).hash.replace(/^#token=/, '')
  const admin = new MedichainClient({ baseUrl: url, vaultIterations: VAULT_ITERATIONS })
  await admin.signUp({ username: 'bench-admin', password: 'bench admin password', role: 'admin', setupToken: token })
  await admin.signIn('bench-admin', 'bench admin password')
  const clinician = new MedichainClient({ baseUrl: url, vaultIterations: VAULT_ITERATIONS })
  await clinician.signUp({ username: 'bench-doc', password: 'bench doc password', role: 'clinician' })
  await admin.approve('bench-doc')
  await clinician.signIn('bench-doc', 'bench doc password')
  const patient = new MedichainClient({ baseUrl: url, vaultIterations: VAULT_ITERATIONS })
  const { patientId } = await patient.signUp({ username: 'bench-patient', password: 'bench patient password', role: 'patient' })
  await clinician.request('POST', '/api/dicom/links', { mrn: BENCH_MRN, patientId })
  return {
    url,
    dicomPort,
    clinician,
    imagesOnLedger: async (n) => {
      if (images >= n) return
      await new Promise<void>(resolve => waiters.push({ n, resolve }))
    },
    measure: async () => {
      const started = new Promise<void>(resolve => { onMeasuring = resolve })
      child.kill('SIGUSR2')
      await started
    },
    async stop () {
      if (child.exitCode !== null) return cpuMs
      const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      await exited
      return cpuMs
    }
  }
}

/** Runs dcmtk's storescu: one association carrying every file; resolves with its exit code and stderr. */
export async function storescu (port: number, files: string[]): Promise<{ code: number | null, stderr: string }> {
  // TCP_NODELAY=1: dcmtk's documented switch that disables Nagle's algorithm on its socket.
  // Without it every C-STORE waits out the receiver's delayed ACK (about 40 ms here, see
  // docs/benchmarks.md), whoever the receiver is.
  const child = spawn('storescu', ['-aet', 'BENCH', '-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...files], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TCP_NODELAY: '1' } })
  let stderr = ''
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString('utf8') })
  const code = await new Promise<number | null>(resolve => child.once('exit', resolve))
  return { code, stderr }
}
