// The AI result of another hospital's instance over DICOMweb (issue 13 items 5 and "across
// hospitals"): once the patient consents, a clinician at hospital B finds A's study with its
// Secondary Capture and Segmentation series, retrieves the Segmentation as the same object A
// serves, and every read is logged at the patient's record; before the consent, and after its
// revocation, B sees none of it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex } from '../../../protocol/bytes.ts'
import { loadDefaultAnalyser } from '../../../node/ai/detect/default-model.ts'
import { initBackend } from '../../../node/ai/runtime/backend.ts'
import { derivedUid } from '../../../node/dicom/results/ai-result.ts'
import { SEGMENTATION_SOP_CLASS } from '../../../node/dicom/results/ai-segmentation.ts'
import { readInstanceHeader } from '../../../node/dicom/catalogue/instance-header.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { ctInstance, dicomwebClient, viewerToken } from '../../helpers/imaging/dicomweb.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'

let hospitals: Hospital[] = []
test.after(async () => {
  await stopHospitals(hospitals)
  await cleanup()
})

const STUDY = '2.25.5601'
const SERIES = '2.25.5602'
const INSTANCE = '2.25.56031'
const modality = (ds: Record<string, { Value?: unknown[] }>): unknown => ds['00080060']?.Value?.[0]

test('B finds and retrieves the result objects of A\'s instance only under the patient\'s consent', async () => {
  hospitals = await startHospitals(2, { dicom: {} })
  const [A, B] = hospitals
  await initBackend({ prefer: 'wasm' })
  const shipped = await loadDefaultAnalyser()
  assert.ok(shipped !== undefined, 'the default model ships')
  A.peer.analysers.set(shipped.analyser)
  const model = shipped.cid.toString()
  const patient = await user(A, 'rr-patient', 'patient')
  const pid = patient.user?.patientId as string
  const docA = await user(A, 'rr-doc-a', 'clinician')
  const docB = await user(B, 'rr-doc-b', 'clinician')
  await docA.request('POST', '/api/dicom/links', { mrn: 'MRN-RR-1', patientId: pid })
  const a = dicomwebClient(A.url, (await viewerToken(docA, { scope: ['read', 'write'] })).token)
  await a.storeInstances({ datasets: [ctInstance('MRN-RR-1', { study: STUDY, series: SERIES, instance: INSTANCE }, 77, 1)] })
  const seg = { studyInstanceUID: STUDY, seriesInstanceUID: derivedUid('segmentation-series', SERIES, model), sopInstanceUID: derivedUid('segmentation-instance', INSTANCE, model) }
  const atA = new Uint8Array(await a.retrieveInstance(seg))

  const b = dicomwebClient(B.url, (await viewerToken(docB)).token)
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.imagesOf(fromHex(pid))).some(i => i.result !== null), 'the analysed record to reach B', 30_000)
  assert.is((await b.searchForSeries({ studyInstanceUID: STUDY })).length, 0, 'nothing at B before the consent')
  const before = await b.retrieveInstance(seg).then(() => 200, (err: { status?: number }) => err.status)
  assert.is(before, 404, 'the Segmentation is refused at B before the consent')

  await untilLedger(A.peer.ledger, async () => await A.peer.ledger.queries.account(fromHex(docB.user?.signPub as string)) !== undefined, 'B\'s clinician to reach A', 30_000)
  const { id } = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 3_600_000 })
  await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(id)) !== undefined, 'the consent to reach B', 30_000)
  const series = await b.searchForSeries({ studyInstanceUID: STUDY })
  assert.equal(series.map(modality).sort(), ['CT', 'OT', 'SEG'], 'source, Secondary Capture and Segmentation series at B')
  const atB = new Uint8Array(await b.retrieveInstance(seg))
  assert.equal(atB, atA, 'B serves the same Segmentation as A')
  const header = readInstanceHeader(atB)
  assert.is(header.instance.sopClassUid, SEGMENTATION_SOP_CLASS)
  assert.ok(Buffer.from(atB).includes(INSTANCE), 'it references its source instance')
  const opened = (await B.peer.ledger.queries.auditOf(fromHex(pid))).filter(e => e.use === 'open' && e.image !== null)
  assert.ok(opened.length > 0, 'B\'s reads of the result are logged for the patient')

  const revoked = await patient.revoke(id, docB.user?.signPub as string)
  await untilLedger(B.peer.ledger, async () => await B.peer.ledger.tx(fromHex(revoked.id)) !== undefined, 'the revoke to reach B', 30_000)
  assert.is((await b.searchForSeries({ studyInstanceUID: STUDY })).length, 0, 'revoked: B sees none of it')
})

test.run()
