// The consortium directory (`directory.set`): a hospital names itself and its own staff. The
// ledger refuses a name for a patient (PHI), for another hospital's staff member or for another
// hospital, and the latest entry by the hospital's seq wins whatever order blocks arrive in.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, openLedger, registerBody, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
const clock = (): number => 1_700_000_010_000
const clinician = testIdentity(40)
const patient = testIdentity(41)

test.after.each(cleanup)

/** B's chain: register a clinician and a patient at B (height 0), then the given txs (height 1). */
function chainOfB (txs: ReturnType<typeof makeTx>[]): Uint8Array[] {
  const first = makeBlock(id, B, { height: 0, prev: null, txs: [makeTx(id, B, 'account.register', registerBody(id, clinician, B, 'clinician'), 0), makeTx(id, B, 'account.register', registerBody(id, patient, B, 'patient'), 1)] })
  const second = makeBlock(id, B, { height: 1, prev: first.hash, txs })
  return [first.bytes, second.bytes]
}

test('a hospital names itself and its clinician; members() and the directory show the names', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const [b0, b1] = chainOfB([
    makeTx(id, B, 'directory.set', { subject: B.publicKey, name: 'South Hospital', department: '' }, 2),
    makeTx(id, B, 'directory.set', { subject: clinician.publicKey, name: 'Dr Lee', department: 'Radiology' }, 3)
  ])
  assert.is(await ledger.receive(b0), 'appended')
  assert.is(await ledger.receive(b1), 'appended')
  const entry = await ledger.queries.directoryEntry(clinician.publicKey)
  assert.equal({ name: entry?.name, department: entry?.department, hospital: toHex(entry?.hospital ?? new Uint8Array()) }, { name: 'Dr Lee', department: 'Radiology', hospital: toHex(B.publicKey) })
  assert.is((await ledger.queries.directory()).length, 2)
  // The display name of B reaches the member list as soon as the block is durable.
  assert.is(ledger.members().find(m => toHex(m.key) === toHex(B.publicKey))?.name, 'South Hospital')
})

test('the later entry by seq wins', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const [b0, b1] = chainOfB([
    makeTx(id, B, 'directory.set', { subject: clinician.publicKey, name: 'Dr Lee', department: 'Radiology' }, 2),
    makeTx(id, B, 'directory.set', { subject: clinician.publicKey, name: 'Dr A. Lee', department: 'Oncology' }, 3)
  ])
  await ledger.receive(b0)
  await ledger.receive(b1)
  assert.is((await ledger.queries.directoryEntry(clinician.publicKey))?.name, 'Dr A. Lee')
})

for (const [what, subject, code] of [
  ['a patient (PHI)', () => patient.publicKey, 'DIRECTORY_SUBJECT'],
  ['another hospital', () => A.publicKey, 'DIRECTORY_SUBJECT'],
  ['a key nobody registered', () => testIdentity(77).publicKey, 'DIRECTORY_SUBJECT']
] as const) {
  test(`a directory entry naming ${what} is refused with ${code}`, async () => {
    const ledger = await openLedger(genesis, A, { clock })
    const [b0, b1] = chainOfB([makeTx(id, B, 'directory.set', { subject: subject(), name: 'Someone', department: '' }, 2)])
    await ledger.receive(b0)
    const size = ledger.size()
    await rejects(async () => await ledger.receive(b1), code)
    assert.is(ledger.size(), size)
  })
}

test('a hospital cannot name another hospital\'s clinician, nor submit such an entry locally', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const [b0] = chainOfB([])
  await ledger.receive(b0)
  const foreign = makeBlock(id, A, { height: 0, prev: null, txs: [makeTx(id, A, 'directory.set', { subject: clinician.publicKey, name: 'Dr Fake', department: '' }, 0)] })
  const other = await openLedger(genesis, B, { clock })
  await other.receive(b0)
  await rejects(async () => await other.receive(foreign.bytes), 'DIRECTORY_SUBJECT')
  await rejects(async () => await ledger.submitOwn('directory.set', { subject: clinician.publicKey, name: 'Dr Fake', department: '' }), 'DIRECTORY_SUBJECT')
})

test.run()
