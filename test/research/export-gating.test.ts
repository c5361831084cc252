// Research exports through two real peers (docs/design.md §10): only images whose patient holds a
// live research consent naming this project or research in general, whose hospital approved the
// project, leave; no consent, a revoked consent and another project's consent each keep a patient
// out, and a refusing hospital contributes nothing. Two exports are byte-identical, every file is
// de-identified (judged by dcmdump), and the patient reads each use on the ledger.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { toHex } from '../../protocol/bytes.ts'
import { ResearchClient } from '../../protocol/client/research.ts'
import type { MedichainClient } from '../../protocol/client/client.ts'
import { dcmtk } from '../helpers/imaging/dicom.ts'
import { cleanup, tempDir } from '../helpers/ledger/fixture.ts'
import { untilLedger } from '../helpers/ledger/until.ts'
import { startHospitals, stopHospitals, user } from '../helpers/peers/peers.ts'
import { unzip } from '../helpers/unzip.ts'
import type { Hospital } from '../helpers/peers/peers.ts'
import { phiDicom } from './deid-fixture.ts'
import { frameOf } from '../../node/research/burned-in/pixels.ts'
import { readDicom } from '../../node/research/deid/deidentify.ts'
import { burnedInPhantom } from '../../scripts/synth/burn-in.ts'
import { toGray } from '../../scripts/bench/imaging/deid-score.ts'
import { rejects } from '../helpers/assert.ts'

let hospitals: Hospital[] = []
test.after.each(async () => {
  await stopHospitals(hospitals)
  hospitals = []
  await cleanup()
})

const YEAR = 365 * 86_400_000
const PROJECT = {
  title: 'Lesion detection study', purpose: 'Evaluate the detector on consented images', options: { modifiedDates: true, cleanDescriptors: true },
  criteria: { modalities: [], from: null, to: null, labelled: null, scoreMin: null, scoreMax: null }
}

/** Uploads one PHI-laden DICOM for `patient` through `clinician`; returns its raw CID. */
async function upload (clinician: MedichainClient, patient: MedichainClient, n: number): Promise<string> {
  const bytes = phiDicom({ sopUid: `1.2.826.0.1.3680043.8.498.${9000 + n}`, name: `PATIENT^NUMBER${n}`, mrn: `MRN77${n}`, rows: 32, columns: 32 })
  const out = await clinician.upload(String(patient.user?.patientId), bytes, `p${n}.dcm`) as { raw?: string, cid?: string }
  return String(out.raw ?? out.cid)
}

test('consent gating, hospital approval, reproducible bytes, de-identified files and the patient\'s audit', async () => {
  hospitals = await startHospitals(2)
  const [A, B] = hospitals
  const researcherA = await user(A, 'res-a', 'researcher')
  const docA = await user(A, 'doc-a', 'clinician')
  const docB = await user(B, 'doc-b', 'clinician')
  const patients = await Promise.all(['general', 'none', 'revoked', 'other-project', 'this-project'].map(async n => await user(A, `pat-${n}`, 'patient')))
  const [general, none, revoked, otherProject, thisProject] = patients
  for (const [i, p] of patients.entries()) await upload(docA, p, i)
  // The general consenter also has an image at B, which refuses the project.
  const atB = await upload(docB, general, 99)
  await untilLedger(A.peer.ledger, async () => (await A.peer.ledger.queries.imagesOf(Uint8Array.from(Buffer.from(String(general.user?.patientId), 'hex')))).length === 2, 'B\'s image reaches A')

  const research = new ResearchClient(researcherA)
  const { id: project } = await research.create(PROJECT)
  const { id: other } = await research.create({ ...PROJECT, title: 'Another study' })
  await new ResearchClient(A.admin).decide(project, true)
  await new ResearchClient(B.admin).decide(project, false)
  await untilLedger(A.peer.ledger, async () => (await A.peer.ledger.queries.decisions(Uint8Array.from(Buffer.from(project, 'hex')))).length === 2, 'B\'s refusal reaches A')

  const grantee = String(researcherA.user?.signPub)
  const expires = Date.now() + YEAR
  await general.grant({ grantee, kind: 'user', purpose: 'research', expires })
  await revoked.grant({ grantee, kind: 'user', purpose: 'research', expires })
  const { consents } = await revoked.myConsents()
  await revoked.revoke(String(consents.find(c => c.purpose === 'research')?.id), grantee, 'research')
  await otherProject.grant({ grantee, kind: 'user', purpose: 'research', expires, project: other })
  await thisProject.grant({ grantee, kind: 'user', purpose: 'research', expires, project })
  assert.ok(none.user !== null)

  const cohort = await research.cohort(project)
  assert.is(cohort.total, '<5', 'two images: a small cell is suppressed')
  assert.equal(cohort.hospitals.map(h => [h.hospital === toHex(A.peer.ledger.self) ? 'A' : 'B', h.decision, h.count]).sort(), [['A', 'approved', '<5'], ['B', 'refused', '<5']])

  const first = await research.export(project)
  const second = await research.export(project)
  assert.is(first.images, 2, 'the general consenter\'s image at A and the project consenter\'s')
  assert.equal(first.bytes, second.bytes, 'two exports of the same project and consents are byte-identical')
  assert.is(first.exportId, second.exportId)
  const zip = await unzip(first.bytes)
  const files = zip.names.filter(n => n.endsWith('.dcm'))
  assert.is(files.length, 2)
  const manifest = JSON.parse((await zip.read('manifest.json')).toString('utf8')) as { files: Array<{ pseudonym: string, study: string }> }
  assert.is(new Set(manifest.files.map(f => f.pseudonym)).size, 2)
  assert.ok((await zip.read('manifest.csv')).toString('utf8').startsWith('file,pseudonym,study,modality,labelLesionPixels,score,sha256'))
  assert.not.ok(JSON.stringify(manifest).includes(atB), 'nothing of the refusing hospital')

  // Every file passes dcmdump with no name, MRN or original UID left.
  const dir = await tempDir('medichain-research-')
  for (const [i, name] of files.entries()) {
    const path = join(dir, `${i}.dcm`)
    await writeFile(path, await zip.read(name))
    const run = await dcmtk('dcmdump', [path])
    assert.is(run.code, 0, run.stderr)
    for (const probe of ['PATIENT', 'NUMBER', 'MRN77', '1.2.826.0.1.3680043.8.498', 'DOE', 'Elsewhere']) assert.not.ok(run.stdout.includes(probe), `${probe} left in an exported file`)
  }

  // The patient reads "used in research project X"; the one kept out reads nothing.
  const uses = await new ResearchClient(general).myUses()
  assert.ok(uses.length >= 2, 'each export is logged')
  assert.ok(uses.every(u => u.title === PROJECT.title && u.project === project))
  for (const p of [none, revoked, otherProject]) assert.equal(await new ResearchClient(p).myUses(), [], 'nothing logged for a patient kept out')
  const history = await research.exports(project)
  assert.is(history.length, 1, 'two identical exports share one export id')
  assert.is(history[0].images, 4, 'and both are logged')

  // A revoke excludes the patient from later exports.
  const mine = await general.myConsents()
  await general.revoke(String(mine.consents.find(c => c.purpose === 'research')?.id), grantee, 'research')
  const third = await research.export(project)
  assert.is(third.images, 1, 'only the project consenter is left')
  assert.is.not(third.exportId, first.exportId)
})

