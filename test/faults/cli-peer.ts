// Hospital peers run the way an operator runs them: `medichain start` in a child process on
// 127.0.0.1 with port 0, optionally under libfaketime (Debian package `faketime`) to skew its
// clock. The data folder gets the hospital key, the genesis and a test-cost scrypt setting.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Genesis } from '../../protocol/chain/genesis.ts'
import { writeGenesisFile } from '../../node/cli/genesis-file.ts'
import { createKeyFile } from '../../node/keys.ts'
import { testSeed } from '../helpers/ledger/fixture.ts'
import { TEST_SCRYPT_N } from '../helpers/peers/peers.ts'
import { withTimeout } from '../helpers/timeout.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const MAIN = join(ROOT, 'node', 'main.ts')

/** libfaketime's preload library on Debian amd64 (package `faketime`). */
export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

/** True when libfaketime is installed; tests that need it say so and skip otherwise. */
export const HAVE_FAKETIME = existsSync(LIBFAKETIME)

/** Deadline for a peer process to start or stop (ms): Node start-up, level, libp2p, tfjs. */
export const PROCESS_MS = 60_000

/** A running `medichain start`. */
export interface CliPeer { child: ChildProcess, url: string, p2p: string[], stdout: () => string, stderr: () => string, exited: Promise<number | null> }

/** Environment for the child: no MEDICHAIN_* from the developer's shell, quiet logs, extra vars. */
function childEnv (extra: Record<string, string>): Record<string, string> {
  // Test peers never take the default DICOM port: files run two at a time.
  const env: Record<string, string> = { MEDICHAIN_LOG_LEVEL: 'warn', MEDICHAIN_DICOM_PORT: '0' }
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MEDICHAIN_') && k !== 'FAKETIME' && k !== 'LD_PRELOAD' && v !== undefined) env[k] = v
  return { ...env, ...extra }
}

/** Environment that runs the child's clock `offset` ahead (libfaketime syntax, e.g. `+10m`). */
export function skewedClock (offset: string): Record<string, string> {
  return { FAKETIME: offset, LD_PRELOAD: LIBFAKETIME }
}

/**
 * Prepares a data folder for hospital `n`: its key and, when given, the genesis (without a
 * genesis the first start makes a one-member consortium), and a config with test-cost scrypt.
 */
export async function prepareFolder (data: string, n: number, genesis?: Genesis): Promise<void> {
  await createKeyFile(data, { seed: testSeed(n) })
  if (genesis !== undefined) await writeGenesisFile(join(data, 'genesis.json'), genesis)
  await writeFile(join(data, 'config.json'), JSON.stringify({ auth: { scryptN: TEST_SCRYPT_N } }))
}

/** Runs `medichain <args>` and returns at once; `exited` settles with the exit code. */
export function launch (args: string[], env: Record<string, string> = {}): Omit<CliPeer, 'url' | 'p2p'> {
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout?.on('data', (b: Buffer) => { out += b.toString() })
  child.stderr?.on('data', (b: Buffer) => { err += b.toString() })
  const exited = new Promise<number | null>(resolve => child.once('close', (code) => resolve(code)))
  return { child, stdout: () => out, stderr: () => err, exited }
}

/** Starts `medichain start` on `data` and resolves once it prints its HTTP address. */
export async function startCliPeer (data: string, opts: { peers?: string[], env?: Record<string, string>, args?: string[] } = {}): Promise<CliPeer> {
  const args = ['start', '--data', data, '--http-port', '0', '--p2p-port', '0', ...(opts.peers ?? []).flatMap(p => ['--peer', p]), ...(opts.args ?? [])]
  const p = launch(args, opts.env)
  const ready = new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (!/^ {2}p2p: +\S+\n/m.test(p.stdout())) return
      p.child.stdout?.off('data', check)
      resolve()
    }
    p.child.stdout?.on('data', check)
    void p.exited.then(code => reject(new Error(`medichain start exited with ${String(code)}: ${p.stderr()}`)))
  })
  await withTimeout(ready, PROCESS_MS, 'medichain start to print its addresses')
  const url = (/^ {2}http: +(\S+)\n/m.exec(p.stdout()) as RegExpExecArray)[1]
  const p2p = [...p.stdout().matchAll(/^ {2}p2p: +(\S+)\n/gm)].map(m => m[1])
  return { ...p, url, p2p }
}

/** Stops a CLI peer with SIGTERM and resolves with its exit code. */
export async function stopCliPeer (p: Pick<CliPeer, 'child' | 'exited'>): Promise<number | null> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM')
  return await withTimeout(p.exited, PROCESS_MS, 'medichain start to stop')
}
