// The sentences of "who viewed my images" (web/src/lib/words/audit-words.ts): each use and basis reads
// apart — a validation use never reads as training, an emergency says so — and people and
// hospitals are named, with a short key only where the directory has no name.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { asAuditGroup, groupSentence } from '../../../web/src/lib/words/audit-words.ts'
import type { AuditGroup } from '../../../web/src/lib/words/audit-words.ts'
import { labelOf, nameLabel } from '../../../web/src/lib/words/names.ts'

const LEE = 'a1'.repeat(32)
const SOUTH = 'b2'.repeat(32)
const base: AuditGroup = {
  key: 'k', day: '2026-12-06', first: 0, last: 0, entries: 3, images: 3, use: 'open', accessor: LEE, accessorName: 'Dr Lee', department: 'Radiology',
  hospital: SOUTH, hospitalName: 'South Hospital', basis: 'consent', consent: 'c'.repeat(64), purpose: 'treatment', consentTo: SOUTH, consentToName: 'South Hospital', emergency: false
}

test('an opening under a consent, as the issue words it', () => {
  assert.is(groupSentence(base, 2026), 'Dr Lee (Radiology, South Hospital) opened 3 of your images on 6 Dec, under your treatment consent to South Hospital.')
  assert.is(groupSentence({ ...base, images: 1 }, 2027), 'Dr Lee (Radiology, South Hospital) opened one of your images on 6 Dec 2026, under your treatment consent to South Hospital.')
})

test('listing, training, validation, custody and emergency each read apart', () => {
  assert.match(groupSentence({ ...base, use: 'list', images: 0, entries: 1 }, 2026), /^Dr Lee \(Radiology, South Hospital\) saw the list of your images on 6 Dec/)
  assert.match(groupSentence({ ...base, use: 'list', images: 0, entries: 4 }, 2026), /saw the list of your images 4 times on/)
  const train = { ...base, use: 'train' as const, accessor: SOUTH, accessorName: 'South Hospital', purpose: 'training' as const, images: 2 }
  assert.is(groupSentence(train, 2026), 'South Hospital used 2 of your images to train the detect-strange model on 6 Dec, under your training consent to South Hospital.')
  const validate = groupSentence({ ...train, use: 'validate', images: 1 }, 2026)
  assert.is(validate, 'South Hospital used one of your images, held out of training, to check (validate) the detect-strange model on 6 Dec, under your training consent to South Hospital.')
  assert.not.match(validate, /to train/)
  assert.match(groupSentence({ ...base, basis: 'custodian', consent: null, purpose: null, consentTo: null, consentToName: null }, 2026), /, as a clinician of South Hospital, the hospital that holds your images\.$/)
  assert.match(groupSentence({ ...base, basis: 'emergency', emergency: true, consent: null, purpose: null, consentTo: null, consentToName: null }, 2026), /in an EMERGENCY the clinician declared, without your consent\.$/)
})

test('a hospital\'s DICOM network retrieving an image reads as such', () => {
  const s = groupSentence({ ...base, accessor: SOUTH, accessorName: 'South Hospital', department: null, basis: 'custodian', consent: null, purpose: null, consentTo: null, consentToName: null, images: 2 }, 2026)
  assert.is(s, 'South Hospital\'s imaging network (DICOM) opened 2 of your images on 6 Dec, as the hospital that holds your images.')
})

test('without directory entries: a short key, never a blank', () => {
  const s = groupSentence({ ...base, accessorName: null, department: null, hospitalName: null, consentToName: null }, 2026)
  assert.match(s, /^Someone at the hospital b2b2b2b2…b2b2 \(key a1a1a1a1…a1a1\) opened/)
  assert.match(s, /consent to b2b2b2b2…b2b2\.$/)
})

test('asAuditGroup refuses unknown uses and bases and missing fields', () => {
  const raw = { ...base } as unknown as Record<string, unknown>
  assert.ok(asAuditGroup(raw) !== null)
  assert.is(asAuditGroup({ ...raw, use: 'peek' }), null)
  assert.is(asAuditGroup({ ...raw, basis: 'whim' }), null)
  assert.is(asAuditGroup({ ...raw, entries: '3' }), null)
  assert.is(asAuditGroup({ ...raw, purpose: 'marketing' }), null)
})

test('names: person with department and hospital, a hospital by itself, a short key when unknown', () => {
  assert.is(nameLabel({ name: 'Dr Lee', department: 'Radiology', hospital: SOUTH, hospitalName: 'South Hospital' }, LEE), 'Dr Lee, Radiology, South Hospital')
  assert.is(nameLabel({ name: 'Dr Lee', department: '', hospital: SOUTH, hospitalName: 'South Hospital' }, LEE, { withHospital: false }), 'Dr Lee')
  assert.is(nameLabel({ name: 'South Hospital', department: '', hospital: SOUTH, hospitalName: 'South Hospital' }, SOUTH), 'South Hospital')
  assert.is(labelOf(new Map(), LEE), 'a1a1a1a1…a1a1')
  assert.is(labelOf({ [LEE]: { name: 'Dr Lee', department: 'Radiology', hospital: SOUTH, hospitalName: null } }, LEE), 'Dr Lee, Radiology')
})

test.run()
