// Query/retrieve against dcmtk (issue 13 item 1): findscu at patient, study, series and image
// level in the patient-root and study-root models, getscu and movescu of a study, a series and one
// instance, each retrieved instance byte-identical in its data set and logged on the ledger for
// the patient; an unknown move destination and a level the model lacks are refused; a hospital
// whose policy closes its own images to its staff finds and retrieves nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fromHex } from '../../../protocol/bytes.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { PHI_BIRTH_DATE, PHI_NAME } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { dataSetDump, dcmtk, freePort, tagOf, writeStudy } from '../../helpers/imaging/dicom.ts'
import type { StudySpec } from '../../helpers/imaging/dicom.ts'

let A: Hospital
let dir: string
let port: number
let movePort: number
let patientAudit: () => Promise<Array<Record<string, unknown>>>

const STUDY: StudySpec = {
  mrn: 'MRN-QR-1', name: PHI_NAME, birthDate: PHI_BIRTH_DATE, uid: '2.25.1000001', date: '20261203', description: 'SYNTH CHEST',
  series: [{ uid: '2.25.1000001.1', modality: 'CT', slices: 5 }, { uid: '2.25.1000001.2', modality: 'MR', slices: 2 }]
}
const OTHER: StudySpec = {
  mrn: 'MRN-QR-2', name: 'SYNTH^OTHER^PERSON', birthDate: '19800202', uid: '2.25.2000002', date: '20250101',
  series: [{ uid: '2.25.2000002.1', modality: 'CT', slices: 1 }]
}

test.before(async () => {
  movePort = await freePort()
  ;[A] = await startHospitals(1, { dicom: { allowed: [{ address: '127.0.0.1' }, { aeTitle: 'MOVESCU', address: '127.0.0.1', port: movePort }] } })
  dir = await tempDir('medichain-dicom-qr-')
  const address = A.peer.dicom?.address()
  if (address === undefined) throw new Error('DICOM listener not started')
  port = address.port
  for (const spec of [STUDY, OTHER]) {
    const patient = await user(A, `qr-${spec.mrn.toLowerCase()}`, 'patient')
    await A.peer.dicom?.linkPatient(spec.mrn, fromHex(patient.user?.patientId as string))
    if (spec === STUDY) patientAudit = async () => await patient.myAudit()
    const files = await writeStudy(join(dir, spec.mrn), spec)
    const store = await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...files], 120_000)
    assert.is(store.code, 0, store.stderr)
  }
})

test.after(async () => {
  await stopHospitals([A])
  await cleanup()
})

let runs = 0
/** Runs findscu with `keys`; returns the dcmdump text of each response. */
async function find (model: '-P' | '-S', keys: string[]): Promise<string[]> {
  const out = join(dir, `find-${++runs}`)
  await mkdir(out)
  const r = await dcmtk('findscu', [model, '-aec', 'MEDICHAIN', '-X', '-od', out, ...keys.flatMap(k => ['-k', k]), '127.0.0.1', String(port)])
  assert.is(r.code, 0, r.stderr)
  const dumps: string[] = []
  for (const f of (await readdir(out)).sort()) dumps.push((await dcmtk('dcmdump', [join(out, f)])).stdout)
  return dumps
}

