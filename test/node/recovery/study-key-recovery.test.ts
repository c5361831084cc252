// Study keys through assisted recovery (issue 16.3 with issue 13 item 3, docs/design.md §5 "Study
// keys"): once a recovery request takes effect, the custodian re-wraps its study keys for the new
// key beside the image keys (`patient.rewrap`), so the new key grants the old id's study with one
// study key, and the grantee's hospital opens its instances through it. A re-wrap of a study key
// the signer never recorded is refused by the ledger (REKEY_NOT_CUSTODIAN).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { WRAPPED_KEY_BYTES } from '../../../protocol/crypto/key-wrap.ts'
import { cosignRekey, startAssistedRecovery } from '../../../protocol/client/recovery.ts'
import { REKEY_REWRAPPED } from '../../../node/records/patient-rekeys.ts'
import { rejects } from '../../helpers/assert.ts'
import { dcmtk, writeStudy } from '../../helpers/imaging/dicom.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { client, startHospitals, stopHospitals, TEST_VAULT_ITERATIONS, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { withTimeout } from '../../helpers/timeout.ts'

let hospitals: Hospital[] = []
test.after(async () => {
  await stopHospitals(hospitals)
  await cleanup()
})

const SLICES = 3
const PASSWORD = 'the new key has a new password'

test('a recovered key grants the old id\'s study with the study key the custodian re-wrapped for it', async () => {
  hospitals = await startHospitals(3, { recovery: { cosigners: 2, delayMs: 2_000 }, dicom: {} })
  const [A, B, C] = hospitals
  const pat = await user(A, 'sk-rec-pat', 'patient')
  const pid = pat.user?.patientId as string
  await A.peer.dicom?.linkPatient('MRN-SKR-1', fromHex(pid))
  const files = await writeStudy(join(await tempDir('medichain-skr-'), 'ct'), { mrn: 'MRN-SKR-1', name: 'SYNTH^RECOVER^PAT', birthDate: '19700303', uid: '2.25.7200001', series: [{ uid: '2.25.7200001.1', modality: 'CT', slices: SLICES }] })
  const sent = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(A.peer.dicom?.address()?.port), ...files], 120_000)
  assert.is(sent.code, 0, sent.stderr)
  // Acknowledged from custody (the default): the intake puts them on the ledger right after.
  await A.peer.dicom?.settled()
  const [old] = await pat.myStudyKeys()
  assert.ok(old !== undefined, 'the study has a study key')

  // The patient lost everything; C checks them in person, A (the custodian) co-signs.
  const rewrapped = withTimeout(new Promise<void>(resolve => A.peer.patientRekeys.addEventListener(REKEY_REWRAPPED, () => { resolve() }, { once: true })), 60_000, 're-wrap at A')
  await untilLedger(C.peer.ledger, async () => await C.peer.ledger.queries.patientAccount(fromHex(pid)) !== undefined, 'the patient at C', 20_000)
  const req = await startAssistedRecovery(C.admin, { username: 'sk-rec-new', password: PASSWORD, oldPatientId: pid, vaultIterations: TEST_VAULT_ITERATIONS })
  await untilLedger(A.peer.ledger, async () => await A.peer.ledger.queries.rekeys.view(fromHex(req.id), Date.now()) !== undefined, 'the request at A', 20_000)
  await cosignRekey(A.admin, req.id)
  await rewrapped

  // A hospital that recorded no study key of this patient cannot re-wrap one.
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.studyKeysOf(fromHex(pid))).length === 1 && (await B.peer.ledger.queries.rekeys.view(fromHex(req.id), Date.now()))?.status === 'effective', 'the request in effect at B', 20_000)
  await rejects(async () => await B.peer.ledger.submitOwn('patient.rewrap', { rekey: fromHex(req.id), patient: fromHex(pid), images: [], studies: [{ record: fromHex(old.record), kid: fromHex(old.kid), key: new Uint8Array(WRAPPED_KEY_BYTES) }] }), 'REKEY_NOT_CUSTODIAN')

  // The new key sees the old study key, re-wrapped for it, and grants C the study with it.
  const fresh = client(C.url)
  await fresh.signIn('sk-rec-new', PASSWORD)
  await untilLedger(C.peer.ledger, async () => (await fresh.myStudyKeys()).length === 1 && (await fresh.myImages()).length === SLICES, 'the re-wrapped keys at C', 20_000)
  const [taken] = await fresh.myStudyKeys()
  assert.equal([taken.patientId, taken.record, taken.custodian, taken.kid], [pid, old.record, old.custodian, old.kid])
  const { id } = await fresh.grant({ grantee: toHex(C.peer.ledger.self), kind: 'hospital', purpose: 'treatment', expires: Date.now() + 3_600_000, scope: { kind: 'record', record: fromHex(old.record) }, images: (await fresh.myImages()).map(i => i.raw) })
  await untilLedger(C.peer.ledger, async () => await C.peer.ledger.tx(fromHex(id)) !== undefined, 'the grant at C', 20_000)
  const [consent] = await C.peer.ledger.queries.consentsOf(fromHex(req.patientId))
  assert.is(consent.studies?.length, 1, 'the grant carries the study key')
  assert.is(consent.keys?.length, 0, 'and no image key')
  const doc = await user(C, 'sk-rec-doc', 'clinician')
  const seen = await doc.patientImages(pid)
  assert.is(seen.length, SLICES)
  assert.is(String.fromCharCode(...(await doc.openImage(seen[1])).subarray(128, 132)), 'DICM')
})

test.run()
