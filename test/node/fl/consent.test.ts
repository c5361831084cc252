// "Images without a live training consent are never read for training (counted)" (issue 4): the
// filter between a hospital's images and local training, on a real ledger with consents signed by
// the patients — no consent, revoked, expired, another purpose only, another grantee, a scope that
// does not cover the image, a training revoke beside a live treatment consent and the reverse — and
// images loaded on demand are loaded only when kept.
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { utf8 } from '../../../protocol/bytes.ts'
import { patientIdOf } from '../../../protocol/chain/tx.ts'
import type { Purpose, TxBodies } from '../../../protocol/chain/tx.ts'
import type { ConsentRecord } from '../../../ledger/queries/queries.ts'
import { filterByTrainingConsent, sampleOf, trainingConsentStatus } from '../../../node/fl/round/consent.ts'
import type { TrainingItem } from '../../../node/fl/round/consent.ts'
import { cleanup, makeTx, openLedger, registerBody, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'
import { phantoms } from './fixture.ts'

test.after.each(async () => {
  await cleanup()
})

const NOW = 1_800_000_000_000
const cidOf = async (s: string): Promise<CID> => CID.create(1, raw.code, await sha256.digest(utf8(s)))

function grant (over: Partial<ConsentRecord> = {}): ConsentRecord {
  return { grantee: new Uint8Array(32), action: 'grant', seq: 0, tx: new Uint8Array(32), time: 1, kind: 'hospital', purpose: 'training', scope: { kind: 'all' }, expires: NOW + 1, keys: [], ...over }
}

test('trainingConsentStatus: only a live hospital grant for training whose scope covers the image', async () => {
  const image = await cidOf('image')
  const record = new Uint8Array(16).fill(3)
  const item = { cid: image, record }
  assert.is(trainingConsentStatus(grant(), item, NOW), 'live')
  assert.is(trainingConsentStatus(undefined, item, NOW), 'no-consent')
  assert.is(trainingConsentStatus(grant({ action: 'revoke' }), item, NOW), 'revoked')
  // The filter hands only training records to this check; given another purpose it still refuses.
  assert.is(trainingConsentStatus(grant({ purpose: 'research' }), item, NOW), 'other-purpose')
  assert.is(trainingConsentStatus(grant({ purpose: 'treatment' }), item, NOW), 'other-purpose')
  assert.is(trainingConsentStatus(grant({ kind: 'user' }), item, NOW), 'other-purpose')
  assert.is(trainingConsentStatus(grant({ expires: NOW }), item, NOW), 'expired', 'expiry is exclusive')
  assert.is(trainingConsentStatus(grant({ expires: undefined }), item, NOW), 'expired')
  assert.is(trainingConsentStatus(grant({ scope: undefined }), item, NOW), 'out-of-scope')
  assert.is(trainingConsentStatus(grant({ scope: { kind: 'record', record } }), item, NOW), 'live')
  assert.is(trainingConsentStatus(grant({ scope: { kind: 'record', record: new Uint8Array(16) } }), item, NOW), 'out-of-scope')
  assert.is(trainingConsentStatus(grant({ scope: { kind: 'record', record } }), { cid: image }, NOW), 'out-of-scope', 'an item without a record')
  assert.is(trainingConsentStatus(grant({ scope: { kind: 'images', images: [await cidOf('x'), image] } }), item, NOW), 'live')
  assert.is(trainingConsentStatus(grant({ scope: { kind: 'images', images: [await cidOf('x')] } }), item, NOW), 'out-of-scope')
  assert.is(trainingConsentStatus(grant({ scope: { kind: 'images', images: [image] } }), { record }, NOW), 'out-of-scope', 'an item without a CID')
})

test('on a real ledger: kept items are exactly the live ones, the rest counted by reason and never loaded', async () => {
  const { genesis, hospitals } = testConsortium(2)
  const [hospital, other] = hospitals
  const ledger = await openLedger(genesis, hospital)
  const patients = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(i => testIdentity(500 + i))
  await Promise.all(patients.map(async p => await ledger.submitOwn('account.register', registerBody(ledger.id, p, hospital))))
  const now = Date.now()
  const body = (over: Partial<TxBodies['consent.grant']> = {}): TxBodies['consent.grant'] => ({
    grantee: hospital.publicKey, kind: 'hospital', purpose: 'training', scope: { kind: 'all' }, expires: now + 3600_000, keys: [], ...over
  })
  const submit = async (i: number, grantBody: TxBodies['consent.grant'] | 'revoke' | Purpose, seq: number, time = now): Promise<void> => {
    const tx = typeof grantBody === 'string'
      ? makeTx(ledger.id, patients[i], 'consent.revoke', grantBody === 'revoke' ? { grantee: hospital.publicKey } : { grantee: hospital.publicKey, purpose: grantBody }, seq, time)
      : makeTx(ledger.id, patients[i], 'consent.grant', grantBody, seq, time)
    await ledger.submit(tx)
  }
  await submit(0, body(), 0) // live
  // Expired since: made half an hour ago for twenty minutes (the ledger refuses one expired when made).
  await submit(1, body({ expires: now - 10 * 60_000 }), 0, now - 30 * 60_000)
  await submit(2, body(), 0) // then revoked
  await submit(2, 'revoke', 1)
  await submit(3, body({ purpose: 'research' }), 0) // another purpose only: no training consent at all
  await submit(4, body({ grantee: other.publicKey }), 0) // granted to another hospital
  // Patient 5 registered, never consented. Patient 6: a grant renewed after a revoke is live again.
  await submit(6, body(), 0)
  await submit(6, 'revoke', 1)
  await submit(6, body(), 2)
  // Patient 7: training and treatment, then treatment revoked: training stays live.
  await submit(7, body(), 0)
  await submit(7, body({ purpose: 'treatment' }), 1)
  await submit(7, 'treatment', 2)
  // Patient 8: training and treatment, then training revoked: a live treatment consent does not train.
  await submit(8, body(), 0)
  await submit(8, body({ purpose: 'treatment' }), 1)
  await submit(8, 'training', 2)
  // Patient 9: a training grant to a user (a researcher of this hospital), not to the hospital.
  const researcher = testIdentity(600)
  await ledger.submitOwn('account.register', registerBody(ledger.id, researcher, hospital, 'researcher'))
  await submit(9, body({ kind: 'user', grantee: researcher.publicKey }), 0)

  const [sample] = phantoms(1, 1)
  const loads: number[] = []
  const items: TrainingItem[] = patients.map((p, i) => ({ patient: patientIdOf(p.publicKey), load: async () => { loads.push(i); return sample } }))
  items.push({ ...sample, patient: patientIdOf(patients[0].publicKey) })
  const result = await filterByTrainingConsent(items, { consentsOf: ledger.queries.consentsOf, hospital: hospital.publicKey, now: Date.now() })
  assert.is(result.total, 11)
  assert.is(result.kept.length, 4)
  assert.is(result.excluded, 7)
  // A user grant naming the hospital's own key (other-purpose in the unit test above) is refused by the ledger (UNKNOWN_GRANTEE).
  assert.equal(result.reasons, { 'no-consent': 4, revoked: 2, expired: 1, 'other-purpose': 0, 'out-of-scope': 0 })
  assert.equal(loads, [], 'filtering loads nothing')
  for (const item of result.kept) await sampleOf(item)
  assert.equal(loads, [0, 6, 7], 'only kept items are ever loaded')
})

test.run()
