// The tfjs wasm backend's Emscripten runtime installs process hooks that rethrow (exit code 7);
// initBackend removes them, so the peer's own error policy holds and Node's defaults apply.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { withoutProcessHooks } from '../../../node/ai/runtime/process-hooks.ts'
import { withTimeout } from '../../helpers/timeout.ts'

const CHILD = fileURLToPath(new URL('../../fixtures/wasm-hooks-child.ts', import.meta.url))
const counts = (): number[] => [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]

test('withoutProcessHooks removes exactly the fatal-event listeners added inside it', async () => {
  const ours = (): void => {}
  process.on('uncaughtException', ours)
  const { removed } = await withoutProcessHooks(async () => {
    process.on('uncaughtException', (err) => { throw err })
    process.on('unhandledRejection', (reason) => { throw reason })
  })
  assert.equal(removed.map(r => r.event).sort(), ['uncaughtException', 'unhandledRejection'])
  assert.equal(process.listeners('uncaughtException'), [ours], 'a listener present before stays')
  assert.is(process.listenerCount('unhandledRejection'), 0)
  process.off('uncaughtException', ours)
})

test('starting the wasm backend leaves no uncaughtException / unhandledRejection listener', async () => {
  const before = counts()
  assert.is(await initBackend({ prefer: 'wasm' }), 'wasm')
  assert.equal(counts(), before)
})

test('a process with the wasm backend survives an error its own handler handled (no exit 7)', async () => {
  const child = spawn(process.execPath, [CHILD], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (b: Buffer) => { out += b.toString() })
  child.stderr.on('data', (b: Buffer) => { err += b.toString() })
  const code = await withTimeout(new Promise<number | null>(resolve => child.once('close', resolve)), 60_000, 'the child to exit')
  assert.match(out, /^backend wasm$/m, err)
  assert.match(out, /^handled a handled failure$/m)
  assert.is(code, 0, `exit code ${String(code)}: ${err}`)
  assert.match(out, /^alive$/m)
})

test.run()
