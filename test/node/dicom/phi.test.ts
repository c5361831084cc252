// No PHI from DICOM headers leaves the hospital (issue 13): instances are C-STOREd for a linked
// patient and into custody, then every ledger byte on both peers, every gossip message, every log
// line and the patient index's files on disk are scanned for the name, birth date, MRNs and UIDs.
// The study date and descriptions go into the image's sealed card (issue 12), and nowhere in clear.
// The query/retrieve and desk paths run too before the scan: C-FIND by name, C-GET of the study,
// the desk's search by MRN and name, and an enrolment code (which must not be logged either).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fromHex } from '../../../protocol/bytes.ts'
import { createLogger } from '../../../node/logger.ts'
import { SOP_CLASS } from '../../../node/imaging/constants.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { toUint16 } from '../../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'
import { PHI_BIRTH_DATE, PHI_NAME, SERIES_DESCRIPTION, STUDY_DATE, STUDY_DESCRIPTION, testImages } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { dcmtk } from '../../helpers/imaging/dicom.ts'
import { findHospitalPatients, issueEnrolmentCode } from '../../../protocol/client/desk.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const HELD = { mrn: 'MRN-HELD-7731', sop: '2.25.77310000000000000000000000001', study: '2.25.77310000000000000000000000002', series: '2.25.77310000000000000000000000003' }
const PROBES: string[] = [PHI_NAME, PHI_BIRTH_DATE, 'MRN-0042', '2.25.1001', '2.25.1002', '2.25.1003', HELD.mrn, HELD.sop, HELD.study, HELD.series, STUDY_DATE, STUDY_DESCRIPTION, SERIES_DESCRIPTION]

function containsNone (haystack: Uint8Array, label: string): void {
  const buf = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength)
  for (const probe of PROBES) assert.is(buf.indexOf(probe, 0, 'latin1'), -1, `${label} contains ${probe}`)
}

/** Every file under `dir`, recursively. */
async function filesUnder (dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...await filesUnder(p))
    else out.push(p)
  }
  return out
}

test('no PatientName, PatientID, BirthDate or UID in ledger bytes, gossip, logs or the index at rest', async () => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done() } })
  hospitals = await startHospitals(2, { logger: createLogger({ level: 'debug', destination: sink }), dicom: {} })
  const gossip: Uint8Array[] = []
  for (const h of hospitals) h.peer.p2p.libp2p.services.pubsub.addEventListener('message', (e) => { gossip.push(e.detail.data) })
  const [A, B] = hospitals
  const port = String(A.peer.dicom?.address()?.port)
  const dir = await tempDir('medichain-dicom-phi-')

  const patient = await user(A, 'dicom-phi-pat', 'patient')
  await A.peer.dicom?.linkPatient('MRN-0042', fromHex(patient.user?.patientId as string))
  const linked = join(dir, 'linked.dcm')
  await writeFile(linked, testImages().dicom)
  const held = join(dir, 'held.dcm')
  await writeFile(held, encodeDicom({
    rows: 64, columns: 64, bitsAllocated: 16, bitsStored: 12, pixels: toUint16(generatePhantom(5, { size: 64 }).pixels, 12), modality: 'MR', sopClassUid: SOP_CLASS.ct,
    sopInstanceUid: HELD.sop, studyInstanceUid: HELD.study, seriesInstanceUid: HELD.series, patient: { name: PHI_NAME, id: HELD.mrn, birthDate: PHI_BIRTH_DATE }
  }))
  const store = await dcmtk('storescu', ['-aet', 'MODALITY', '-aec', 'MEDICHAIN', '127.0.0.1', port, linked, held])
  assert.is(store.code, 0, store.stderr)
  const refused = await dcmtk('echoscu', ['-aec', 'NOT-US', '127.0.0.1', port])
  assert.is.not(refused.code, 0)
  // Acknowledged from custody (the default): the intake puts it on the ledger right after.
  await A.peer.dicom?.settled()
  const images = await patient.myImages()
  assert.is(images.length, 1)
  const card = await patient.imageCard(images[0])
  assert.is(card?.date, '2026-12-06T14:15', 'the C-STOREd instance\'s card has its study date')
  assert.is(card?.description, `${STUDY_DESCRIPTION} — ${SERIES_DESCRIPTION}`)
  assert.is(card?.modality, 'CT')
  assert.ok(card?.thumbnail !== undefined)
  // Query/retrieve: a C-FIND by name and a C-GET of the study (each retrieved instance is logged on the ledger).
  const found = await dcmtk('findscu', ['-S', '-aet', 'PACS', '-aec', 'MEDICHAIN', '-k', 'QueryRetrieveLevel=STUDY', '-k', `PatientName=${PHI_NAME.slice(0, 8)}*`, '-k', 'StudyInstanceUID', '127.0.0.1', port])
  assert.is(found.code, 0, found.stderr)
  const got = join(dir, 'got')
  await mkdir(got)
  const get = await dcmtk('getscu', ['-S', '-aet', 'PACS', '-aec', 'MEDICHAIN', '-od', got, '-k', 'QueryRetrieveLevel=STUDY', '-k', 'StudyInstanceUID=2.25.1002', '127.0.0.1', port])
  assert.is(get.code, 0, get.stderr)
  assert.is((await readdir(got)).length, 1, 'the study came back')
  // The desk: search by MRN and by name, and an enrolment code for the held MRN.
  assert.is((await findHospitalPatients(A.admin, HELD.mrn)).length, 1)
  assert.is((await findHospitalPatients(A.admin, 'secret name')).length, 2)
  const { code } = await issueEnrolmentCode(A.admin, HELD.mrn)
  PROBES.push(code, code.replace(/-/g, ''))
  await waitFor(() => B.peer.ledger.size() === A.peer.ledger.size(), { timeout: 10_000, what: 'ledgers to converge' })

  for (const h of hospitals) {
    const blocks = await h.peer.ledger.blocksAfter([], 100_000)
    assert.ok(blocks.length > 0)
    for (const block of blocks) containsNone(block, `a ledger block at ${h.name}`)
  }
  assert.ok(gossip.length > 0, 'gossip was captured')
  for (const [i, msg] of gossip.entries()) containsNone(msg, `gossip message ${i}`)
  assert.ok(lines.some(l => l.includes('held in custody')) && lines.some(l => l.includes('ingested')), 'the DICOM path logged')
  assert.ok(lines.some(l => l.includes('C-FIND answered')) && lines.some(l => l.includes('C-GET done')) && lines.some(l => l.includes('enrolment code issued')), 'query/retrieve and the desk logged')
  containsNone(new TextEncoder().encode(lines.join('')), 'the log')
  for (const file of await filesUnder(join(A.data, 'dicom'))) containsNone(new Uint8Array(await readFile(file)), file)
})

test.run()
