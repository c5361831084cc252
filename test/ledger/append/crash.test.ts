// Crash safety: a peer killed with SIGKILL in the middle of appends restarts with a ledger that
// verifies end to end and holds every append it had acknowledged (one fsynced batch per block).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { fromHex } from '../../../protocol/bytes.ts'
import { genesisToJson } from '../../../protocol/chain/genesis.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { verifyLedger } from '../../../ledger/verify/verify.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { cleanup, openLedger, tempDir, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis } = testConsortium(2)
const CHILD = fileURLToPath(new URL('../../fixtures/append-loop.ts', import.meta.url))
const ACKS_BEFORE_KILL = 400

test.after.each(cleanup)

test('kill -9 during appends: the folder verifies and every acknowledged append is there', async () => {
  for (let round = 0; round < 3; round++) {
    const dir = await tempDir()
    const child = spawn(process.execPath, [CHILD, dir, JSON.stringify(genesisToJson(genesis)), '1'], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise<NodeJS.Signals | null>(resolve => child.once('exit', (_code, signal) => resolve(signal)))
    const acked: string[] = []
    const lines = createInterface({ input: child.stdout })
    await withTimeout(new Promise<void>(resolve => {
      lines.on('line', (line) => {
        if (line.startsWith('ack ')) acked.push(line.slice(4))
        if (acked.length === ACKS_BEFORE_KILL + round * 97) {
          child.kill('SIGKILL')
          resolve()
        }
      })
    }), 60_000, 'acknowledged appends')
    assert.is(await withTimeout(exited, 10_000, 'child exit'), 'SIGKILL')

    const report = await verifyLedger({ path: dir, genesis }, { verify: nodeVerify, logger: pino({ level: 'silent' }) })
    assert.equal(report.problems, [], 'ledger verify passes after the crash')
    const ledger = await openLedger(genesis, testIdentity(1), { path: dir })
    for (const id of acked) assert.ok(await ledger.tx(fromHex(id)), `acknowledged tx ${id.slice(0, 12)} survived`)
    assert.ok(report.txs >= acked.length)
    await ledger.submitOwn('record.create', { patient: new Uint8Array(32).fill(250), record: new Uint8Array(16) })
    await ledger.stop()
  }
})

test.run()
