// Orthanc as the hospital's PACS (issue 13, "How it must be shown"): a real Orthanc (Debian
// package), started by the test on free ports with temp storage, C-STOREs a study to the peer,
// which files it for the linked patient; the study is then deleted from Orthanc, which finds it
// on the peer with C-FIND and C-MOVEs it back: every instance returns with its data set unchanged.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fromHex } from '../../../protocol/bytes.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { PHI_BIRTH_DATE, PHI_NAME } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { dataSetDump, dcmtk, freePort, writeStudy } from '../../helpers/imaging/dicom.ts'
import type { StudySpec } from '../../helpers/imaging/dicom.ts'
import { startOrthanc } from '../../../scripts/orthanc.ts'
import type { Orthanc } from '../../../scripts/orthanc.ts'

let A: Hospital
let pacs: Orthanc
let dir: string

const STUDY: StudySpec = {
  mrn: 'MRN-PACS-1', name: PHI_NAME, birthDate: PHI_BIRTH_DATE, uid: '2.25.3000003', description: 'SYNTH PACS STUDY',
  series: [{ uid: '2.25.3000003.1', modality: 'CT', slices: 6 }, { uid: '2.25.3000003.2', modality: 'CT', slices: 2 }]
}

test.before(async () => {
  dir = await tempDir('medichain-orthanc-test-')
  const peerPort = await freePort()
  pacs = await startOrthanc({ modalities: [{ name: 'medichain', aeTitle: 'MEDICHAIN', host: '127.0.0.1', port: peerPort }] })
  ;[A] = await startHospitals(1, { dicom: { port: peerPort, allowed: [{ aeTitle: pacs.aeTitle, address: '127.0.0.1', port: pacs.dicomPort }] } })
})

test.after(async () => {
  await stopHospitals([A])
  await pacs.stop()
  await cleanup()
})

test('Orthanc C-STOREs a study to the peer, then finds it there and C-MOVEs it back', async () => {
  const patient = await user(A, 'pacs-patient', 'patient')
  await A.peer.dicom?.linkPatient(STUDY.mrn, fromHex(patient.user?.patientId as string))
  const files = await writeStudy(join(dir, 'study'), STUDY)
  for (const f of files) await pacs.rest('POST', '/instances', new Uint8Array(await readFile(f)))
  const [orthancStudy] = await pacs.rest('GET', '/studies') as string[]

  // The PACS sends the study to the peer (C-STORE, one association).
  const sent = await pacs.rest('POST', '/modalities/medichain/store', { Resources: [orthancStudy], Synchronous: true }) as { InstancesCount: number, FailedInstancesCount: number }
  assert.is(sent.FailedInstancesCount, 0)
  assert.is(sent.InstancesCount, 8)
  // Acknowledged from custody (the default): the intake puts them on the ledger right after.
  await A.peer.dicom?.settled()
  const images = await patient.myImages()
  assert.is(images.length, 8, 'the peer filed all 8 instances for the linked patient')
  assert.is(new Set(images.map(i => i.record)).size, 1, 'in one study')
  assert.is(new Set(images.map(i => i.dicom?.series)).size, 2, 'of two series')

  // The PACS loses it, finds it on the peer (C-FIND) and pulls it back (C-MOVE to itself).
  await pacs.rest('DELETE', `/studies/${orthancStudy}`)
  assert.equal(await pacs.rest('GET', '/studies'), [])
  const query = await pacs.rest('POST', '/modalities/medichain/query', { Level: 'Study', Query: { StudyInstanceUID: STUDY.uid, PatientName: '', StudyDescription: '' } }) as { ID: string }
  const answers = await pacs.rest('GET', `/queries/${query.ID}/answers?expand`) as Array<Record<string, { Value: string }>>
  assert.is(answers.length, 1, 'the peer answers the PACS\'s C-FIND')
  assert.is(answers[0]['0010,0010']?.Value, PHI_NAME)
  assert.is(answers[0]['0008,1030']?.Value, 'SYNTH PACS STUDY')
  await pacs.rest('POST', `/queries/${query.ID}/retrieve`, { TargetAet: pacs.aeTitle, Synchronous: true })

  const back = await pacs.rest('GET', '/instances') as string[]
  assert.is(back.length, 8, 'all 8 instances are back in the PACS')
  const out = join(dir, 'back')
  await mkdir(out)
  const original = new Map<string, string>()
  for (const f of files) original.set(f.split('/').at(-1)?.replace(/\.dcm$/, '') ?? '', await dataSetDump(f))
  for (const id of back) {
    const path = join(out, `${id}.dcm`)
    const res = await fetch(`${pacs.url}/instances/${id}/file`)
    await writeFile(path, new Uint8Array(await res.arrayBuffer()))
    const tags = await pacs.rest('GET', `/instances/${id}/simplified-tags`) as { SOPInstanceUID: string }
    const want = original.get(tags.SOPInstanceUID)
    assert.ok(want !== undefined, `instance ${tags.SOPInstanceUID} is one that was sent`)
    assert.is(await dataSetDump(path), want, `${tags.SOPInstanceUID}: the same data set`)
  }
  // Each instance the PACS pulled is a read on the ledger the patient sees, and its C-FIND one listing.
  const audit = (await patient.myAudit()).filter(e => e.basis === 'custodian')
  assert.is(audit.filter(e => e.use === 'open').length, 8)
  assert.is(audit.filter(e => e.use === 'list').length, 1)
})

test.run()
