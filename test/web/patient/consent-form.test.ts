// The grant form's checks (web/src/lib/patient/consent-form.ts): a valid hospital or user grant becomes a
// request ending at the end of the chosen day; each rule refuses its case with a field message;
// and the grant reads as one plain sentence before it is signed.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkGrantForm, grantSummary, replacedConsent } from '../../../web/src/lib/patient/consent-form.ts'
import type { GrantForm, GrantWords, ListedConsent } from '../../../web/src/lib/patient/consent-form.ts'

const NOW = new Date(2026, 0, 10, 12, 0).getTime()
const KEY = 'c3'.repeat(32)
const FORM: GrantForm = { kind: 'hospital', hospital: KEY, userKey: '', purpose: 'treatment', until: '2026-02-01' }

test('a hospital grant ends at the end of the chosen local day', () => {
  const r = checkGrantForm(FORM, NOW)
  assert.ok(r.ok)
  if (!r.ok) return
  assert.equal(r.request, { grantee: KEY, kind: 'hospital', purpose: 'treatment', expires: new Date(2026, 1, 1, 23, 59, 59, 999).getTime() })
})

test('a user grant takes the typed key, trimmed and lower-cased', () => {
  const r = checkGrantForm({ ...FORM, kind: 'user', hospital: '', userKey: ` ${KEY.toUpperCase()} `, purpose: 'research' }, NOW)
  assert.ok(r.ok && r.request.grantee === KEY && r.request.kind === 'user' && r.request.purpose === 'research')
})

test('refusals: no hospital, a bad key, oneself, an unknown purpose, a bad or past date', () => {
  const errors = (f: Partial<GrantForm>, self?: string): string[] => {
    const r = checkGrantForm({ ...FORM, ...f }, NOW, self)
    return r.ok ? [] : Object.keys(r.errors)
  }
  assert.equal(errors({ hospital: '' }), ['hospital'])
  assert.equal(errors({ kind: 'user', userKey: KEY.slice(2) }), ['userKey'])
  assert.equal(errors({ kind: 'user', userKey: KEY }, KEY), ['userKey'])
  assert.equal(errors({ purpose: 'marketing' }), ['purpose'])
  assert.equal(errors({ until: '2026-02-30' }), ['until'])
  assert.equal(errors({ until: 'tomorrow' }), ['until'])
  assert.equal(errors({ until: '2026-01-09' }), ['until'])
  assert.equal(errors({ until: '2026-01-10' }), [], 'today still counts: it ends tonight')
  assert.equal(errors({ kind: 'user', userKey: KEY, purpose: 'training' }), ['purpose'], 'only a hospital trains the model')
})

test('a training consent to a hospital', () => {
  const r = checkGrantForm({ ...FORM, purpose: 'training' }, NOW)
  assert.ok(r.ok && r.request.kind === 'hospital' && r.request.purpose === 'training')
})

test('the grant in plain words, per purpose, grantee and images', () => {
  const w: GrantWords = { who: 'Hospital A', kind: 'hospital', purpose: 'training', images: 'all', until: '1 Feb 2026' }
  assert.is(grantSummary(w), 'You let Hospital A use all your images to train the detect-strange model, until the end of 1 Feb 2026. ' +
    'The training runs at Hospital A; only what the model learns is shared with other hospitals.')
  assert.is(grantSummary({ ...w, purpose: 'treatment', images: 1, until: null }), 'You let the clinicians of Hospital A open the image you chose to treat you.')
  assert.is(grantSummary({ ...w, purpose: 'research', images: 3 }), 'You let researchers at Hospital A use the 3 images you chose for research, until the end of 1 Feb 2026.')
  assert.is(grantSummary({ ...w, who: 'the person with key ab…', kind: 'user', purpose: 'treatment', until: null }), 'You let the person with key ab… open all your images to treat you.')
})

test('a new grant replaces only a live consent to the same grantee for the same purpose', () => {
  const OTHER = 'd4'.repeat(32)
  const live = { expires: NOW + 1000, action: 'grant' }
  const list: Array<ListedConsent & { id: string }> = [
    { id: 'treat', grantee: KEY, purpose: 'treatment', ...live },
    { id: 'train', grantee: KEY, purpose: 'training', ...live },
    { id: 'old', grantee: KEY, purpose: 'research', action: 'grant', expires: NOW },
    { id: 'gone', grantee: OTHER, purpose: 'research', action: 'revoke', expires: null },
    { id: 'other', grantee: OTHER, purpose: 'treatment', ...live }
  ]
  assert.is(replacedConsent(list, KEY, 'training', NOW)?.id, 'train', 'same grantee and purpose')
  assert.is(replacedConsent(list, KEY, 'treatment', NOW)?.id, 'treat')
  assert.is(replacedConsent(list, KEY, 'research', NOW), undefined, 'an expired consent is not replaced')
  assert.is(replacedConsent(list, OTHER, 'research', NOW), undefined, 'a revoked consent is not replaced')
  assert.is(replacedConsent(list, OTHER, 'training', NOW), undefined, 'another purpose of the grantee stays')
  assert.is(replacedConsent(list, 'e5'.repeat(32), 'treatment', NOW), undefined, 'another grantee\'s consent stays')
})

test('a research consent may name one project; another purpose may not', () => {
  const project = 'ab'.repeat(32)
  const r = checkGrantForm({ ...FORM, purpose: 'research', project }, NOW)
  assert.ok(r.ok && r.request.project === project)
  const general = checkGrantForm({ ...FORM, purpose: 'research', project: '' }, NOW)
  assert.ok(general.ok && general.request.project === undefined, 'empty: research in general')
  const wrong = checkGrantForm({ ...FORM, purpose: 'treatment', project }, NOW)
  assert.ok(!wrong.ok && wrong.errors.project !== undefined)
  const bad = checkGrantForm({ ...FORM, purpose: 'research', project: 'nope' }, NOW)
  assert.ok(!bad.ok && bad.errors.project !== undefined)
})

test.run()
