// STOW-RS (PS3.18 §10.5) from a standard client (dicomweb-client) with a clinician's viewer token:
// instances of a linked patient land on the ledger and the answer lists them; an unlinked MRN is
// held in custody. Refusals: no credentials (401 with a Bearer challenge), a read-only token, a
// revoked or made-up token, a token whose clinician's sessions were ended, a patient's session, a body that is not multipart/related of DICOM,
// a part that is not DICOM, and an instance outside the study named in the URL.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex } from '../../../protocol/bytes.ts'
import { cleanup } from '../../helpers/ledger/fixture.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'
import { ctInstance, dicomwebClient, viewerToken } from '../../helpers/imaging/dicomweb.ts'

let A: Hospital

test.before(async () => {
  ;[A] = await startHospitals(1, { dicom: {} })
})

test.after(async () => {
  await stopHospitals([A])
  await cleanup()
})

const STUDY = '2.25.7001'
const SERIES = '2.25.7002'
const uids = (n: number): { study: string, series: string, instance: string } => ({ study: STUDY, series: SERIES, instance: `2.25.7003${n}` })

/** A multipart/related body of the given parts, each with its own Content-Type. */
function related (parts: Array<{ type: string, bytes: ArrayBuffer }>, boundary = 'b0undary'): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder()
  const chunks: Uint8Array[] = []
  for (const p of parts) chunks.push(enc.encode(`\r\n--${boundary}\r\nContent-Type: ${p.type}\r\n\r\n`), new Uint8Array(p.bytes))
  chunks.push(enc.encode(`\r\n--${boundary}--\r\n`))
  return new Uint8Array(Buffer.concat(chunks))
}

async function stow (token: string | undefined, body: Uint8Array<ArrayBuffer>, type: string, path = '/dicomweb/studies'): Promise<Response> {
  return await fetch(`${A.url}${path}`, { method: 'POST', body, headers: { 'content-type': type, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) } })
}

const RELATED = 'multipart/related; type="application/dicom"; boundary=b0undary'

test('dicomweb-client stores a series for a linked patient: a search right after finds every instance, on the ledger', async () => {
  const patient = await user(A, 'stow-patient', 'patient')
  const doc = await user(A, 'stow-doc', 'clinician')
  await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-STOW-1', patientId: patient.user?.patientId })
  const { token } = await viewerToken(doc, { scope: ['read', 'write'] })
  const client = dicomwebClient(A.url, token)
  const datasets = [1, 2, 3].map(n => ctInstance('MRN-STOW-1', uids(n), n, n))
  await client.storeInstances({ datasets })
  // Acknowledged from custody (the default); the search waits for what was acknowledged before it.
  const found = await client.searchForInstances({ studyInstanceUID: STUDY }) as unknown[]
  assert.is(found.length, 3, 'QIDO-RS right after STOW-RS finds the three instances')
  const images = await A.peer.ledger.queries.imagesOf(fromHex(patient.user?.patientId as string))
  assert.is(images.length, 3, 'three image.add on the ledger once the search answered')
  assert.ok(images.every(i => i.dicom !== undefined), 'each placed in its series')
  // The raw answer: ReferencedSOPSequence with retrieve URLs, no failures.
  const res = await stow(token, related([{ type: 'application/dicom', bytes: ctInstance('MRN-STOW-1', uids(4), 4, 4) }]), RELATED, `/dicomweb/studies/${STUDY}`)
  assert.is(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /application\/dicom\+json/)
  const body = await res.json() as Record<string, { Value?: Array<Record<string, { Value?: unknown[] }>> }>
  assert.is(body['00081198'], undefined, 'no FailedSOPSequence')
  const stored = body['00081199']?.Value ?? []
  assert.is(stored.length, 1)
  assert.equal(stored[0]['00081155']?.Value, [uids(4).instance])
  assert.match(String(stored[0]['00081190']?.Value?.[0]), new RegExp(`/dicomweb/studies/${STUDY}/series/${SERIES}/instances/${uids(4).instance}$`))
})

