// `ledger verify` replays a data folder and must catch every kind of tampering: a changed state
// entry, a deleted index, a corrupted block.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { pino } from 'pino'
import { Level } from 'level'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { verifyLedger } from '../../../ledger/verify/verify.ts'
import { cleanup, makeBlock, makeTx, openLedger, recordBody, registerBody, tempDir, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
const logger = pino({ level: 'silent' })

test.after.each(cleanup)

async function populated (): Promise<string> {
  const dir = await tempDir()
  const ledger = await openLedger(genesis, A, { path: dir })
  const patient = testIdentity(60)
  await ledger.submitOwn('account.register', registerBody(id, patient, A))
  for (let i = 0; i < 10; i++) await ledger.submitOwn('record.create', recordBody(i))
  await ledger.submit(makeTx(id, patient, 'consent.revoke', { grantee: B.publicKey }, 0, Date.now()))
  const b0 = makeBlock(id, B, { height: 0, prev: null, time: Date.now() })
  await ledger.receive(b0.bytes)
  await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: Date.now() - 1 }).bytes)
  await ledger.stop()
  return dir
}

async function tamper (dir: string, fn: (db: Level<string, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  await fn(db)
  await db.close()
}

async function firstKey (db: Level<string, Uint8Array>, prefix: string): Promise<string> {
  for await (const key of db.keys({ gte: prefix, lt: prefix + '\uffff', limit: 1 })) return key
  throw new Error(`no key under ${prefix}`)
}

test('an untouched folder verifies, evidence included', async () => {
  const report = await verifyLedger({ path: await populated(), genesis }, { verify: nodeVerify, logger })
  assert.equal(report.problems, [])
  assert.ok(report.ok)
  assert.is(report.blocks, 13)
  assert.is(report.txs, 12)
})

test('a changed state entry is found', async () => {
  const dir = await populated()
  await tamper(dir, async db => await db.put(await firstKey(db, 's:rec:'), new Uint8Array([0xa0])))
  const report = await verifyLedger({ path: dir, genesis }, { verify: nodeVerify, logger })
  assert.not.ok(report.ok)
  assert.ok(report.problems.some(p => p.code === 'STATE_ROOT_MISMATCH'))
})

test('a deleted index entry is found', async () => {
  const dir = await populated()
  await tamper(dir, async db => await db.del(await firstKey(db, 'i:hist:')))
  const report = await verifyLedger({ path: dir, genesis }, { verify: nodeVerify, logger })
  assert.ok(report.problems.some(p => p.code === 'INDEX_MISMATCH'))
})

test('a corrupted block is found', async () => {
  const dir = await populated()
  await tamper(dir, async db => {
    const key = await firstKey(db, 'b:')
    const bytes = (await db.get(key)) as Uint8Array
    bytes[bytes.length - 1] ^= 1
    await db.put(key, bytes)
  })
  const report = await verifyLedger({ path: dir, genesis }, { verify: nodeVerify, logger })
  assert.not.ok(report.ok)
  assert.ok(report.problems.length > 0)
})

test('a folder made under another genesis is reported', async () => {
  const dir = await populated()
  const other = testConsortium(3).genesis
  const report = await verifyLedger({ path: dir, genesis: other }, { verify: nodeVerify, logger })
  assert.ok(report.problems.some(p => p.code === 'WRONG_LEDGER'))
})

test.run()
