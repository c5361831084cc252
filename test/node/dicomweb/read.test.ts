// QIDO-RS and WADO-RS (PS3.18 §10.4, §10.6) from a standard client (dicomweb-client) on two real
// hospitals. At hospital A, where the study was stored, its clinician finds it by patient name and
// modality and retrieves instances, metadata, a frame and a rendered image, each read logged on the
// ledger for the patient. At hospital B the study is invisible and refused until the patient grants
// B's clinician a consent; then it appears over QIDO and WADO, and is gone again once revoked.
// No log line of either peer carries the patient's name, MRN or a UID.
import { Writable } from 'node:stream'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex } from '../../../protocol/bytes.ts'
import { createLogger } from '../../../node/logger.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { ctInstance, dicomwebClient, viewerToken } from '../../helpers/imaging/dicomweb.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { waitFor } from '../../helpers/timeout.ts'
import { PHI_NAME } from '../../helpers/imaging/images.ts'

let hospitals: Hospital[] = []

test.after(async () => {
  await stopHospitals(hospitals)
  await cleanup()
})

const STUDY = '2.25.5501'
const SERIES = '2.25.5502'
const uids = (n: number): { study: string, series: string, instance: string } => ({ study: STUDY, series: SERIES, instance: `2.25.5503${n}` })
const value = (ds: Record<string, { Value?: unknown[] }>, tag: string): unknown => ds[tag]?.Value?.[0]