test('an MRN no patient is linked to: held in custody, stored without a retrieve URL', async () => {
  const doc = await user(A, 'stow-doc-2', 'clinician')
  const { token } = await viewerToken(doc, { scope: ['write'] })
  const res = await stow(token, related([{ type: 'application/dicom', bytes: ctInstance('MRN-STOW-HELD', uids(10), 10) }]), RELATED)
  assert.is(res.status, 200)
  const body = await res.json() as Record<string, { Value?: Array<Record<string, unknown>> }>
  const item = body['00081199']?.Value?.[0] ?? {}
  assert.ok('00081155' in item && !('00081190' in item), 'stored, not yet retrievable')
  const patient = await user(A, 'stow-patient-held', 'patient')
  assert.equal(await (await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-STOW-HELD', patientId: patient.user?.patientId })).json(), { attached: 1 })
})

test('refusals: credentials, scope, role, media types, a non-DICOM part, a study mismatch', async () => {
  const doc = await user(A, 'stow-doc-3', 'clinician')
  const patient = await user(A, 'stow-patient-3', 'patient')
  await doc.request('POST', '/api/dicom/links', { mrn: 'MRN-STOW-3', patientId: patient.user?.patientId })
  const one = related([{ type: 'application/dicom', bytes: ctInstance('MRN-STOW-3', uids(20), 20) }])
  const none = await stow(undefined, one, RELATED)
  assert.is(none.status, 401)
  assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/)
  assert.is((await stow('mcdw_0123456789abcdef_' + 'A'.repeat(43), one, RELATED)).status, 401, 'a made-up token')
  const read = await viewerToken(doc, { scope: ['read'] })
  assert.is((await stow(read.token, one, RELATED)).status, 403, 'a read-only token cannot store')
  const write = await viewerToken(doc, { scope: ['write'] })
  await doc.request('DELETE', `/api/dicomweb/tokens/${write.id}`)
  assert.is((await stow(write.token, one, RELATED)).status, 401, 'a revoked token')
  // A patient's own session: DICOMweb is for clinicians.
  const asPatient = await patient.request('POST', '/dicomweb/studies', new Blob([one], { type: RELATED })).catch((err: { status?: number }) => err)
  assert.is((asPatient as { status?: number }).status, 403)
  const { token } = await viewerToken(doc, { scope: ['write'] })
  assert.is((await stow(token, one, 'application/dicom')).status, 415, 'not multipart/related')
  assert.is((await stow(token, one, 'multipart/related; type="application/dicom+json"; boundary=b0undary')).status, 415, 'metadata and bulk data are not taken')
  assert.is((await stow(token, new TextEncoder().encode('--b0undary\r\n\r\nno end') as Uint8Array<ArrayBuffer>, RELATED)).status, 400, 'a body without its closing boundary')
  const mixed = await stow(token, related([
    { type: 'application/dicom', bytes: ctInstance('MRN-STOW-3', uids(21), 21) },
    { type: 'application/dicom', bytes: new TextEncoder().encode('not a DICOM file at all').buffer as ArrayBuffer }
  ]), RELATED)
  assert.is(mixed.status, 202, 'some stored, some failed')
  const body = await mixed.json() as Record<string, { Value?: Array<Record<string, { Value?: unknown[] }>> }>
  assert.is(body['00081199']?.Value?.length, 1)
  assert.equal(body['00081198']?.Value?.[0]['00081197']?.Value, [0xc000], 'cannot understand')
  const elsewhere = await stow(token, one, RELATED, '/dicomweb/studies/2.25.999')
  assert.is(elsewhere.status, 409, 'the only instance is outside the study of the URL')
  await A.peer.dicom?.settled()
  assert.is((await A.peer.ledger.queries.imagesOf(fromHex(patient.user?.patientId as string))).length, 1, 'only the one good instance was stored')
  // The admin ends the clinician's sessions: the viewer tokens end with them.
  assert.is((await stow(token, one, RELATED)).status, 200, 'the token works until then')
  await A.admin.request('POST', '/api/accounts/stow-doc-3/end-sessions')
  assert.is((await stow(token, one, RELATED)).status, 401, 'a token of a clinician whose sessions were ended')
})

test.run()
