// "Revoke and re-key" of a study (issue 11.3 with issue 13 item 3, docs/design.md §5 "Study keys"):
// the grantee that held the study's key is revoked and the custodian re-encrypts the instances
// under new data keys sealed under a fresh study key, which it records; the old key opens nothing
// current. A new grant of the study carries only the fresh key and opens the re-keyed instances.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { join } from 'node:path'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import { rejects } from '../../helpers/assert.ts'
import { dcmtk, writeStudy } from '../../helpers/imaging/dicom.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
test.after(async () => {
  await stopHospitals(hospitals)
  await cleanup()
})

const SLICES = 3

test('after revoke and re-key the study is sealed under a fresh study key, which a new grant hands over alone', async () => {
  hospitals = await startHospitals(2, { dicom: {} })
  const [A, B] = hospitals
  const pat = await user(A, 'sk-rk-pat', 'patient')
  const pid = pat.user?.patientId as string
  await A.peer.dicom?.linkPatient('MRN-SKK-1', fromHex(pid))
  const files = await writeStudy(join(await tempDir('medichain-skk-'), 'ct'), { mrn: 'MRN-SKK-1', name: 'SYNTH^REKEY^PAT', birthDate: '19600404', uid: '2.25.7300001', series: [{ uid: '2.25.7300001.1', modality: 'CT', slices: SLICES }] })
  const sent = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(A.peer.dicom?.address()?.port), ...files], 120_000)
  assert.is(sent.code, 0, sent.stderr)
  // Acknowledged from custody (the default): the intake puts them on the ledger right after.
  await A.peer.dicom?.settled()
  const before = await pat.myImages()
  const record = before[0].record as string
  const [oldKey] = await pat.myStudyKeys(record)
  const hospitalB = toHex(B.peer.ledger.self)
  const grant = async (): Promise<string> => {
    const { id } = await pat.grant({ grantee: hospitalB, kind: 'hospital', purpose: 'treatment', expires: Date.now() + 3_600_000, scope: { kind: 'record', record: fromHex(record) }, images: (await pat.myImages()).map(i => i.raw) })
    await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(id)) !== undefined, 'the grant at B', 20_000)
    return id
  }
  const first = await grant()
  const doc = await user(B, 'sk-rk-doc', 'clinician')
  assert.is((await doc.patientImages(pid)).length, SLICES)

  // Revoke and re-key: the custodian re-encrypts every instance under a fresh study key.
  await pat.revoke(first, hospitalB, 'treatment', { rekey: true })
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.studyImages(fromHex(pid), fromHex(record))).every(i => i.replaces !== undefined), 'the re-keyed instances at B', 60_000)
  await rejects(async () => await doc.patientImages(pid), 'NO_CONSENT')
  const after = await pat.myImages()
  assert.is(after.length, SLICES)
  assert.ok(after.every(i => !before.some(b => b.raw === i.raw)), 'new ciphertext')
  const kids = new Set(after.map(i => i.study?.kid))
  assert.is(kids.size, 1)
  assert.not.ok(kids.has(oldKey.kid), 'not sealed under the key the revoked grantee held')
  assert.is((await pat.myStudyKeys(record)).length, 2, 'the fresh key is recorded beside the old one')

  // A new grant carries the fresh key alone and opens the re-keyed instances.
  await grant()
  const [consent] = (await B.peer.ledger.queries.consentsOf(fromHex(pid))).filter(c => c.action === 'grant')
  assert.equal(consent.studies?.map(s => toHex(s.kid)), [...kids])
  const seen = await doc.patientImages(pid)
  assert.is(seen.length, SLICES)
  assert.is(String.fromCharCode(...(await doc.openImage(seen[0])).subarray(128, 132)), 'DICM')
})

test.run()
