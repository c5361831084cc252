// Paging of the list routes that grow with the ledger (issue 10.7): the patient's audit, newest
// first, a page at a time with an opaque cursor; entries written between pages never shift or
// repeat one; `limit` has a maximum; junk cursors are refused with a code. Also the cursor codec
// on its own, and the consent and membership-proposal lists. Against a real peer.
import { randomBytes } from 'node:crypto'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import { decodeCursor, encodeCursor, pageOf } from '../../../node/http/page.ts'
import { MAX_PAGE } from '../../../node/http/routes/routes-records.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
test.before(async () => { hospitals = await startHospitals(1) })
test.after(async () => { await stopHospitals(hospitals) })

interface AuditPage { entries: Array<{ id: string, time: number }>, next: string | null }

async function logReads (h: Hospital, patientId: string, n: number): Promise<void> {
  const image = CID.createV1(0x55, await sha256.digest(randomBytes(16)))
  await Promise.all(Array.from({ length: n }, async () => await h.peer.ledger.submitOwn('access.log', {
    patient: fromHex(patientId), image, accessor: h.peer.ledger.self, basis: 'custodian', consent: null
  })))
}

async function auditPage (c: MedichainClient, query: string): Promise<AuditPage> {
  return await (await c.request('GET', `/api/me/audit${query}`)).json() as AuditPage
}

test('cursors are opaque round trips, and anything else is refused', () => {
  assert.equal(decodeCursor(encodeCursor([17, 'ab']), 'cursor', 'ns'), [17, 'ab'])
  for (const junk of ['', '!!', encodeCursor(['ab', 17]), encodeCursor([17]), encodeCursor([-1, 'x']), encodeCursor([1.5, 'x']), 'A'.repeat(600), Buffer.from('{"a":1}').toString('base64url')]) {
    throwsCode(() => decodeCursor(junk, 'cursor', 'ns'), 'INVALID')
  }
  const items = [5, 4, 4, 3, 1].map((t, i) => ({ t, id: String(i) }))
  const first = pageOf(items, x => [x.t, x.id], { limit: 2, cursor: undefined }, 'desc')
  assert.equal(first.items.map(x => x.id), ['0', '1'])
  const second = pageOf(items, x => [x.t, x.id], { limit: 2, cursor: decodeCursor(first.next ?? '', 'c', 'ns') }, 'desc')
  assert.equal(second.items.map(x => x.id), ['3', '4'], 'ties on time are ordered by id, as the list is')
})

test('the audit comes newest first in pages whose positions hold while entries are added', async () => {
  const [h] = hospitals
  const patient = await user(h, 'audited', 'patient')
  const patientId = patient.user?.patientId as string
  await logReads(h, patientId, 25)
  const whole = await auditPage(patient, '')
  assert.is(whole.entries.length, 25, 'one default page holds them all')
  assert.is(whole.next, null)
  const seen: AuditPage['entries'] = []
  let page = await auditPage(patient, '?limit=10')
  assert.is(page.entries.length, 10)
  seen.push(...page.entries)
  await logReads(h, patientId, 3)
  while (page.next !== null) {
    page = await auditPage(patient, `?limit=10&cursor=${page.next}`)
    seen.push(...page.entries)
  }
  assert.equal(seen.map(e => e.id), whole.entries.map(e => e.id), 'later pages neither repeat nor skip what the first page started')
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1].time >= seen[i].time, 'newest first')
  const fresh = await auditPage(patient, '?limit=3')
  assert.equal(fresh.entries.map(e => e.id).filter(id => whole.entries.some(e => e.id === id)), [], 'the new entries head a fresh first page')
  assert.equal((await patient.myAuditPage({ limit: 5 })).entries.length, 5)
})

test('the audit page size is bounded and bad paging parameters are INVALID', async () => {
  const [h] = hospitals
  const patient = await user(h, 'bounded', 'patient')
  await logReads(h, patient.user?.patientId as string, 3)
  await rejects(async () => await patient.request('GET', `/api/me/audit?limit=${MAX_PAGE + 1}`), 'INVALID')
  await rejects(async () => await patient.request('GET', '/api/me/audit?limit=0'), 'INVALID')
  await rejects(async () => await patient.request('GET', '/api/me/audit?cursor=not-a-cursor'), 'INVALID')
  await rejects(async () => await patient.request('GET', '/api/me/audit?page=2'), 'INVALID')
  assert.is((await auditPage(patient, `?limit=${MAX_PAGE}`)).entries.length, 3)
})

test('membership proposals and consents are paged too', async () => {
  const [h] = hospitals
  for (let i = 0; i < 3; i++) await h.admin.propose({ action: 'add', member: toHex(randomBytes(32)), name: `Candidate ${i}`, addrs: [] })
  const first = await (await h.admin.request('GET', '/api/members/proposals?limit=2')).json() as { proposals: Array<{ id: string }>, next: string | null }
  assert.is(first.proposals.length, 2)
  assert.type(first.next, 'string')
  const rest = await (await h.admin.request('GET', `/api/members/proposals?limit=2&cursor=${first.next ?? ''}`)).json() as { proposals: Array<{ id: string }>, next: string | null }
  assert.is(rest.proposals.length, 1)
  assert.is(rest.next, null)
  assert.equal((await h.admin.proposals()).map(p => p.id), [...first.proposals, ...rest.proposals].map(p => p.id))
  const patient = await user(h, 'consenting', 'patient')
  const mine = await patient.myConsents({ limit: 1 })
  assert.equal(mine.consents, [])
  assert.is(mine.next, null)
  assert.is(mine.nextSeq, 0)
  await rejects(async () => await patient.request('GET', '/api/me/consents?limit=501'), 'INVALID')
})

test('image lists are paged, and a clinician\'s page logs only the images on it', async () => {
  const [h] = hospitals
  const patient = await user(h, 'imaged', 'patient')
  const doc = await user(h, 'imaging-doc', 'clinician')
  const patientId = patient.user?.patientId as string
  for (const seed of [1, 2, 3]) await doc.upload(patientId, testImages(seed).png, 'scan.png')
  type ImagePage = { images: Array<{ raw: string }>, next: string | null }
  const first = await (await patient.request('GET', '/api/me/images?limit=2')).json() as ImagePage
  assert.is(first.images.length, 2)
  const second = await (await patient.request('GET', `/api/me/images?limit=2&cursor=${first.next ?? ''}`)).json() as ImagePage
  assert.is(second.images.length, 1)
  assert.is(second.next, null)
  const all = await patient.myImages()
  assert.equal([...first.images, ...second.images].map(i => i.raw), all.map(i => i.raw), 'pages in order, none repeated')
  const before = (await patient.myAuditPage({ limit: 500 })).entries.length
  const one = await (await doc.request('GET', `/api/patients/${patientId}/images?limit=1`)).json() as ImagePage
  assert.is(one.images.length, 1)
  assert.type(one.next, 'string')
  assert.is((await patient.myAuditPage({ limit: 500 })).entries.length, before + 1, 'one image listed, one access logged')
  const seed = await (await doc.request('GET', `/doctor/get-patient-img?patientId=${patientId}&limit=1&cursor=${one.next ?? ''}`)).json() as ImagePage
  assert.is(seed.images.length, 1)
  assert.is.not(seed.images[0].raw, one.images[0].raw)
  await rejects(async () => await doc.request('GET', `/api/patients/${patientId}/images?limit=501`), 'INVALID')
})

test.run()
