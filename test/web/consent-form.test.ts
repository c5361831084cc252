// The grant form's checks (web/src/lib/consent-form.ts): a valid hospital or user grant becomes a
// request ending at the end of the chosen day; each rule refuses its case with a field message.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkGrantForm } from '../../web/src/lib/consent-form.ts'
import type { GrantForm } from '../../web/src/lib/consent-form.ts'

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
})

test.run()
