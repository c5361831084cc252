// `medichain fl start` and `medichain fl continue` against a running peer: an admin starts a task
// from the command line; bad flags are usage errors (exit 2) before anything is sent, and a task
// that cannot be continued is refused with its code (exit 1). Continuing a task for real is
// tested over HTTP in test/node/fl/round/continuation.test.ts.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { withTimeout } from '../../helpers/timeout.ts'

const MAIN = fileURLToPath(new URL('../../../node/main.ts', import.meta.url))
let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

async function run (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await withTimeout(new Promise<number | null>(resolve => child.on('exit', resolve)), 30_000, 'medichain fl start')
  return { code, stdout, stderr }
}

test('an admin starts a task from the command line; bad flags exit 2', async () => {
  hospitals = await startHospitals(1)
  const [H] = hospitals
  const dir = await tempDir()
  const passwordFile = join(dir, 'password')
  await writeFile(passwordFile, 'correct horse battery staple\n', { mode: 0o600 })
  const bad = await run(['fl', 'start', '--url', H.url, '--username', 'admin-1', '--password-file', passwordFile, '--rounds', 'many'])
  assert.is(bad.code, 2, bad.stderr)
  const badKind = await run(['fl', 'start', '--url', H.url, '--username', 'admin-1', '--password-file', passwordFile, '--aggregation', 'median'])
  assert.is(badKind.code, 2, badKind.stderr)
  assert.match(badKind.stderr, /fedavg, trimmed-mean or secure/)
  const noClip = await run(['fl', 'start', '--url', H.url, '--username', 'admin-1', '--password-file', passwordFile, '--aggregation', 'secure'])
  assert.is(noClip.code, 2, noClip.stderr)
  assert.match(noClip.stderr, /needs --clip/)
  const ok = await run(['fl', 'start', '--url', H.url, '--username', 'admin-1', '--password-file', passwordFile, '--rounds', '1', '--min-participants', '1', '--aggregation', 'secure', '--clip', '10'])
  assert.is(ok.code, 0, ok.stderr)
  const id = /task (\S+) started/.exec(ok.stdout)?.[1]
  assert.ok(id, ok.stdout)
  const res = await H.admin.request('GET', '/api/fl/tasks')
  const { tasks } = await res.json() as { tasks: Array<{ id: string }> }
  assert.ok(tasks.some(t => t.id === id), 'the peer coordinates the task')
  const view = await (await H.admin.request('GET', `/api/fl/tasks/${id}`)).json() as { options: { aggregation: string, clip?: number } }
  assert.is(view.options.aggregation, 'secure', 'the task runs with secure aggregation, as asked')
  assert.is(view.options.clip, 10)
  const wrong = await run(['fl', 'start', '--url', H.url, '--username', 'admin-1', '--password-file', MAIN])
  assert.is(wrong.code, 1, 'a wrong password fails')

  const login = ['--url', H.url, '--username', 'admin-1', '--password-file', passwordFile]
  const noId = await run(['fl', 'continue', ...login])
  assert.is(noId.code, 2, noId.stderr)
  // This peer has no labelled images: the task failed (NO_VALIDATION_SET) or is about to, and a
  // failed or running task is not continuable.
  const refused = await run(['fl', 'continue', ...login, '--id', id])
  assert.is(refused.code, 1, refused.stderr)
  assert.match(refused.stderr, /^error TASK_NOT_CONTINUABLE: /m)
  const unknown = await run(['fl', 'continue', ...login, '--id', 'detect-strange-00000000000000aa'])
  assert.is(unknown.code, 1, unknown.stderr)
  assert.match(unknown.stderr, /^error NOT_FOUND: /m)
})

test.run()
