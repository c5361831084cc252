// The `medichain` command as an operator runs it, for fault tests: a peer started with
// `medichain start` in a child process, stopped with SIGTERM, and killed in teardown if it lingers.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withTimeout } from '../timeout.ts'

const MAIN = join(fileURLToPath(new URL('../../..', import.meta.url)), 'node', 'main.ts')
/** Deadline of a peer's start or of one command (ms): Node start-up plus a little work, on a busy CI. */
export const CLI_MS = 60_000

/** A running `medichain start`. */
export interface CliPeer {
  readonly child: ChildProcess
  /** The HTTP URL it printed. */
  readonly url: string
  stdout(): string
  stderr(): string
  /** Sends SIGTERM and resolves with the exit code once it has stopped. */
  stop(): Promise<number | null>
}

const children = new Set<ChildProcess>()

/** An environment without the developer's MEDICHAIN_* settings, logging warnings and worse. */
function cleanEnv (): Record<string, string> {
  // Test peers never take the default DICOM port: files run two at a time.
  const env: Record<string, string> = { MEDICHAIN_LOG_LEVEL: 'warn', MEDICHAIN_DICOM_PORT: '0' }
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MEDICHAIN_') && v !== undefined) env[k] = v
  return env
}

function launch (args: string[], cwd: string): { child: ChildProcess, out: () => string, err: () => string, exited: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let out = ''
  let err = ''
  child.stdout?.on('data', (b: Buffer) => { out += b.toString() })
  child.stderr?.on('data', (b: Buffer) => { err += b.toString() })
  const exited = new Promise<number | null>(resolve => child.once('close', (code) => { children.delete(child); resolve(code) }))
  return { child, out: () => out, err: () => err, exited }
}

/** Starts `medichain start --data <data>` on loopback ports chosen by the system; resolves once HTTP is up. */
export async function startCliPeer (data: string, cwd: string): Promise<CliPeer> {
  const p = launch(['start', '--data', data, '--http-port', '0', '--p2p-port', '0', '--dicom-port', '0', '--http-host', '127.0.0.1'], cwd)
  const url = await withTimeout(new Promise<string>((resolve, reject) => {
    const check = (): void => {
      const m = /^ {2}http: +(http:\/\/\S+)$/m.exec(p.out())
      if (m !== null) {
        p.child.stdout?.off('data', check)
        resolve(m[1])
      }
    }
    p.child.stdout?.on('data', check)
    p.child.once('close', () => reject(new Error(`medichain start exited before serving HTTP: ${p.err()}`)))
    check()
  }), CLI_MS, 'medichain start to serve HTTP')
  return {
    child: p.child,
    url,
    stdout: p.out,
    stderr: p.err,
    async stop () {
      p.child.kill('SIGTERM')
      return await withTimeout(p.exited, CLI_MS, 'medichain start to stop after SIGTERM')
    }
  }
}

/** Kills every child still running (teardown). */
export function killCliChildren (): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  children.clear()
}
