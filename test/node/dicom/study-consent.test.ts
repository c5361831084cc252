// A consent may name a study (issue 13 item 3): two studies of one patient arrive at hospital A
// over C-STORE; the patient grants hospital B treatment access to one study (a record scope with
// the keys of its images); a clinician of B then lists and opens exactly that study's images, the
// other study stays closed, and a grant naming a study the patient does not have is refused by
// the ledger (FOREIGN_RECORD).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { fromHex } from '../../../protocol/bytes.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { dcmtk, writeStudy } from '../../helpers/imaging/dicom.ts'
import { rejects } from '../../helpers/assert.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'

let hospitals: Hospital[] = []

test.after(async () => {
  await stopHospitals(hospitals)
  await cleanup()
})

test('a grant naming one study opens that study at another hospital, and nothing else', async () => {
  hospitals = await startHospitals(2, { dicom: {} })
  const [A, B] = hospitals
  const dir = await tempDir('medichain-study-consent-')
  const patient = await user(A, 'study-patient', 'patient')
  const pid = patient.user?.patientId as string
  await A.peer.dicom?.linkPatient('MRN-SC-1', fromHex(pid))
  const port = String(A.peer.dicom?.address()?.port)
  for (const [uid, slices] of [['2.25.7000001', 3], ['2.25.7000002', 2]] as const) {
    const files = await writeStudy(join(dir, uid), { mrn: 'MRN-SC-1', name: 'SYNTH^STUDY^CONSENT', birthDate: '19900101', uid, series: [{ uid: `${uid}.1`, modality: 'CT', slices }] })
    assert.is((await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', port, ...files])).code, 0)
  }
  // Acknowledged from custody (the default): the intake puts them on the ledger right after.
  await A.peer.dicom?.settled()
  const mine = await patient.myImages()
  assert.is(mine.length, 5)
  const studies = [...new Set(mine.map(i => i.record))]
  assert.is(studies.length, 2)
  const chest = mine.filter(i => i.record === studies[0])
  const other = mine.filter(i => i.record === studies[1])

  const doc = await user(B, 'study-doc-b', 'clinician')
  await rejects(async () => await doc.patientImages(pid), 'NO_CONSENT')
  const expires = Date.now() + 86_400_000
  await rejects(async () => await patient.grant({ grantee: Buffer.from(B.peer.ledger.self).toString('hex'), kind: 'hospital', purpose: 'treatment', expires, scope: { kind: 'record', record: new Uint8Array(16).fill(7) }, images: [] }), 'FOREIGN_RECORD')
  const { id } = await patient.grant({
    grantee: Buffer.from(B.peer.ledger.self).toString('hex'), kind: 'hospital', purpose: 'treatment', expires,
    scope: { kind: 'record', record: fromHex(chest[0].record as string) }, images: chest.map(i => i.raw)
  })
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.consentsOf(fromHex(pid))).some(c => Buffer.from(c.tx).toString('hex') === id), 'the consent to reach B', 20_000)
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.imagesOf(fromHex(pid))).length === 5, 'the images to reach B', 20_000)
  const seen = await doc.patientImages(pid)
  assert.equal(seen.map(i => i.raw).sort(), chest.map(i => i.raw).sort(), 'B sees the study named, and only it')
  assert.ok(seen.every(i => i.record === chest[0].record && i.dicom !== null))
  const bytes = await doc.openImage(seen[0])
  assert.is(String.fromCharCode(...bytes.subarray(128, 132)), 'DICM', 'and opens it: a DICOM file')
  assert.ok(other.length > 0 && chest.length > 0 && other.length + chest.length === 5, 'the other study had images to leave closed')
})

test.run()
