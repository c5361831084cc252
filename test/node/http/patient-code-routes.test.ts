// Finding a patient by the code they read out (issue 12, protocol/patient-code.ts): a clinician
// types the code and gets the patient id; a typo is refused by the SDK before any request and by
// the peer with the same typed code; a code no registered patient has is UNKNOWN_PATIENT; only
// clinicians and admins may look codes up.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { patientCodeOf } from '../../../protocol/patient-code.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

/** The code with its first character replaced by the next one of the alphabet: a typo. */
function typo (code: string): string {
  return (code[0] === '0' ? '1' : '0') + code.slice(1)
}

test('a clinician finds a patient by code; typos, unknown codes and patients asking are refused', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const patient = await user(A, 'code-patient', 'patient')
  const pid = patient.user?.patientId as string
  const doc = await user(A, 'code-doc', 'clinician')
  const code = patientCodeOf(pid)

  assert.equal(await doc.patientByCode(code), { patientId: pid, code })
  assert.equal(await doc.patientByCode(code.toLowerCase().replace('-', ' ')), { patientId: pid, code }, 'as typed at a desk')
  assert.equal(await A.admin.patientByCode(code), { patientId: pid, code }, 'the desk admin may too')
  // The SDK refuses a typo itself; the peer refuses it the same way when asked directly.
  await rejects(async () => await doc.patientByCode(typo(code)), 'BAD_PATIENT_CODE')
  await rejects(async () => await doc.request('GET', `/api/patients/by-code/${typo(code)}`), 'BAD_PATIENT_CODE')
  await rejects(async () => await doc.request('GET', '/api/patients/by-code/SHORT'), 'BAD_PATIENT_CODE')
  // A well-formed code (it checks) that no registered patient has.
  const nobody = patientCodeOf(new Uint8Array(32).fill(0xee))
  await rejects(async () => await doc.patientByCode(nobody), 'UNKNOWN_PATIENT')
  await rejects(async () => await patient.patientByCode(code), 'FORBIDDEN')
})

test.run()