test('C-FIND at patient, study, series and image level, patient root and study root', async () => {
  const patients = await find('-P', ['QueryRetrieveLevel=PATIENT', 'PatientID=MRN-QR-1', 'PatientName', 'PatientBirthDate', 'NumberOfPatientRelatedStudies'])
  assert.is(patients.length, 1)
  assert.is(tagOf(patients[0], '0010,0010'), PHI_NAME)
  assert.is(tagOf(patients[0], '0010,0030'), PHI_BIRTH_DATE)
  assert.is(tagOf(patients[0], '0020,1200'), '1')

  const byName = await find('-S', ['QueryRetrieveLevel=STUDY', 'PatientName=synth^secret*', 'StudyInstanceUID', 'StudyDate', 'StudyDescription', 'ModalitiesInStudy', 'NumberOfStudyRelatedSeries', 'NumberOfStudyRelatedInstances'])
  assert.is(byName.length, 1, 'a wildcard on the name finds the one study')
  assert.is(tagOf(byName[0], '0020,000d'), STUDY.uid)
  assert.is(tagOf(byName[0], '0008,0020'), '20261203')
  assert.is(tagOf(byName[0], '0008,1030'), 'SYNTH CHEST')
  assert.is(tagOf(byName[0], '0008,0061'), 'CT\\MR')
  assert.is(tagOf(byName[0], '0020,1206'), '2')
  assert.is(tagOf(byName[0], '0020,1208'), '7')

  const byDate = await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyDate=20260101-', 'StudyInstanceUID'])
  assert.equal(byDate.map(d => tagOf(d, '0020,000d')), [STUDY.uid], 'a date range leaves the 2025 study out')
  const all = await find('-S', ['QueryRetrieveLevel=STUDY', 'StudyInstanceUID'])
  assert.is(all.length, 2, 'universal matching lists both studies')

  const series = await find('-S', ['QueryRetrieveLevel=SERIES', `StudyInstanceUID=${STUDY.uid}`, 'SeriesInstanceUID', 'Modality', 'NumberOfSeriesRelatedInstances'])
  assert.equal(series.map(d => [tagOf(d, '0020,000e'), tagOf(d, '0008,0060'), tagOf(d, '0020,1209')]).sort(), [[STUDY.series[0].uid, 'CT', '5'], [STUDY.series[1].uid, 'MR', '2']])

  const images = await find('-P', ['QueryRetrieveLevel=IMAGE', 'PatientID=MRN-QR-1', `StudyInstanceUID=${STUDY.uid}`, `SeriesInstanceUID=${STUDY.series[0].uid}`, 'SOPInstanceUID', 'InstanceNumber'])
  assert.equal(images.map(d => Number(tagOf(d, '0020,0013'))).sort((a, b) => a - b), [1, 2, 3, 4, 5])
  assert.equal(images.map(d => tagOf(d, '0008,0018')).sort(), [1, 2, 3, 4, 5].map(n => `${STUDY.series[0].uid}.${n}`).sort())

  const none = await find('-S', ['QueryRetrieveLevel=STUDY', 'PatientID=MRN-NOBODY', 'StudyInstanceUID'])
  assert.is(none.length, 0)
})

test('C-FIND at PATIENT level in the study-root model is refused; the peer keeps answering', async () => {
  const r = await dcmtk('findscu', ['-v', '-S', '-aec', 'MEDICHAIN', '-k', 'QueryRetrieveLevel=PATIENT', '-k', 'PatientID', '127.0.0.1', String(port)])
  assert.match(r.stderr + r.stdout, /Final Find Response \(Error: DataSetDoesNotMatchSOPClass\)/)
  assert.is((await find('-P', ['QueryRetrieveLevel=PATIENT', 'PatientID=MRN-QR-2'])).length, 1)
})

