// A hospital peer as an operator runs it, for fault tests: `medichain start` in a child process on
// 127.0.0.1 port 0 with a config file in its data folder, its JSON log lines collected, and a
// signed-in admin, clinician and patient made through the real client SDK.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MedichainClient } from '../../protocol/client/client.ts'
import { TEST_SCRYPT_N, TEST_VAULT_ITERATIONS } from '../helpers/peers/peers.ts'
import { withTimeout } from '../helpers/timeout.ts'

const MAIN = fileURLToPath(new URL('../../node/main.ts', import.meta.url))
/** Deadline of a peer start (ms): Node, the stores, the tfjs backend. */
export const START_MS = 60_000

/** A running `medichain start`. */
export interface PeerProcess {
  child: ChildProcess
  url: string
  /** The one-time admin setup link, on a first run. */
  setup: string | undefined
  /** Every stdout line so far (pino JSON lines and the CLI's text lines). */
  lines: string[]
  /** Log lines parsed as JSON, from index `from` on. */
  logs(from?: number): Array<Record<string, unknown>>
  /** Resolves with the exit code or signal once the process has ended. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  stderr(): string
}

/** Writes `<data>/config.json`: cheap password hashing for tests, plus `records` overrides. */
export async function writePeerConfig (data: string, records: Record<string, unknown> = {}): Promise<void> {
  await writeFile(join(data, 'config.json'), JSON.stringify({ auth: { scryptN: TEST_SCRYPT_N }, records }))
}

/**
 * Starts `medichain start --data data` and waits for its HTTP URL, and on a first run (`setup`)
 * for the admin setup link printed after it.
 */
export async function startPeerProcess (data: string, opts: { setup?: boolean, env?: Record<string, string> } = {}): Promise<PeerProcess> {
  const env = opts.env ?? {}
  const wanted = opts.setup === true ? /admin setup .*: (\S+)$/ : /^ {2}http: +(\S+)$/
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MEDICHAIN_') && v !== undefined) clean[k] = v
  const child = spawn(process.execPath, [MAIN, 'start', '--data', data, '--http-host', '127.0.0.1', '--http-port', '0', '--p2p-port', '0'], {
    env: { ...clean, MEDICHAIN_LOG_LEVEL: 'info', MEDICHAIN_DICOM_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const lines: string[] = []
  let partial = ''
  let err = ''
  const waiters = new Set<() => void>()
  child.stdout?.on('data', (b: Buffer) => {
    const parts = (partial + b.toString()).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
    for (const w of waiters) w()
  })
  child.stderr?.on('data', (b: Buffer) => { err += b.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  await withTimeout(new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (lines.some(l => wanted.test(l))) {
        waiters.delete(check)
        resolve()
      }
    }
    waiters.add(check)
    void exited.then(() => reject(new Error(`the peer exited before serving HTTP: ${err}`)))
    check()
  }), START_MS, 'the peer to start')
  const url = lines.map(l => /^ {2}http: +(\S+)$/.exec(l)).find(x => x !== null)?.[1] ?? ''
  const setup = lines.map(l => /admin setup .*: (\S+)$/.exec(l)).find(x => x !== null)?.[1]
  return {
    child,
    url,
    setup,
    lines,
    logs: (from = 0) => lines.slice(from).flatMap(l => {
      if (!l.startsWith('{')) return []
      try {
        return [JSON.parse(l) as Record<string, unknown>]
      } catch {
        return []
      }
    }),
    exited,
    stderr: () => err
  }
}

/** Stops a peer with SIGTERM and waits for it (a clean shutdown). */
export async function stopPeerProcess (p: PeerProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return
  p.child.kill('SIGTERM')
  await withTimeout(p.exited, 30_000, 'the peer to stop')
}

/** A client that also remembers the session cookie it sends (raw-socket tests need it). */
export function recordingClient (url: string): { client: MedichainClient, cookie: () => string } {
  let cookie = ''
  const client = new MedichainClient({
    baseUrl: url,
    vaultIterations: TEST_VAULT_ITERATIONS,
    fetch: async (input, init) => {
      const res = await fetch(input, init)
      for (const c of res.headers.getSetCookie()) {
        const pair = c.split(';')[0]
        if (pair.startsWith('mc_session=')) cookie = pair
      }
      return res
    }
  })
  return { client, cookie: () => cookie }
}

/** The people of one test hospital, signed in. */
export interface Staff { admin: MedichainClient, clinician: MedichainClient, clinicianCookie: () => string, patientId: string }

/** Creates the admin (setup link), an approved clinician and a patient at a first-run peer. */
export async function staffOf (p: PeerProcess): Promise<Staff> {
  if (p.setup === undefined) throw new Error('no setup link: not a first run')
  const token = new URL(p.setup).hash.replace(/^#token=/, '')
  const password = 'correct horse battery staple'
  const admin = recordingClient(p.url).client
  await admin.signUp({ username: 'admin', password, role: 'admin', setupToken: token })
  await admin.signIn('admin', password)
  const doc = recordingClient(p.url)
  await doc.client.signUp({ username: 'doctor', password, role: 'clinician' })
  await admin.approve('doctor')
  await doc.client.signIn('doctor', password)
  const patient = recordingClient(p.url).client
  const signedUp = await patient.signUp({ username: 'patient', password, role: 'patient' })
  if (signedUp.patientId === undefined) throw new Error('the patient got no patient id')
  return { admin, clinician: doc.client, clinicianCookie: doc.cookie, patientId: signedUp.patientId }
}
