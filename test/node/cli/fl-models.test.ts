// `medichain fl models | pin | unpin | rollback` against a running peer, as child processes: an
// admin rolls back and pins from the command line, the choice survives a restart of the peer, bad
// flags are usage errors (exit 2) and refusals come back with their code (exit 1).
import { randomBytes } from 'node:crypto'
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { taskIdFor } from '../../../ledger/rules/fl.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { createModel, serializeWeights } from '../../../node/ai/model/model.ts'
import { storageModelStore } from '../../../node/fl/index.ts'
import type { DeploymentView, ModelRecord } from '../../../node/fl/index.ts'
import type { Peer } from '../../../node/peer.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { hospitalGenesis, startHospital, startHospitals, stopHospitals } from '../../helpers/peers/peers.ts'
import { waitFor, withTimeout } from '../../helpers/timeout.ts'
import { nextEvent, TINY } from '../fl/fixture.ts'

const MAIN = fileURLToPath(new URL('../../../node/main.ts', import.meta.url))
let peers: Array<{ peer: Peer }> = []

test.before(async () => {
  await initBackend({ prefer: 'wasm' })
})

test.after.each(async () => {
  await stopHospitals(peers)
  peers = []
  await cleanup()
})

async function run (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await withTimeout(new Promise<number | null>(resolve => child.on('exit', resolve)), 30_000, `medichain ${args.slice(0, 2).join(' ')}`)
  return { code, stdout, stderr }
}

/** Publishes a fresh TINY model at `peer` and waits for its decision. */
async function publish (peer: Peer, seed: number): Promise<ModelRecord> {
  const model = createModel(seed, TINY)
  const cid = await storageModelStore(peer.storage).put(serializeWeights(model))
  model.dispose()
  const decided = nextEvent<ModelRecord>(peer.federation, 'model:decided', r => r.cid === cid.toString())
  await peer.ledger.submitOwn('model.publish', { model: cid, task: taskIdFor('detect-strange', peer.ledger.self, randomBytes(4)), round: 1, metrics: {}, participants: [] })
  return await decided
}

test('an admin rolls back and pins from the command line; the choice survives a restart', async () => {
  const [H] = await startHospitals(1)
  peers = [H]
  const dir = await tempDir()
  const passwordFile = join(dir, 'password')
  await writeFile(passwordFile, 'correct horse battery staple\n', { mode: 0o600 })
  const login = (url: string): string[] => ['--url', url, '--username', 'admin-1', '--password-file', passwordFile]
  const first = await publish(H.peer, 1)
  const second = await publish(H.peer, 2)

  const listed = await run(['fl', 'models', ...login(H.url)])
  assert.is(listed.code, 0, listed.stderr)
  assert.match(listed.stdout, `deployed: ${second.cid}\n`)
  assert.match(listed.stdout, `available ${first.cid} `)
  assert.match(listed.stdout, /SUPERSEDED: /)

  const rolled = await run(['fl', 'rollback', ...login(H.url)])
  assert.is(rolled.code, 0, rolled.stderr)
  assert.match(rolled.stdout, `deployed: ${first.cid} (pinned)`)

  assert.is((await run(['fl', 'pin', ...login(H.url)])).code, 2, 'pin needs --model')
  assert.is((await run(['fl', 'pin', ...login(H.url), '--model', 'not-a-cid'])).code, 2)
  assert.is((await run(['fl', 'unpin', ...login(H.url), '--model', first.cid])).code, 2, '--model is only for pin')
  const unknown = await run(['fl', 'pin', ...login(H.url), '--model', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'])
  assert.is(unknown.code, 1, unknown.stderr)
  assert.match(unknown.stderr, /^error NOT_FOUND: /m)

  await H.peer.stop()
  const again = await startHospital(1, hospitalGenesis(1), { data: H.data })
  peers = [again]
  await waitFor(() => again.peer.federation.currentModel() !== null, { timeout: 20_000, what: 'the restored model' })
  const after = await run(['fl', 'models', ...login(again.url), '--json'])
  assert.is(after.code, 0, after.stderr)
  const view = JSON.parse(after.stdout) as DeploymentView
  assert.is(view.deployed?.cid, first.cid, 'the rolled-back model is deployed after the restart')
  assert.is(view.pinned, true)

  assert.is((await run(['fl', 'unpin', ...login(again.url)])).code, 0)
  const pinned = await run(['fl', 'pin', ...login(again.url), '--model', second.cid, '--json'])
  assert.is(pinned.code, 0, pinned.stderr)
  assert.is((JSON.parse(pinned.stdout) as DeploymentView).deployed?.cid, second.cid)
  assert.is(again.peer.federation.currentModel()?.cid.toString(), second.cid)
  assert.is(again.peer.federation.deployment().pinned, true)
})

test.run()
