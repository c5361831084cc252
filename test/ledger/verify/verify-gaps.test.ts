// A chain whose heights skip one (a block and its index entry lost from the middle) is named
// HEIGHT_GAP by `ledger verify`, and a ledger refuses to start on it rather than load every later
// height shifted by one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { Level } from 'level'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { K } from '../../../ledger/store/keys.ts'
import { verifyLedger } from '../../../ledger/verify/verify.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, openLedger, recordBody, registerBody, tempDir, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A] } = testConsortium(2)
const id = ledgerIdOf(genesis)

test.after.each(cleanup)

/** A folder where A's chain has heights 0..5, then `drop` removes some of its keys. */
async function withGap (drop: (height: number) => string[]): Promise<string> {
  const dir = await tempDir()
  const ledger = await openLedger(genesis, A, { path: dir })
  await ledger.submitOwn('account.register', registerBody(id, testIdentity(61), A))
  for (let i = 0; i < 5; i++) await ledger.submitOwn('record.create', recordBody(i))
  await ledger.stop()
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  await db.batch(drop(2).map(key => ({ type: 'del' as const, key })))
  await db.close()
  return dir
}

const codes = (problems: Array<{ code: string }>): string[] => problems.map(p => p.code)

test('a block missing from the middle of a chain is HEIGHT_GAP, and the ledger refuses to start on it', async () => {
  const dir = await withGap(h => [K.block(A.publicKey, h), K.meta(A.publicKey, h)])
  const report = await verifyLedger({ path: dir, genesis }, { verify: nodeVerify, logger: pino({ level: 'silent' }) })
  assert.not.ok(report.ok)
  assert.ok(codes(report.problems).includes('HEIGHT_GAP'), codes(report.problems).join(' '))
  await rejects(async () => await openLedger(genesis, A, { path: dir }), 'HEIGHT_GAP')
})

test('a gap in the chain index alone is HEIGHT_GAP too', async () => {
  const dir = await withGap(h => [K.meta(A.publicKey, h)])
  const report = await verifyLedger({ path: dir, genesis }, { verify: nodeVerify, logger: pino({ level: 'silent' }) })
  assert.ok(codes(report.problems).includes('HEIGHT_GAP'), codes(report.problems).join(' '))
})

test('a whole chain verifies with no HEIGHT_GAP', async () => {
  const dir = await withGap(() => [])
  const report = await verifyLedger({ path: dir, genesis }, { verify: nodeVerify, logger: pino({ level: 'silent' }) })
  assert.equal(report.problems, [])
})

test.run()