test('C-GET of a study, a series and one instance: every instance comes back with its data set unchanged, and each read is on the ledger', async () => {
  const auditBefore = (await patientAudit()).length
  const out = join(dir, 'get-study')
  await mkdir(out)
  const r = await dcmtk('getscu', ['-S', '-aec', 'MEDICHAIN', '-od', out, '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${STUDY.uid}`, '127.0.0.1', String(port)], 120_000)
  assert.is(r.code, 0, r.stderr)
  const got = (await readdir(out)).sort()
  assert.is(got.length, 7, 'the whole study: 7 instances')
  const sent = await writeStudy(join(dir, 'again'), STUDY)
  for (const path of sent) {
    const uid = path.split('/').at(-1)?.replace(/\.dcm$/, '') ?? ''
    const back = got.find(f => f.includes(uid.replace(/^2\.25\./, '')) || f === `CT.${uid}` || f === `MR.${uid}`)
    assert.ok(back !== undefined, `instance ${uid} came back (${got.join(', ')})`)
    assert.is(await dataSetDump(join(out, back)), await dataSetDump(path), `${uid}: same data set`)
  }
  // Each retrieved instance is a read by the hospital, logged on the ledger for the patient.
  const audit = await patientAudit()
  assert.is(audit.length - auditBefore, 7, 'seven access logs')
  assert.ok(audit.slice(-7).every(e => e.basis === 'custodian'))

  const seriesOut = join(dir, 'get-series')
  await mkdir(seriesOut)
  const s = await dcmtk('getscu', ['-P', '-aec', 'MEDICHAIN', '-od', seriesOut, '-k', 'QueryRetrieveLevel=SERIES', '-k', 'PatientID=MRN-QR-1', '-k', `StudyInstanceUID=${STUDY.uid}`, '-k', `SeriesInstanceUID=${STUDY.series[1].uid}`, '127.0.0.1', String(port)], 60_000)
  assert.is(s.code, 0, s.stderr)
  assert.is((await readdir(seriesOut)).length, 2, 'the MR series: 2 instances')

  const oneOut = join(dir, 'get-one')
  await mkdir(oneOut)
  const one = await dcmtk('getscu', ['-S', '-aec', 'MEDICHAIN', '-od', oneOut, '-k', 'QueryRetrieveLevel=IMAGE', '-k', `StudyInstanceUID=${STUDY.uid}`, '-k', `SeriesInstanceUID=${STUDY.series[0].uid}`, '-k', `SOPInstanceUID=${STUDY.series[0].uid}.3`, '127.0.0.1', String(port)], 60_000)
  assert.is(one.code, 0, one.stderr)
  const files = await readdir(oneOut)
  assert.is(files.length, 1)
  assert.is(tagOf((await dcmtk('dcmdump', [join(oneOut, files[0])])).stdout, '0020,0013'), '3')
})

test('an instance received deflated is retrieved in Explicit VR Little Endian with the same data set', async () => {
  const spec: StudySpec = { ...OTHER, uid: '2.25.2000003', series: [{ uid: '2.25.2000003.1', modality: 'CT', slices: 2 }] }
  const files = await writeStudy(join(dir, 'deflated'), spec)
  assert.is((await dcmtk('storescu', ['-xd', '-aec', 'MEDICHAIN', '127.0.0.1', String(port), ...files])).code, 0)
  const out = join(dir, 'get-deflated')
  await mkdir(out)
  const r = await dcmtk('getscu', ['-S', '-aec', 'MEDICHAIN', '-od', out, '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${spec.uid}`, '127.0.0.1', String(port)], 60_000)
  assert.is(r.code, 0, r.stderr)
  const got = (await readdir(out)).sort()
  assert.is(got.length, 2)
  for (const [i, f] of got.entries()) {
    assert.match((await dcmtk('dcmdump', [join(out, f)])).stdout, /# Used TransferSyntax: Little Endian Explicit/)
    assert.is(await dataSetDump(join(out, f)), await dataSetDump(files[i]))
  }
})

test('C-MOVE of a series to a configured destination; an unknown destination is refused (0xA801)', async () => {
  const out = join(dir, 'move')
  await mkdir(out)
  const r = await dcmtk('movescu', ['-S', '-aet', 'MOVESCU', '-aem', 'MOVESCU', '-aec', 'MEDICHAIN', '+P', String(movePort), '-od', out,
    '-k', 'QueryRetrieveLevel=SERIES', '-k', `StudyInstanceUID=${STUDY.uid}`, '-k', `SeriesInstanceUID=${STUDY.series[0].uid}`, '127.0.0.1', String(port)], 120_000)
  assert.is(r.code, 0, r.stderr)
  const moved = await readdir(out)
  assert.is(moved.length, 5, 'the CT series: 5 instances')
  for (const f of moved) assert.is(tagOf((await dcmtk('dcmdump', [join(out, f)])).stdout, '0020,000e'), STUDY.series[0].uid)

  const refused = await dcmtk('movescu', ['-S', '-aet', 'MOVESCU', '-aem', 'NOWHERE', '-aec', 'MEDICHAIN', '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${STUDY.uid}`, '127.0.0.1', String(port)], 60_000)
  assert.match(refused.stderr + refused.stdout, /Refused: MoveDestinationUnknown/)
})

test('a hospital whose policy closes its own images to its staff finds and retrieves nothing over DICOM', async () => {
  const [B] = await startHospitals(1, { records: { custodianRead: false }, dicom: {} })
  try {
    const bPort = B.peer.dicom?.address()?.port ?? 0
    const patient = await user(B, 'qr-closed', 'patient')
    await B.peer.dicom?.linkPatient('MRN-CLOSED', fromHex(patient.user?.patientId as string))
    const files = await writeStudy(join(dir, 'closed'), { ...OTHER, mrn: 'MRN-CLOSED' })
    assert.is((await dcmtk('storescu', ['-aec', 'MEDICHAIN', '127.0.0.1', String(bPort), ...files])).code, 0)
    // Acknowledged from custody (the default): the intake puts it on the ledger right after.
    await B.peer.dicom?.settled()
    assert.is((await patient.myImages()).length, 1, 'stored for the patient')
    const out = join(dir, 'closed-find')
    await mkdir(out)
    const f = await dcmtk('findscu', ['-S', '-aec', 'MEDICHAIN', '-X', '-od', out, '-k', 'QueryRetrieveLevel=STUDY', '-k', 'StudyInstanceUID', '127.0.0.1', String(bPort)])
    assert.is(f.code, 0, f.stderr)
    assert.is((await readdir(out)).length, 0, 'nothing found')
    const got = join(dir, 'closed-get')
    await mkdir(got)
    await dcmtk('getscu', ['-S', '-aec', 'MEDICHAIN', '-od', got, '-k', 'QueryRetrieveLevel=STUDY', '-k', `StudyInstanceUID=${OTHER.uid}`, '127.0.0.1', String(bPort)])
    assert.is((await readdir(got)).length, 0, 'nothing retrieved')
    assert.is((await patient.myAudit()).length, 0, 'and nothing read')
  } finally {
    await stopHospitals([B])
  }
})

test.run()
