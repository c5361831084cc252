// Runs the `medichain` command as a user does: this Node on node/main.ts, in a chosen folder, with
// no MEDICHAIN_* settings from the developer's shell. Shared by the CLI tests.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { withTimeout } from '../timeout.ts'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
/** The CLI's entry point. */
export const MAIN = join(ROOT, 'node', 'main.ts')
/** Deadline of one short command (ms): Node start-up plus a little work. */
export const COMMAND_MS = 30_000

/** A running command: its process, what it printed so far, and its exit. */
export interface Spawned { child: ChildProcess, stdout: () => string, stderr: () => string, exited: Promise<number | null> }

/** An environment with no MEDICHAIN_* settings from the developer's shell. */
export function cleanEnv (extra: Record<string, string> = {}): Record<string, string> {
  // Test peers never take the default DICOM port: files run two at a time.
  const env: Record<string, string> = { MEDICHAIN_LOG_LEVEL: 'warn', MEDICHAIN_DICOM_PORT: '0' }
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MEDICHAIN_') && v !== undefined) env[k] = v
  return { ...env, ...extra }
}

/** Starts and stops `medichain` commands in one folder; `killAll` in a test's teardown. */
export class CliRunner {
  readonly #children: ChildProcess[] = []
  cwd: string

  constructor (cwd = '') {
    this.cwd = cwd
  }

  /** Starts `medichain args…` and returns at once. */
  launch (args: string[], env: Record<string, string> = {}): Spawned {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: this.cwd, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
    this.#children.push(child)
    let out = ''
    let err = ''
    child.stdout?.on('data', (b: Buffer) => { out += b.toString() })
    child.stderr?.on('data', (b: Buffer) => { err += b.toString() })
    const exited = new Promise<number | null>(resolve => child.once('close', (code) => resolve(code)))
    return { child, stdout: () => out, stderr: () => err, exited }
  }

  /** Runs `medichain args…` to its end. */
  async run (args: string[], env: Record<string, string> = {}, ms = COMMAND_MS): Promise<{ code: number | null, stdout: string, stderr: string }> {
    const p = this.launch(args, env)
    const code = await withTimeout(p.exited, ms, `medichain ${args.join(' ')}`)
    return { code, stdout: p.stdout(), stderr: p.stderr() }
  }

  /** Kills every command still running. */
  killAll (): void {
    for (const c of this.#children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  }
}

/** Resolves with the first match of `re` in the child's stdout, as soon as it is printed. */
export async function waitForLine (p: Spawned, re: RegExp, what: string, ms = COMMAND_MS): Promise<RegExpExecArray> {
  const found = new Promise<RegExpExecArray>((resolve, reject) => {
    const check = (): void => {
      const m = re.exec(p.stdout())
      if (m !== null) {
        p.child.stdout?.off('data', check)
        resolve(m)
      }
    }
    p.child.stdout?.on('data', check)
    p.child.once('close', () => reject(new Error(`exited before ${what}: ${p.stderr()}`)))
    check()
  })
  return await withTimeout(found, ms, what)
}
