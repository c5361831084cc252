// Orthanc (Debian's /usr/sbin/Orthanc) as the reference of `npm run bench:dicom`: started on free
// loopback ports with its own temp config and storage, no plugins and no authentication, and
// stopped with its folder removed. Its REST ingest is what Medichain's ingest is compared with.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** Where Debian installs the Orthanc server. */
export const ORTHANC_BIN = '/usr/sbin/Orthanc'

/** A running Orthanc. */
export interface Orthanc { url: string, dicomPort: number, aeTitle: string, stop: () => Promise<void> }

/** A TCP port free on 127.0.0.1 right now (bound on port 0, then released). */
export async function freePort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, '127.0.0.1', resolve) })
  const address = s.address()
  await new Promise<void>(resolve => s.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/** Waits for a line matching `pattern` on the child's stderr (Orthanc logs there), or its exit. */
async function startedLine (child: ChildProcess, pattern: RegExp, ms: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`Orthanc did not start within ${ms} ms: ${seen.slice(-400)}`)), ms)
    child.stderr?.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString('utf8')).slice(-4000)
      if (pattern.test(seen)) { clearTimeout(timer); resolve() }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`Orthanc exited with ${code}: ${seen.slice(-400)}`)) })
  })
}

/** Starts Orthanc in a fresh temp folder; `stop()` ends it and removes the folder. */
export async function startOrthanc (): Promise<Orthanc> {
  const dir = await mkdtemp(join(tmpdir(), 'medichain-orthanc-'))
  const httpPort = await freePort()
  const dicomPort = await freePort()
  const aeTitle = 'ORTHANC'
  const config = {
    Name: 'bench', StorageDirectory: join(dir, 'storage'), IndexDirectory: join(dir, 'index'),
    HttpPort: httpPort, DicomPort: dicomPort, DicomAet: aeTitle, RemoteAccessAllowed: false,
    AuthenticationEnabled: false, Plugins: [], DicomModalities: {}, HttpServerEnabled: true, DicomServerEnabled: true
  }
  await writeFile(join(dir, 'orthanc.json'), JSON.stringify(config))
  const child = spawn(ORTHANC_BIN, [join(dir, 'orthanc.json')], { stdio: ['ignore', 'ignore', 'pipe'] })
  try {
    await startedLine(child, /Orthanc has started/, 30_000)
  } catch (err) {
    child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
    throw err
  }
  child.stderr?.resume()
  return {
    url: `http://127.0.0.1:${httpPort}`,
    dicomPort,
    aeTitle,
    async stop () {
      if (child.exitCode === null) {
        const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
        child.kill('SIGTERM')
        await exited
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
}
