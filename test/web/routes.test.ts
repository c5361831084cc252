// Client-side routes (web/src/lib/routes.ts): every page's URL parses, malformed ids and unknown
// paths are "not found", each role sees only its own pages, and the setup token comes from the
// fragment only.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { homeOf, isPublic, mayOpen, parseRoute, setupTokenOf } from '../../web/src/lib/routes.ts'

const HEX = 'a1'.repeat(32)
const CID = 'bafkreibqbw6akmsfmdwx7apfd3d3hikkgh52kasn4vbajilkom6htpuvsm'

test('each page parses', () => {
  assert.equal(parseRoute('/'), { page: 'home' })
  assert.equal(parseRoute('/app/'), { page: 'home' })
  assert.equal(parseRoute('/app/sign-in'), { page: 'sign-in' })
  assert.equal(parseRoute('/app/sign-up'), { page: 'sign-up' })
  assert.equal(parseRoute('/app/recover'), { page: 'recover' })
  assert.equal(parseRoute('/app/account'), { page: 'account' })
  assert.ok(isPublic({ page: 'recover' }) && !isPublic({ page: 'account' }))
  assert.equal(parseRoute('/setup', '#token=abcdefghijklmnop_-12'), { page: 'setup', token: 'abcdefghijklmnop_-12' })
  assert.equal(parseRoute('/app/clinician'), { page: 'clinician', patientId: null })
  assert.equal(parseRoute(`/app/clinician/patients/${HEX}`), { page: 'clinician', patientId: HEX })
  assert.equal(parseRoute(`/app/clinician/patients/${HEX}/images/${CID}`), { page: 'clinician-viewer', patientId: HEX, cid: CID })
  assert.equal(parseRoute('/app/patient'), { page: 'patient', tab: 'images' })
  assert.equal(parseRoute('/app/patient/audit'), { page: 'patient', tab: 'audit' })
  assert.equal(parseRoute(`/app/patient/images/${CID}`), { page: 'patient-viewer', cid: CID })
  assert.equal(parseRoute('/app/admin'), { page: 'admin', tab: 'status' })
  assert.equal(parseRoute('/app/admin/fl'), { page: 'admin', tab: 'fl' })
  assert.equal(parseRoute(`/app/admin/ledger/tx/${HEX}`), { page: 'admin-tx', txId: HEX })
  assert.equal(parseRoute('/app/admin/fl/task-1'), { page: 'admin-fl-task', taskId: 'task-1' })
})

test('malformed ids and unknown paths are not found', () => {
  for (const p of ['/api/health', '/doctor/get-patient-img', '/app/nowhere', `/app/clinician/patients/${HEX.slice(2)}`,
    `/app/clinician/patients/${HEX.toUpperCase()}`, '/app/patient/secrets', `/app/admin/ledger/tx/${HEX}x`, '/app/patient/images/a%2F..', '/app/admin/fl/a/b']) {
    assert.is(parseRoute(p).page, 'not-found', p)
  }
})

test('the setup token comes only from a well-formed fragment', () => {
  assert.is(setupTokenOf(''), null)
  assert.is(setupTokenOf('#token=short'), null)
  assert.is(setupTokenOf('#token=has spaces in it!!'), null)
  assert.is(setupTokenOf('#x=1&token=abcdefghijklmnopqrstu'), 'abcdefghijklmnopqrstu')
})

test('roles: each opens its own pages; public pages are open to all', () => {
  const patient = parseRoute('/app/patient/consents')
  const clinician = parseRoute(`/app/clinician/patients/${HEX}`)
  const admin = parseRoute('/app/admin/accounts')
  assert.equal([mayOpen(patient, 'patient'), mayOpen(patient, 'clinician'), mayOpen(patient, 'admin')], [true, false, false])
  assert.equal([mayOpen(clinician, 'clinician'), mayOpen(clinician, 'researcher'), mayOpen(clinician, 'patient')], [true, true, false])
  assert.equal([mayOpen(admin, 'admin'), mayOpen(admin, 'clinician')], [true, false])
  assert.ok(isPublic(parseRoute('/app/sign-in')) && !isPublic(patient))
  const research = parseRoute('/app/research')
  assert.equal(research, { page: 'research' })
  assert.equal([mayOpen(research, 'researcher'), mayOpen(research, 'admin'), mayOpen(research, 'clinician'), mayOpen(research, 'patient')], [true, true, false, false])
  assert.equal(parseRoute('/app/patient/research'), { page: 'patient', tab: 'research' })
  assert.equal(parseRoute('/app/research/extra'), { page: 'not-found' })
  const model = parseRoute('/app/models/bafkreigkops5a7ldrkogqhi54kxh6nqvhatj4hqkgwfrhlojxj2p46pdx4')
  assert.equal(model, { page: 'model', cid: 'bafkreigkops5a7ldrkogqhi54kxh6nqvhatj4hqkgwfrhlojxj2p46pdx4' })
  assert.equal([mayOpen(model, 'researcher'), mayOpen(model, 'clinician'), mayOpen(model, 'admin'), mayOpen(model, 'patient')], [true, true, true, false])
  assert.equal(parseRoute('/app/models/not a cid!'), { page: 'not-found' })
  assert.is(homeOf('patient'), '/app/patient/images')
  assert.is(homeOf('researcher'), '/app/clinician')
  assert.is(homeOf('admin'), '/app/admin/status')
})

test.run()
