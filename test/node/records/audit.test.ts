// "Who viewed my images" over real HTTP between two hospitals (issue 12 item 3, issue 14): one
// listing writes exactly one access entry (use 'list', naming no image), opening an image writes
// one naming that image; the patient's audit names people from the directory and the consent each
// read relied on, groups the entries by person, day, use and basis, and expands a group to its
// entries. Bad group keys, offsets and directory lookups are INVALID.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fromHex, toHex } from '../../../protocol/bytes.ts'
import type { MedichainClient } from '../../../protocol/client/client.ts'
import type { AccessRecord } from '../../../ledger/queries/queries.ts'
import { listingBasis } from '../../../node/records/reads.ts'
import { groupEntries, dayOf, useOf } from '../../../node/records/audit.ts'
import type { AuditEntryView } from '../../../node/records/audit.ts'
import { rejects } from '../../helpers/assert.ts'
import { testImages } from '../../helpers/imaging/images.ts'
import { untilLedger } from '../../helpers/ledger/until.ts'
import { startHospitals, stopHospitals, user } from '../../helpers/peers/peers.ts'
import type { Hospital } from '../../helpers/peers/peers.ts'

let hospitals: Hospital[] = []
test.before(async () => { hospitals = await startHospitals(2) })
test.after(async () => { await stopHospitals(hospitals) })

interface Group { key: string, use: string, basis: string, accessor: string, accessorName: string | null, department: string | null, hospitalName: string | null, purpose: string | null, consentToName: string | null, entries: number, images: number, day: string }

async function json<T> (c: MedichainClient, path: string): Promise<T> {
  return await (await c.request('GET', path)).json() as T
}

test('listingBasis: one entry per listing, naming emergency first, then the first consent, else custody', () => {
  const consent = new Uint8Array(32).fill(3)
  const keys = { from: 'hospital' as const }
  assert.is(listingBasis([]), null)
  assert.is(listingBasis([{ allowed: true, basis: 'patient', keys: { from: 'patient' }, consent: null }]), null)
  assert.equal(listingBasis([{ allowed: true, basis: 'custodian', keys, consent: null }]), { basis: 'custodian', consent: null })
  assert.equal(listingBasis([{ allowed: true, basis: 'custodian', keys, consent: null }, { allowed: true, basis: 'consent', keys, consent }]), { basis: 'consent', consent })
  assert.equal(listingBasis([{ allowed: true, basis: 'consent', keys, consent }, { allowed: true, basis: 'emergency', keys, consent: null }]), { basis: 'emergency', consent: null })
})

test('an entry from before uses existed reads as an opening, or as training when the hospital read under a consent', () => {
  const base = { patient: new Uint8Array(32), image: null, consent: null, tx: new Uint8Array(32), time: 0 }
  const h = new Uint8Array(32).fill(1)
  assert.equal(useOf({ ...base, accessor: new Uint8Array(32).fill(2), hospital: h, basis: 'custodian' } as AccessRecord), { use: 'open', inferred: true })
  assert.equal(useOf({ ...base, accessor: h, hospital: h, basis: 'consent', consent: new Uint8Array(32) } as AccessRecord), { use: 'train', inferred: true })
  assert.equal(useOf({ ...base, accessor: h, hospital: h, basis: 'consent', use: 'validate' } as AccessRecord), { use: 'validate', inferred: false })
})

test('groups split by local day: the same two reads are one day at UTC and two at UTC+2', () => {
  const at = Date.UTC(2026, 11, 6, 21, 30)
  const view = (time: number, id: string): AuditEntryView => ({
    id, time, image: 'bafy', use: 'open', inferred: false, accessor: 'a'.repeat(64), accessorName: null, department: null, hospital: 'b'.repeat(64),
    hospitalName: null, basis: 'custodian', consent: null, purpose: null, consentTo: null, consentToName: null, emergency: false
  })
  const views = [view(at + 3_600_000, '2'), view(at, '1')]
  assert.is(groupEntries(views, 0).length, 1)
  assert.equal(groupEntries(views, 120).map(g => g.day), ['2026-12-07', '2026-12-06'])
  assert.is(dayOf(at, -600), '2026-12-06')
})

