// The consortium directory over HTTP on two real hospitals: the admin names the hospital, a
// clinician names themself, and a patient at the other hospital finds "Dr Lee, Radiology, South
// Hospital" by searching a name once the blocks replicated. Negatives: a patient cannot name a
// hospital or enter the directory, a clinician cannot rename the hospital, names are checked.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import type { Ledger } from '../../../ledger/types.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** Waits for the ledger to reach a state (test/helpers/ledger/until.ts). */
const until = async (ledger: Ledger, check: () => boolean | Promise<boolean>, what: string): Promise<void> => await untilLedger(ledger, check, what, 20_000)

test('names published at one hospital are found by a patient at another', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  await B.admin.setHospitalName('South Hospital')
  const lee = await user(B, 'lee', 'clinician')
  await lee.setMyDirectoryEntry('Dr Lee', 'Radiology')
  const patient = await user(A, 'pat', 'patient')
  await until(A.peer.ledger, async () => (await A.peer.ledger.queries.directory()).length === 2, 'the directory reaches A')
  const found = await patient.directory('lee')
  assert.is(found.length, 1)
  assert.equal({ name: found[0].name, department: found[0].department, hospitalName: found[0].hospitalName, kind: found[0].kind }, { name: 'Dr Lee', department: 'Radiology', hospitalName: 'South Hospital', kind: 'staff' })
  assert.is(found[0].hospital, toHex(B.peer.ledger.self))
  // The member list (consent pages, audit, explorer) shows the hospital's own name everywhere.
  assert.is(A.peer.ledger.members().find(m => toHex(m.key) === toHex(B.peer.ledger.self))?.name, 'South Hospital')
  assert.is((await patient.directory('south')).length, 2, 'a search by hospital name finds the hospital and its staff')
})

test('only admins name the hospital, only staff enter the directory, names are checked', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const patient = await user(A, 'pat', 'patient')
  const clinician = await user(A, 'doc', 'clinician')
  await rejects(async () => await patient.setHospitalName('Evil Hospital'), 'FORBIDDEN')
  await rejects(async () => await clinician.setHospitalName('Evil Hospital'), 'FORBIDDEN')
  await rejects(async () => await patient.setMyDirectoryEntry('Alice Patient', ''), 'FORBIDDEN')
  await rejects(async () => await A.admin.setHospitalName('   '), 'INVALID')
  await rejects(async () => await A.admin.setHospitalName('x'.repeat(129)), 'BAD_SCHEMA')
  await rejects(async () => await clinician.setMyDirectoryEntry('Dr\u0007Bell', ''), 'BAD_SCHEMA')
  assert.is((await patient.directory()).length, 0, 'nothing was written')
})

test.run()
