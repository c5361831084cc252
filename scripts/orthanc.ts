// A real Orthanc (the Debian package, /usr/sbin/Orthanc) as a hospital's PACS in tests and
// benchmarks: a temp config on free ports, temp storage, no plugins, no remote access; its REST
// API on 127.0.0.1. Awaits its start message (no sleep) and stops it with SIGTERM, then SIGKILL.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** `p`, or a rejection naming `what` after `ms`. */
async function withTimeout<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms) })
  try { return await Promise.race([p, late]) } finally { clearTimeout(timer) }
}

/** A free TCP port on 127.0.0.1 (bound once and released): for a listener a child process opens. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a !== null ? a.port : 0
      s.close(() => resolve(port))
    })
  })
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux; proc(5)). */
const USER_HZ = 100

/** A process's CPU time (utime + stime, fields 14 and 15 of /proc/<pid>/stat) in milliseconds. */
export async function processCpuMs (pid: number | undefined): Promise<number> {
  if (pid === undefined) throw new Error('no such process')
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / USER_HZ
}

/** Where Debian installs Orthanc. */
export const ORTHANC_BIN = '/usr/sbin/Orthanc'

/** A DICOM node Orthanc knows (its `DicomModalities` entry). */
export interface OrthancModality { name: string, aeTitle: string, host: string, port: number }

/** A running Orthanc. */
export interface Orthanc {
  aeTitle: string
  dicomPort: number
  url: string
  /** A REST call; throws with the status on a non-2xx answer. */
  rest: (method: string, path: string, body?: unknown) => Promise<unknown>
  /** Orthanc's CPU time so far (user + system, every thread), from /proc, in milliseconds. */
  cpuMs: () => Promise<number>
  stop: () => Promise<void>
}

/** Starts Orthanc with `modalities` it may C-STORE to, query and move from. */
export async function startOrthanc (opts: { aeTitle?: string, modalities: OrthancModality[] }): Promise<Orthanc> {
  const dir = await mkdtemp(join(tmpdir(), 'medichain-orthanc-'))
  const [httpPort, dicomPort] = [await freePort(), await freePort()]
  const aeTitle = opts.aeTitle ?? 'ORTHANC'
  const config = {
    Name: 'medichain-test-pacs',
    StorageDirectory: join(dir, 'storage'),
    IndexDirectory: join(dir, 'index'),
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aeTitle,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    HttpServerEnabled: true,
    Plugins: [],
    DicomCheckCalledAet: false,
    DicomModalities: Object.fromEntries(opts.modalities.map(m => [m.name, { AET: m.aeTitle, Host: m.host, Port: m.port }])),
    // Orthanc answers C-FIND and C-MOVE only from known modalities, and sends C-MOVE results back over a new association.
    DicomAlwaysAllowStore: true,
    // A benchmark's dcmtk client (FINDSCU, GETSCU) is no declared modality: let it query and get.
    DicomAlwaysAllowFind: true,
    DicomAlwaysAllowGet: true,
    StableAge: 1,
    ConcurrentJobs: 1
  }
  const path = join(dir, 'orthanc.json')
  await writeFile(path, JSON.stringify(config))
  const child: ChildProcess = spawn(ORTHANC_BIN, [path], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  // Ready once Orthanc logs that it has started (its REST and DICOM servers listen by then).
  const started = new Promise<void>((resolve) => {
    const onData = (b: Buffer): void => {
      log = (log + b.toString()).slice(-8000)
      if (log.includes('Orthanc has started')) resolve()
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
  })
  const exited = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)))
  const url = `http://127.0.0.1:${httpPort}`
  const rest = async (method: string, p: string, body?: unknown): Promise<unknown> => {
    const res = await fetch(`${url}${p}`, {
      method,
      ...(body === undefined ? {} : { body: body instanceof Uint8Array ? Buffer.from(body) : JSON.stringify(body) })
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`Orthanc ${method} ${p}: ${res.status} ${text.slice(0, 300)}`)
    return text === '' ? null : JSON.parse(text)
  }
  await withTimeout(Promise.race([
    started,
    exited.then(code => { throw new Error(`Orthanc exited (${String(code)}): ${log}`) })
  ]), 30_000, 'Orthanc to start')
  return {
    aeTitle,
    dicomPort,
    url,
    rest,
    cpuMs: async () => await processCpuMs(child.pid),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await withTimeout(exited, 15_000, 'Orthanc to stop').catch(async () => { child.kill('SIGKILL'); await exited })
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
}