test('one listing, one entry; an opening names its image; the patient reads names, consents and groups', async () => {
  const [A, B] = hospitals
  const patient = await user(A, 'audit-pat', 'patient')
  const pid = patient.user?.patientId as string
  const docA = await user(A, 'audit-doc-a', 'clinician')
  const docB = await user(B, 'audit-doc-b', 'clinician')
  await docB.setMyDirectoryEntry('Dr Lee', 'Radiology')
  for (let i = 0; i < 3; i++) await docA.upload(pid, testImages(20 + i).png, `x${i}.png`)
  const audit = async (h: Hospital): Promise<AccessRecord[]> => await h.peer.ledger.queries.auditOf(fromHex(pid))

  // A clinician at the custodian lists three images: one entry, naming none.
  const listed = await docA.patientImages(pid)
  assert.is(listed.length, 3)
  const afterList = await audit(A)
  assert.is(afterList.length, 1, 'one listing of three images writes one entry')
  assert.equal({ use: afterList[0].use, image: afterList[0].image, basis: afterList[0].basis }, { use: 'list', image: null, basis: 'custodian' })
  // Opening one image logs that image.
  await docA.openImage(listed[0])
  const afterOpen = await audit(A)
  assert.is(afterOpen.length, 2)
  const open = afterOpen.find(e => e.use === 'open')
  assert.is(open?.image?.toString(), listed[0].raw)

  // The patient consents to Dr Lee by key; B lists under that consent: one entry naming it.
  const granted = await patient.grant({ grantee: docB.user?.signPub as string, kind: 'user', purpose: 'treatment', expires: Date.now() + 86_400_000 })
  await untilLedger(B.peer.ledger, async () => (await B.peer.ledger.queries.consentsOf(fromHex(pid))).length === 1 && (await B.peer.ledger.queries.imagesOf(fromHex(pid))).length === 3, 'B to hold the images and the consent', 20_000)
  assert.is((await docB.patientImages(pid)).length, 3)
  await untilLedger(A.peer.ledger, async () => (await audit(A)).some(e => toHex(e.hospital) === toHex(B.peer.ledger.self)), 'A to hold B\'s entry', 20_000)
  const atB = (await audit(A)).filter(e => toHex(e.hospital) === toHex(B.peer.ledger.self))
  assert.is(atB.length, 1)
  assert.equal({ use: atB[0].use, basis: atB[0].basis, consent: toHex(atB[0].consent ?? new Uint8Array()) }, { use: 'list', basis: 'consent', consent: granted.id })

  // The consent list names the grantee.
  const { consents } = await patient.myConsents()
  assert.equal((consents[0].granteeName as { name: string, department: string }), { name: 'Dr Lee', department: 'Radiology', hospital: toHex(B.peer.ledger.self), hospitalName: 'Hospital B' })

  // Groups: docA's listing, docA's opening, Dr Lee's listing under the consent, newest first.
  const { groups } = await json<{ groups: Group[] }>(patient, '/api/me/audit/groups?tz=60')
  assert.is(groups.length, 3)
  assert.equal(groups.map(g => g.use), ['list', 'open', 'list'])
  const lee = groups[0]
  assert.equal({ name: lee.accessorName, department: lee.department, hospital: lee.hospitalName, basis: lee.basis, purpose: lee.purpose, to: lee.consentToName },
    { name: 'Dr Lee', department: 'Radiology', hospital: 'Hospital B', basis: 'consent', purpose: 'treatment', to: 'Dr Lee' })
  assert.is(groups[1].images, 1)
  assert.is(groups[1].accessorName, null, 'a clinician with no directory entry has no name (the page shows a short key)')
  // Expanding a group gives its ledger entries, and only them.
  const opened = await json<{ entries: Array<{ id: string, image: string | null, use: string }> }>(patient, `/api/me/audit?group=${groups[1].key}&tz=60`)
  assert.equal(opened.entries.map(e => [e.use, e.image]), [['open', listed[0].raw]])
  assert.equal((await patient.myAuditGroups({ tz: 60, limit: 1 })).groups.length, 1)

  // Refusals.
  await rejects(async () => await patient.request('GET', '/api/me/audit?group=not-a-key'), 'INVALID')
  await rejects(async () => await patient.request('GET', '/api/me/audit/groups?tz=900'), 'INVALID')
  await rejects(async () => await patient.request('GET', '/api/me/audit/groups?tz=1.5'), 'INVALID')
  await rejects(async () => await docA.request('GET', '/api/me/audit/groups'), 'FORBIDDEN')
})

test('GET /api/directory?keys= names the keys it knows and refuses junk', async () => {
  const [A, B] = hospitals
  const patient = await user(A, 'names-pat', 'patient')
  const doc = await user(B, 'names-doc', 'clinician')
  await doc.setMyDirectoryEntry('Dr Okafor', 'Oncology')
  const docKey = doc.user?.signPub as string
  await untilLedger(A.peer.ledger, async () => (await A.peer.ledger.queries.directoryEntry(fromHex(docKey))) !== undefined, 'A to hold the entry', 20_000)
  const stranger = 'ab'.repeat(32)
  const names = await patient.names([docKey, toHex(A.peer.ledger.self), stranger])
  assert.equal(names[docKey], { name: 'Dr Okafor', department: 'Oncology', hospital: toHex(B.peer.ledger.self), hospitalName: 'Hospital B' })
  assert.is(names[toHex(A.peer.ledger.self)]?.name, 'Hospital A')
  assert.not.ok(stranger in names, 'a key with no entry has no name')
  await rejects(async () => await patient.request('GET', `/api/directory?keys=${Array(101).fill(stranger).join(',')}`), 'INVALID')
  await rejects(async () => await patient.request('GET', '/api/directory?keys=zz'), 'INVALID')
})

test.run()