test('A reads its own study; B sees it only under the patient\'s consent', async () => {
  const lines: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString('utf8')); done() } })
  hospitals = await startHospitals(2, { logger: createLogger({ level: 'debug', destination: sink }), dicom: {} })
  const [A, B] = hospitals
  const patient = await user(A, 'dw-patient', 'patient')
  const pid = patient.user?.patientId as string
  const docA = await user(A, 'dw-doc-a', 'clinician')
  const docB = await user(B, 'dw-doc-b', 'clinician')
  await docA.request('POST', '/api/dicom/links', { mrn: 'MRN-DW-1', patientId: pid })
  const datasets = [1, 2, 3].map(n => ctInstance('MRN-DW-1', uids(n), 40 + n, n))
  const a = dicomwebClient(A.url, (await viewerToken(docA, { scope: ['read', 'write'] })).token)
  await a.storeInstances({ datasets })

  // QIDO at A: study, series and instance level, matching by name (wildcard) and modality.
  const studies = await a.searchForStudies({ queryParams: { PatientName: 'SYNTH^SECRET*', ModalitiesInStudy: 'CT' } })
  assert.is(studies.length, 1)
  assert.is(value(studies[0], '0020000D'), STUDY)
  assert.equal(value(studies[0], '00100010'), { Alphabetic: PHI_NAME })
  assert.is(value(studies[0], '00201208'), 3)
  assert.is((await a.searchForStudies({ queryParams: { PatientName: 'NOBODY*' } })).length, 0, 'no match')
  assert.is((await a.searchForSeries({ studyInstanceUID: STUDY })).length, 1)
  const instances = await a.searchForInstances({ studyInstanceUID: STUDY, seriesInstanceUID: SERIES })
  assert.equal(instances.map(i => value(i, '00080018')), [1, 2, 3].map(n => uids(n).instance), 'in instance order')

  // WADO at A: the instance as stored, its metadata, a frame, a rendered PNG; each read logged.
  const before = (await A.peer.ledger.queries.auditOf(fromHex(pid))).length
  const got = await a.retrieveInstance({ studyInstanceUID: STUDY, seriesInstanceUID: SERIES, sopInstanceUID: uids(2).instance })
  assert.equal(new Uint8Array(got), new Uint8Array(datasets[1]), 'the instance comes back byte for byte')
  const [meta] = await a.retrieveInstanceMetadata({ studyInstanceUID: STUDY, seriesInstanceUID: SERIES, sopInstanceUID: uids(2).instance })
  assert.equal(value(meta, '00100010'), { Alphabetic: PHI_NAME })
  assert.is(value(meta, '00280010'), 64)
  assert.ok('BulkDataURI' in (meta['7FE00010'] as object), 'pixel data as a bulk data URI')
  const [frame] = await a.retrieveInstanceFrames({ studyInstanceUID: STUDY, seriesInstanceUID: SERIES, sopInstanceUID: uids(2).instance, frameNumbers: [1] })
  assert.is(frame.byteLength, 64 * 64 * 2, 'one native 64×64 16-bit frame')
  // dicomweb-client 0.11.3 answers a single-part body as a list of one buffer.
  const rendered = await a.retrieveInstanceRendered({ studyInstanceUID: STUDY, seriesInstanceUID: SERIES, sopInstanceUID: uids(2).instance, mediaTypes: [{ mediaType: 'image/png' }] })
  const png = new Uint8Array(Array.isArray(rendered) ? rendered[0] : rendered)
  assert.equal([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG')
  const after = await A.peer.ledger.queries.auditOf(fromHex(pid))
  assert.ok(after.length >= before + 4, `each WADO read is on the ledger for the patient (${after.length - before} logs)`)

  // A token scoped to another study sees nothing of this one and is refused on its URLs.
  const narrow = dicomwebClient(A.url, (await viewerToken(docA, { study: '2.25.424242' })).token)
  assert.is((await narrow.searchForStudies()).length, 0, 'a study-scoped token finds only its study')
  const outside = await narrow.retrieveInstance({ studyInstanceUID: STUDY, seriesInstanceUID: SERIES, sopInstanceUID: uids(1).instance }).then(() => 200, (err: { status?: number }) => err.status)
  assert.is(outside, 403, 'a study-scoped token is refused on another study')

  // B before any consent: nothing found, the instance refused.
  const b = dicomwebClient(B.url, (await viewerToken(docB)).token)
  await waitFor(async () => (await B.peer.ledger.queries.imagesOf(fromHex(pid))).length === 3, { timeout: 20_000, what: 'the study\'s records to reach B' })
  assert.is((await b.searchForStudies()).length, 0, 'B sees no study before the consent')
  const refused = await b.retrieveInstance({ studyInstanceUID: STUDY, seriesInstanceUID: SERIES, sopInstanceUID: uids(1).instance }).then(() => 200, (err: { status?: number }) => err.status)
  assert.is(refused, 404, 'B cannot retrieve it')

  // The patient grants B's clinician treatment access: the study appears at B over QIDO and WADO.
  await waitFor(async () => await A.peer.ledger.queries.account(fromHex(docB.user?.signPub as string)) !== undefined, { timeout: 20_000, what: 'B\'s clinician to reach A' })
  const { id } = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 3_600_000 })
  await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(id)) !== undefined, 'the consent to reach B', 20_000)
  const atB = await b.searchForStudies({ queryParams: { StudyInstanceUID: STUDY } })
  assert.is(atB.length, 1, 'B finds the study once consented')
  assert.equal(value(atB[0], '00100010'), { Alphabetic: PHI_NAME })
  const fromB = await b.retrieveInstance({ studyInstanceUID: STUDY, seriesInstanceUID: SERIES, sopInstanceUID: uids(1).instance })
  assert.equal(new Uint8Array(fromB), new Uint8Array(datasets[0]), 'B retrieves the instance as stored at A')

  // Revoked: gone again.
  const revoked = await patient.revoke(id, docB.user?.signPub as string)
  await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(revoked.id)) !== undefined, 'the revoke to reach B', 20_000)
  assert.is((await b.searchForStudies()).length, 0, 'revoked: B sees nothing')

  // No PHI or UID of the headers in any log line of either peer (the access log names route templates).
  const log = lines.join('')
  assert.ok(log.includes('/dicomweb/studies/:study/series/:series/instances/:instance') && log.includes('STOW-RS request filed'), 'the DICOMweb requests were logged')
  for (const probe of [PHI_NAME, 'MRN-DW-1', STUDY, SERIES, uids(1).instance, uids(2).instance]) assert.not.ok(log.includes(probe), `a log line contains ${probe}`)
})

test.run()
