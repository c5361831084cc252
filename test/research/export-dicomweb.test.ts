// Research exports over DICOMweb, pulled with a standard client (dicomweb-client) from two real
// peers (docs/api.md "Research exports over DICOMweb"). The researcher prepares a project's
// export; QIDO-RS finds its de-identified studies, series and instances, and WADO-RS returns each
// instance byte for byte as the zip export carries it, under the same export id and with its uses
// on the ledger. Refused: no credential, another researcher, a token of another project's export,
// an ended export, a token once the researcher's sessions were ended. Left out: a hospital that refused the project, and a patient who revokes the
// research consent after the export was prepared.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex } from '../../protocol/bytes.ts'
import type { MedichainClient } from '../../protocol/client/client.ts'
import { ResearchClient } from '../../protocol/client/research.ts'
import { readInstanceHeader } from '../../node/dicom/catalogue/instance-header.ts'
import { rejects } from '../helpers/assert.ts'
import { api } from '../helpers/imaging/dicomweb.ts'
import type { DicomwebClient } from '../helpers/imaging/dicomweb.ts'
import { cleanup } from '../helpers/ledger/fixture.ts'
import { untilLedger } from '../helpers/ledger/until.ts'
import { startHospitals, stopHospitals, user } from '../helpers/peers/peers.ts'
import type { Hospital } from '../helpers/peers/peers.ts'
import { unzip } from '../helpers/unzip.ts'
import { phiDicom } from './deid-fixture.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const YEAR = 365 * 86_400_000
const PROJECT = {
  title: 'DICOMweb pull study', purpose: 'Pull the cohort with a viewer', options: { modifiedDates: true, cleanDescriptors: true },
  criteria: { modalities: [], from: null, to: null, labelled: null, scoreMin: null, scoreMax: null }
}
const value = (ds: Record<string, { Value?: unknown[] }>, tag: string): unknown => ds[tag]?.Value?.[0]

let n = 0
async function upload (doc: MedichainClient, patient: MedichainClient): Promise<string> {
  n++
  const bytes = phiDicom({ sopUid: `1.2.826.0.1.3680043.8.498.${8000 + n}`, name: `WEB^PATIENT${n}`, mrn: `MRN88${n}`, rows: 32, columns: 32 })
  return String((await doc.upload(String(patient.user?.patientId), bytes, `w${n}.dcm`) as { raw?: string }).raw)
}

function client (h: Hospital, base: string, token: string): DicomwebClient {
  return new api.DICOMwebClient({ url: `${h.url}${base}`, headers: { Authorization: `Bearer ${token}` } })
}

/** The status of a DICOMweb GET with a bearer token (refusals are checked over plain fetch: dicomweb-client prints every failed request). */
const statusOf = async (h: Hospital, path: string, token: string): Promise<number> => (await fetch(`${h.url}${path}`, { headers: { Authorization: `Bearer ${token}`, Accept: 'multipart/related; type="application/dicom"' } })).status

