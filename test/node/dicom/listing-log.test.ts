// A query answer is a listing on the ledger (issue 14: "One listing writes at most one access entry:
// listed, not opened"), over DIMSE and DICOMweb alike: a C-FIND or QIDO-RS answer that shows a
// patient's records appends one `access.log` of use 'list' for that patient, naming no image,
// whatever the number of matches; the C-FIND's accessor is the hospital (its imaging network), the
// QIDO-RS's the clinician. An answer that shows nothing, and a refused caller, append none.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { ctInstance, dicomwebClient, viewerToken } from '../../helpers/imaging/dicomweb.ts'
import type { DicomwebClient } from '../../helpers/imaging/dicomweb.ts'
import { dcmtk } from '../../helpers/imaging/dicom.ts'

let A: Hospital
let port: number
let doc: MedichainClient
let web: DicomwebClient
const patients: Uint8Array[] = []
const STUDIES = ['2.25.8100', '2.25.8200']
const uids = (s: number, n: number): { study: string, series: string, instance: string } => ({ study: STUDIES[s], series: `${STUDIES[s]}.1`, instance: `${STUDIES[s]}.1.${n}` })

test.before(async () => {
  // findscu calls as FINDSCU; no other calling AE title is let in.
  ;[A] = await startHospitals(1, { dicom: { allowed: [{ aeTitle: 'FINDSCU', address: '127.0.0.1' }] } })
  port = A.peer.dicom?.address()?.port ?? 0
  doc = await user(A, 'list-doc', 'clinician')
  web = dicomwebClient(A.url, (await viewerToken(doc, { scope: ['read', 'write'] })).token)
  // Two patients: two instances of the first one's study, one of the second one's.
  for (const [s, count] of [[0, 2], [1, 1]]) {
    const p = await user(A, `list-patient-${s}`, 'patient')
    const pid = p.user?.patientId as string
    patients.push(fromHex(pid))
    await doc.request('POST', '/api/dicom/links', { mrn: `MRN-LIST-${s}`, patientId: pid })
    await web.storeInstances({ datasets: Array.from({ length: count }, (_, i) => ctInstance(`MRN-LIST-${s}`, uids(s, i + 1), 60 + s * 10 + i, i + 1)) })
  }
})

test.after(async () => {
  await stopHospitals([A])
  await cleanup()
})

/** The listing entries of each patient, in order. */
async function listings (): Promise<Array<Array<Record<string, unknown>>>> {
  return await Promise.all(patients.map(async p => (await A.peer.ledger.queries.auditOf(p)).filter(e => e.use === 'list') as unknown as Array<Record<string, unknown>>))
}

/** How many listing entries each patient gained since `before`. */
async function gained (before: Array<unknown[]>): Promise<number[]> {
  return (await listings()).map((l, i) => l.length - before[i].length)
}

async function findscu (level: string, keys: string[], calling = 'FINDSCU'): Promise<{ code: number, answers: number, stderr: string }> {
  const r = await dcmtk('findscu', ['-S', '-v', '-aet', calling, '-aec', 'MEDICHAIN', '-k', `QueryRetrieveLevel=${level}`, ...keys.flatMap(k => ['-k', k]), '127.0.0.1', String(port)])
  return { code: r.code, answers: (r.stderr.match(/Find Response: \d+ \(Pending\)/g) ?? []).length, stderr: r.stderr }
}

test('C-FIND: one listing per patient the answer shows, by the hospital\'s imaging network, naming no image', async () => {
  let before = await listings()
  const all = await findscu('STUDY', ['StudyInstanceUID', 'PatientName'])
  assert.is(all.code, 0, all.stderr)
  assert.is(all.answers, 2, 'both studies answered')
  assert.equal(await gained(before), [1, 1], 'one entry for each patient shown')
  for (const l of await listings()) {
    const e = l.at(-1) as Record<string, unknown>
    assert.is(toHex(e.accessor as Uint8Array), toHex(A.peer.ledger.self), 'the hospital itself is the accessor')
    assert.equal([e.image, e.basis, e.consent], [null, 'custodian', null])
  }

  // Many matches of one patient: still one entry, and none for the patient not shown.
  before = await listings()
  const one = await findscu('IMAGE', [`StudyInstanceUID=${STUDIES[0]}`, 'SOPInstanceUID'])
  assert.is(one.answers, 2, 'two instances answered')
  assert.equal(await gained(before), [1, 0])
})

test('C-FIND: nothing when nothing matched, or when the caller was refused', async () => {
  const before = await listings()
  const none = await findscu('STUDY', ['PatientID=NOBODY', 'StudyInstanceUID'])
  assert.is(none.code, 0, none.stderr)
  assert.is(none.answers, 0)
  const refused = await findscu('STUDY', ['StudyInstanceUID'], 'INTRUDER')
  assert.match(refused.stderr, /reject/i, 'association rejected')
  assert.is(refused.answers, 0)
  assert.equal(await gained(before), [0, 0])
})

test('QIDO-RS: one listing per patient the page shows, by the clinician', async () => {
  let before = await listings()
  assert.is((await web.searchForStudies()).length, 2)
  assert.equal(await gained(before), [1, 1])
  for (const l of await listings()) {
    const e = l.at(-1) as Record<string, unknown>
    assert.is(toHex(e.accessor as Uint8Array), doc.user?.signPub, 'the clinician is the accessor')
    assert.equal([e.image, e.basis], [null, 'custodian'])
  }
  before = await listings()
  assert.is((await web.searchForInstances({ studyInstanceUID: STUDIES[0] })).length, 2)
  assert.equal(await gained(before), [1, 0], 'two instances of one patient: one entry')
  // A page of one study shows one patient's records only.
  before = await listings()
  const [first] = await web.searchForStudies({ queryParams: { limit: '1' } })
  const shown = STUDIES.indexOf(first['0020000D']?.Value?.[0] as string)
  assert.equal(await gained(before), [0, 1].map(i => i === shown ? 1 : 0))
})

test('QIDO-RS: nothing when nothing matched, or when the caller was refused', async () => {
  const before = await listings()
  assert.is((await web.searchForStudies({ queryParams: { PatientName: 'NOBODY*' } })).length, 0)
  assert.is((await fetch(`${A.url}/dicomweb/studies`)).status, 401, 'no credentials')
  const narrow = (await viewerToken(doc, { study: '2.25.424242' })).token
  assert.is((await fetch(`${A.url}/dicomweb/studies/${STUDIES[0]}/series`, { headers: { Authorization: `Bearer ${narrow}` } })).status, 403, 'a token for another study')
  const patient = await user(A, 'list-nosy-patient', 'patient')
  assert.is(await patient.request('GET', '/dicomweb/studies').then(() => 200, (err: { status?: number }) => err.status), 403, 'a patient')
  assert.equal(await gained(before), [0, 0])
})

test.run()