test('burned-in text is blacked out; an image marked BurnedInAnnotation YES waits for an admin\'s check', async () => {
  hospitals = await startHospitals(1)
  const [A] = hospitals
  const researcher = await user(A, 'res-b', 'researcher')
  const doc = await user(A, 'doc-b', 'clinician')
  const patient = await user(A, 'pat-b', 'patient')
  const phantom = burnedInPhantom(21)
  const pixels = toGray(phantom.pixels)
  const stamped = phiDicom({ sopUid: '1.2.826.0.1.3680043.8.498.7001', pixels, rows: 256, columns: 256 })
  const marked = phiDicom({ sopUid: '1.2.826.0.1.3680043.8.498.7002', pixels, rows: 256, columns: 256, burnedIn: 'YES' })
  await doc.upload(String(patient.user?.patientId), stamped, 'stamped.dcm')
  const markedCid = String((await doc.upload(String(patient.user?.patientId), marked, 'marked.dcm') as { raw?: string }).raw)
  const research = new ResearchClient(researcher)
  const { id: project } = await research.create(PROJECT)
  await new ResearchClient(A.admin).decide(project, true)
  await patient.grant({ grantee: String(researcher.user?.signPub), kind: 'user', purpose: 'research', expires: Date.now() + YEAR })

  const first = await research.export(project)
  assert.is(first.images, 1)
  assert.is(first.held, 1, 'the marked image waits')
  const again = await research.export(project)
  assert.equal([again.bytes, again.exportId, again.held], [first.bytes, first.exportId, 1], 'a held image gives the same archive and export id while it waits')
  const zip = await unzip(first.bytes)
  const file = zip.names.find(n => n.endsWith('.dcm')) as string
  const out = frameOf(readDicom(new Uint8Array(await zip.read(file))).dict)
  assert.ok(out !== null)
  for (const t of phantom.texts) assert.ok([...t.ink].every(k => out.values[k] === Math.min(...pixels)), `${t.kind} still in the exported pixels`)

  // The admin's pooled connection sat idle through the export; the SDK sends a read again if the
  // server closed it meanwhile (test/protocol/client/stale-connection.test.ts).
  const waiting = await (await A.admin.request('GET', '/api/research/reviews')).json() as { reviews: Array<{ project: string, image: string, reason: string, preview: boolean }> }
  assert.equal(waiting.reviews.map(r => [r.project, r.image, r.reason, r.preview]), [[project, markedCid, 'burned-in-annotation', true]])
  const preview = await A.admin.request('GET', `/api/research/reviews/${project}/${markedCid}/preview`)
  assert.is(preview.headers.get('content-type'), 'image/png')
  await rejects(async () => await researcher.request('POST', `/api/research/reviews/${project}/${markedCid}`, { release: true }), 'FORBIDDEN')
  await A.admin.request('POST', `/api/research/reviews/${project}/${markedCid}`, { release: true })
  const second = await research.export(project)
  assert.is(second.images, 2, 'released after the check')
  assert.is(second.held, 0)
})

test.run()