test('a prepared export pulled over QIDO-RS and WADO-RS: the zip\'s bytes, its uses logged, and every refusal', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const researcher = await user(A, 'res-w', 'researcher')
  const other = await user(A, 'res-w2', 'researcher')
  const docA = await user(A, 'doc-wa', 'clinician')
  const docB = await user(B, 'doc-wb', 'clinician')
  const [general, named, none] = await Promise.all(['general', 'named', 'none'].map(async k => await user(A, `pat-w-${k}`, 'patient')))
  await upload(docA, general)
  await upload(docA, named)
  await upload(docA, none)
  await upload(docB, general)
  await untilLedger(A.peer.ledger, async () => (await A.peer.ledger.queries.imagesOf(fromHex(String(general.user?.patientId)))).length === 2, 'B\'s image reaches A', 30_000)

  const research = new ResearchClient(researcher)
  const { id: project } = await research.create(PROJECT)
  const { id: another } = await research.create({ ...PROJECT, title: 'Another pull' })
  for (const p of [project, another]) {
    await new ResearchClient(A.admin).decide(p, true)
    await new ResearchClient(B.admin).decide(p, false)
  }
  await untilLedger(A.peer.ledger, async () => (await A.peer.ledger.queries.decisions(fromHex(another))).length === 2, 'B\'s refusals reach A', 30_000)
  const grantee = String(researcher.user?.signPub)
  await general.grant({ grantee, kind: 'user', purpose: 'research', expires: Date.now() + YEAR })
  const { id: namedConsent } = await named.grant({ grantee, kind: 'user', purpose: 'research', expires: Date.now() + YEAR, project })

  // The zip first, then the same export prepared for DICOMweb: the same export id.
  const zip = await research.export(project)
  const files = await unzip(zip.bytes)
  const dcm = await Promise.all(files.names.filter(f => f.endsWith('.dcm')).map(async f => new Uint8Array(await files.read(f))))
  assert.is(dcm.length, 2, 'the general consenter\'s image at A and the project consenter\'s; none from B, which refused')
  const usesBefore = (await research.exports(project))[0].images
  const prepared = await research.prepareDicomweb(project, 30)
  assert.is(prepared.export, zip.exportId, 'the same project and consents: the same export')
  assert.equal([prepared.instances, prepared.held, prepared.skipped], [2, 0, 0])
  assert.ok(prepared.token.startsWith('mcrx_'))
  const history = await research.exports(project)
  assert.is(history.length, 1)
  assert.is(history[0].images, usesBefore + 2, 'preparing logs each image\'s use, as the zip does')
  const again = await research.prepareDicomweb(project, 30)
  assert.is(again.export, prepared.export)
  assert.is((await research.exports(project))[0].images, usesBefore + 2, 'the same export prepared again runs (and logs) nothing more')

  // QIDO-RS finds the de-identified instances; WADO-RS returns the zip's bytes for each.
  const web = client(A, prepared.base, prepared.token)
  const instances = await web.searchForInstances({})
  assert.is(instances.length, 2)
  const studies = await web.searchForStudies()
  assert.ok(studies.length >= 1)
  for (const s of studies) assert.not.ok(JSON.stringify(s).includes('WEB^PATIENT'), 'no name in a QIDO answer')
  for (const bytes of dcm) {
    const h = readInstanceHeader(bytes)
    const ids = { studyInstanceUID: h.study.uid, seriesInstanceUID: h.series.uid, sopInstanceUID: h.instance.uid }
    assert.ok(instances.some(i => value(i, '00080018') === h.instance.uid), 'QIDO lists the zip\'s SOP Instance UIDs')
    assert.equal(new Uint8Array(await web.retrieveInstance(ids)), bytes, 'WADO-RS returns the zip\'s bytes')
    const [meta] = await web.retrieveInstanceMetadata(ids)
    assert.is(value(meta, '00100020'), h.patient.mrn, 'Patient ID is the pseudonym')
    assert.ok(String((meta['7FE00010'] as { BulkDataURI?: string }).BulkDataURI).includes(`${prepared.base}/studies/${h.study.uid}`), 'bulk data under the export\'s root')
  }
  // The researcher's own session reads it too.
  const bySession = await researcher.request('GET', `${prepared.base}/instances`)
  assert.is((await bySession.json() as unknown[]).length, 2)

  // Refusals: no credential, a bad token, another researcher, a token of another project's export.
  const bare = await fetch(`${A.url}${prepared.base}/studies`)
  assert.is(bare.status, 401)
  assert.match(String(bare.headers.get('www-authenticate')), /^Bearer/)
  assert.is(await statusOf(A, `${prepared.base}/studies`, `mcrx_${'0'.repeat(16)}_${'A'.repeat(43)}`), 401)
  await rejects(async () => await other.request('GET', `${prepared.base}/studies`), 'NOT_FOUND')
  await rejects(async () => await new ResearchClient(other).prepareDicomweb(project), 'FORBIDDEN')
  const elsewhere = await research.prepareDicomweb(another)
  assert.is.not(elsewhere.export, prepared.export)
  assert.is(await statusOf(A, `${prepared.base}/studies`, elsewhere.token), 403, 'a token of another project\'s export')
  assert.is(await statusOf(A, `${elsewhere.base}/instances`, prepared.token), 403)
  assert.is((await client(A, elsewhere.base, elsewhere.token).searchForInstances({})).length, 1, 'the other project has only the general consenter\'s image')

  // A revoke after the export was prepared: the patient's instance is gone from QIDO and WADO.
  const revoke = await named.revoke(namedConsent, grantee, 'research')
  await untilLedger(A.peer.ledger, async () => await A.peer.ledger.tx(fromHex(revoke.id)) !== undefined, 'the revoke reaches A', 30_000)
  const left = await web.searchForInstances({})
  assert.is(left.length, 1, 'the revoked patient\'s instance is gone; the general consenter\'s stays')
  const gone = dcm.find(b => !left.some(i => value(i, '00080018') === readInstanceHeader(b).instance.uid))
  assert.ok(gone !== undefined)
  const g = readInstanceHeader(gone)
  assert.is(await statusOf(A, `${prepared.base}/studies/${g.study.uid}/series/${g.series.uid}/instances/${g.instance.uid}`, prepared.token), 404)

  // Ended: the other export and its token are gone.
  await research.endDicomweb(elsewhere.export)
  assert.is(await statusOf(A, `${elsewhere.base}/instances`, elsewhere.token), 401)
  await rejects(async () => await researcher.request('GET', `${elsewhere.base}/instances`), 'NOT_FOUND')
  assert.is(await statusOf(A, `${prepared.base}/instances`, prepared.token), 200, 'this one stays')

  // An admin ends the researcher's sessions: the export's token ends with them.
  await A.admin.endSessions('res-w')
  assert.is(await statusOf(A, `${prepared.base}/instances`, prepared.token), 401)
})

test.run()
