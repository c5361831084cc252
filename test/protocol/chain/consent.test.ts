// Consent builders as the patient's browser uses them: a grant re-wraps the patient's image keys
// for the grantee's hospital peer (never for a user) and verifies under both verifiers and on a real ledger; forged, foreign or
// inconsistent consents fail; the tx transport round-trips and rejects bad input with codes.
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toBase64 } from '../../../protocol/base64.ts'
import { utf8 } from '../../../protocol/bytes.ts'
import { encode } from '../../../protocol/codec.ts'
import { accountRegistrationBody, accountRegistrationProof, buildConsentGrant, buildConsentRevoke, MAX_CONSENT_IMAGES } from '../../../protocol/chain/consent.ts'
import type { ConsentGrantInput } from '../../../protocol/chain/consent.ts'
import { MAX_TX_BYTES } from '../../../protocol/constants.ts'
import { nobleIdentity, nobleVerify } from '../../../protocol/crypto/ed25519.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { unwrapBoundKey, unwrapKey, wrapKey } from '../../../protocol/crypto/key-wrap.ts'
import { accountPopBytes, encodeTx, patientIdOf, signTx, verifyTx } from '../../../protocol/chain/tx.ts'
import type { Tx } from '../../../protocol/chain/tx.ts'
import { txFromBase64, txToBase64 } from '../../../protocol/chain/tx-transport.ts'
import { generateUserKeys, hospitalBoxPublicKey, hospitalBoxSecretKey, secureRandomBytes } from '../../../protocol/crypto/user-keys.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { rejects, throwsCode } from '../../helpers/assert.ts'
import { cleanup, openLedger, testConsortium, testIdentity, testSeed } from '../../helpers/ledger/fixture.ts'

const ledgerId = sha256(utf8('consent test ledger'))
const patient = generateUserKeys()
const otherPatient = generateUserKeys()
const clinician = generateUserKeys()
const hospitalSeed = testSeed(9)
const hospital = testIdentity(9)
const cid = (n: number): CID => CID.create(1, 0x55, Digest.create(0x12, sha256(new Uint8Array([n & 255, n >> 8]))))

/** Three images as `image.add` left them: data keys wrapped for the patient (the last has no result). */
const dataKeys = [0, 1, 2].map(() => ({ raw: secureRandomBytes(32), result: secureRandomBytes(32) }))
const images = dataKeys.map((k, i) => ({
  cid: cid(i),
  raw: wrapKey(k.raw, patient.boxPub),
  result: i === 2 ? null : wrapKey(k.result, patient.boxPub)
}))

function grantInput (patch: Partial<ConsentGrantInput> = {}): ConsentGrantInput {
  return {
    ledgerId,
    patient,
    grantee: clinician.signPub,
    kind: 'user',
    granteeHospital: hospital.publicKey,
    purpose: 'treatment',
    scope: { kind: 'all' },
    expires: 1_800_000_000_000,
    images,
    seq: 1,
    time: 1_700_000_000_000,
    ...patch
  }
}

test.after(cleanup)

test('a grant is signed by the patient and verifies under noble and node:crypto', () => {
  const tx = buildConsentGrant(grantInput())
  assert.is(tx.type, 'consent.grant')
  assert.equal(tx.signer, patient.signPub)
  verifyTx(ledgerId, tx, nobleVerify)
  verifyTx(ledgerId, tx, nodeVerify)
  assert.is(tx.body.keys.length, 3)
  assert.equal(tx.body.keys.map(k => k.image.toString()), images.map(i => i.cid.toString()))
})

test('a grant to a user wraps every key for the user\'s hospital peer, bound to its image; the user cannot open one', () => {
  const tx = buildConsentGrant(grantInput())
  const secret = hospitalBoxSecretKey(hospitalSeed)
  tx.body.keys.forEach((k, i) => {
    assert.equal(unwrapBoundKey(k.raw, 'raw', k.image.bytes, secret), dataKeys[i].raw)
    if (i === 2) assert.is(k.result, null)
    else assert.equal(unwrapBoundKey(k.result ?? new Uint8Array(0), 'result', k.image.bytes, secret), dataKeys[i].result)
    assert.not.equal(k.raw, images[i].raw)
    // Issue 11.3: the grantee holds no key of their own, so none outlives the consent.
    throwsCode(() => unwrapKey(k.raw, clinician.boxSecret), 'BAD_WRAPPED_KEY')
    throwsCode(() => unwrapBoundKey(k.raw, 'raw', k.image.bytes, clinician.boxSecret), 'BAD_WRAPPED_KEY')
  })
})

test('a grant to a hospital wraps keys bound to their image, for the box key derived from its member key', () => {
  const tx = buildConsentGrant(grantInput({ grantee: hospital.publicKey, kind: 'hospital', granteeHospital: undefined, purpose: 'research' }))
  const secret = hospitalBoxSecretKey(hospitalSeed)
  const [first, second] = tx.body.keys
  assert.equal(unwrapBoundKey(first.raw, 'raw', first.image.bytes, secret), dataKeys[0].raw)
  // The binding is checked: another image, the other part, or an unbound open all fail.
  throwsCode(() => unwrapBoundKey(first.raw, 'raw', second.image.bytes, secret), 'BAD_WRAPPED_KEY')
  throwsCode(() => unwrapBoundKey(first.raw, 'result', first.image.bytes, secret), 'BAD_WRAPPED_KEY')
  throwsCode(() => unwrapKey(first.raw, secret), 'BAD_WRAPPED_KEY')
  // A plain key wrapped for the hospital (as in an image.add) cannot pass for a bound one.
  throwsCode(() => unwrapBoundKey(wrapKey(dataKeys[0].raw, hospitalBoxPublicKey(hospital.publicKey)), 'raw', first.image.bytes, secret), 'BAD_WRAPPED_KEY')
  const same = buildConsentGrant(grantInput({ grantee: hospital.publicKey, kind: 'hospital', granteeHospital: hospital.publicKey }))
  assert.equal(unwrapBoundKey(same.body.keys[1].raw, 'raw', same.body.keys[1].image.bytes, secret), dataKeys[1].raw)
  throwsCode(() => buildConsentGrant(grantInput({ grantee: hospital.publicKey, kind: 'hospital', granteeHospital: clinician.signPub })), 'BAD_CONSENT')
  throwsCode(() => buildConsentGrant(grantInput({ grantee: new Uint8Array(32), kind: 'hospital', granteeHospital: undefined })), 'BAD_KEY')
})

test('a consent claimed by another patient, or changed after signing, fails verification', () => {
  const tx = buildConsentGrant(grantInput())
  const claimed: Tx = { ...tx, signer: otherPatient.signPub }
  throwsCode(() => verifyTx(ledgerId, claimed, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyTx(ledgerId, claimed, nobleVerify), 'BAD_SIGNATURE')
  const changes: Tx[] = [
    { ...tx, body: { ...tx.body, expires: tx.body.expires + 1 } },
    { ...tx, body: { ...tx.body, purpose: 'research' } },
    { ...tx, body: { ...tx.body, grantee: otherPatient.signPub } },
    { ...tx, body: { ...tx.body, keys: tx.body.keys.slice(1) } },
    { ...tx, seq: 2 }
  ]
  for (const t of changes) throwsCode(() => verifyTx(ledgerId, t, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => verifyTx(sha256(utf8('another ledger')), tx, nodeVerify), 'BAD_SIGNATURE')
})

test('another patient cannot grant this patient\'s images: the keys do not unwrap', () => {
  throwsCode(() => buildConsentGrant(grantInput({ patient: otherPatient })), 'BAD_WRAPPED_KEY')
  const damaged = images.map((img, i) => i === 1 ? { ...img, raw: img.raw.map((b, j) => j === 40 ? b ^ 1 : b) } : img)
  throwsCode(() => buildConsentGrant(grantInput({ images: damaged })), 'BAD_WRAPPED_KEY')
})

test('inconsistent grants are refused before signing', () => {
  throwsCode(() => buildConsentGrant(grantInput({ grantee: patient.signPub })), 'BAD_CONSENT')
  throwsCode(() => buildConsentGrant(grantInput({ expires: 1_700_000_000_000 })), 'BAD_CONSENT')
  throwsCode(() => buildConsentGrant(grantInput({ granteeHospital: undefined })), 'BAD_CONSENT')
  throwsCode(() => buildConsentGrant(grantInput({ images: [images[0], images[0]] })), 'BAD_CONSENT')
  throwsCode(() => buildConsentGrant(grantInput({ scope: { kind: 'images', images: [cid(0), cid(1)] } })), 'BAD_CONSENT')
  // The same scope with only the listed images is fine.
  buildConsentGrant(grantInput({ scope: { kind: 'images', images: [cid(0), cid(1)] }, images: images.slice(0, 2) }))
  throwsCode(() => buildConsentGrant(grantInput({ grantee: new Uint8Array(31) })), 'BAD_SCHEMA')
  throwsCode(() => buildConsentGrant(grantInput({ scope: { kind: 'record', record: new Uint8Array(3) } })), 'BAD_SCHEMA')
  throwsCode(() => buildConsentGrant(grantInput({ granteeHospital: new Uint8Array(31) })), 'BAD_KEY')
  const many = Array.from({ length: 257 }, (_, i) => ({ cid: cid(i), raw: images[0].raw, result: null }))
  throwsCode(() => buildConsentGrant(grantInput({ images: many })), 'TOO_LARGE')
})

test('the largest grant (MAX_CONSENT_IMAGES images, each with a result) fits in one transaction', () => {
  const most = Array.from({ length: MAX_CONSENT_IMAGES }, (_, i) => ({ cid: cid(i), raw: images[0].raw, result: images[1].result }))
  const tx = buildConsentGrant(grantInput({ images: most }))
  assert.ok(encodeTx(tx).bytes.length <= MAX_TX_BYTES)
})

test('a revoke is signed by the patient and names the grantee', () => {
  const tx = buildConsentRevoke({ ledgerId, patient, grantee: clinician.signPub, seq: 2, time: 1_700_000_001_000 })
  assert.equal(tx.body, { grantee: clinician.signPub })
  assert.equal(tx.signer, patient.signPub)
  verifyTx(ledgerId, tx, nodeVerify)
  throwsCode(() => verifyTx(ledgerId, { ...tx, body: { grantee: otherPatient.signPub } }, nodeVerify), 'BAD_SIGNATURE')
  throwsCode(() => buildConsentRevoke({ ledgerId, patient, grantee: new Uint8Array(8), seq: 2, time: 0 }), 'BAD_SCHEMA')
})

test('a revoke may name one purpose; an unknown purpose is refused before signing', () => {
  const tx = buildConsentRevoke({ ledgerId, patient, grantee: clinician.signPub, purpose: 'training', seq: 3, time: 1_700_000_001_000 })
  assert.equal(tx.body, { grantee: clinician.signPub, purpose: 'training' })
  verifyTx(ledgerId, tx, nodeVerify)
  throwsCode(() => verifyTx(ledgerId, { ...tx, body: { grantee: clinician.signPub, purpose: 'treatment' } }, nodeVerify), 'BAD_SIGNATURE')
  // @ts-expect-error: a purpose outside PURPOSES, as untyped input would carry it
  throwsCode(() => buildConsentRevoke({ ledgerId, patient, grantee: clinician.signPub, purpose: 'marketing', seq: 3, time: 0 }), 'BAD_SCHEMA')
})

test('the registration proof verifies over accountPopBytes, and only for the user key', () => {
  const input = { ledgerId, keys: patient, role: 'patient' as const, hospital: hospital.publicKey }
  const pop = accountRegistrationProof(input)
  const body = { user: patient.signPub, box: patient.boxPub, role: 'patient' as const, hospital: hospital.publicKey }
  assert.ok(nodeVerify(patient.signPub, accountPopBytes(ledgerId, body), pop))
  assert.ok(nobleVerify(patient.signPub, accountPopBytes(ledgerId, body), pop))
  assert.not.ok(nodeVerify(patient.signPub, accountPopBytes(ledgerId, { ...body, role: 'admin' }), pop))
  assert.not.ok(nodeVerify(patient.signPub, accountPopBytes(ledgerId, { ...body, box: clinician.boxPub }), pop))
  assert.equal(accountRegistrationBody(input), { ...body, pop })
})

test('txToBase64 / txFromBase64 round-trip a signed grant through JSON', () => {
  const tx = buildConsentGrant(grantInput())
  const json = JSON.stringify({ tx: txToBase64(tx) })
  const parsed = JSON.parse(json) as { tx: unknown }
  const decoded = txFromBase64(parsed.tx)
  assert.equal(decoded.bytes, encodeTx(tx).bytes)
  assert.equal(decoded.id, encodeTx(tx).id)
  verifyTx(ledgerId, decoded.tx, nodeVerify)
})

test('txFromBase64 maps bad input to stable codes', () => {
  const good = txToBase64(buildConsentRevoke({ ledgerId, patient, grantee: clinician.signPub, seq: 2, time: 1 }))
  throwsCode(() => txFromBase64(42), 'BAD_ENCODING')
  throwsCode(() => txFromBase64(null), 'BAD_ENCODING')
  throwsCode(() => txFromBase64(`${good.slice(0, -4)}!!!!`), 'BAD_ENCODING')
  throwsCode(() => txFromBase64(good.slice(0, -1)), 'BAD_ENCODING')
  throwsCode(() => txFromBase64('A'.repeat(Math.ceil(MAX_TX_BYTES / 3) * 4 + 4)), 'TOO_LARGE')
  throwsCode(() => txFromBase64(toBase64(new Uint8Array([0xff, 0x00]))), 'BAD_ENCODING')
  throwsCode(() => txFromBase64(toBase64(new Uint8Array([0x18, 0x01]))), 'NON_CANONICAL')
  throwsCode(() => txFromBase64(toBase64(encode({ type: 'consent.revoke' }))), 'BAD_SCHEMA')
  throwsCode(() => txFromBase64(''), 'BAD_ENCODING')
})

test('on a real ledger: register, grant (sent as base64), revoke; forged and unregistered consents refused', async () => {
  const { genesis, hospitals } = testConsortium(1)
  const ledger = await openLedger(genesis, hospitals[0])
  const reg = accountRegistrationBody({ ledgerId: ledger.id, keys: patient, role: 'patient', hospital: hospitals[0].publicKey })
  await ledger.submitOwn('account.register', reg)
  // The ledger takes a grant only to a registered grantee, naming images recorded for this patient.
  await ledger.submitOwn('account.register', accountRegistrationBody({ ledgerId: ledger.id, keys: clinician, role: 'clinician', hospital: hospitals[0].publicKey }))
  for (const image of images) {
    await ledger.submitOwn('image.add', { patient: patientIdOf(patient.signPub), record: null, raw: image.cid, result: null, modality: 'CT', size: 1, model: null, score: null, keys: [] })
  }
  const grant = buildConsentGrant(grantInput({ ledgerId: ledger.id, time: Date.now(), expires: Date.now() + 86_400_000 }))
  await ledger.submit(txFromBase64(txToBase64(grant)).tx)
  const patientId = patientIdOf(patient.signPub)
  let consents = await ledger.queries.consentsOf(patientId)
  assert.is(consents.length, 1)
  assert.is(consents[0].action, 'grant')
  assert.equal(consents[0].keys?.[0].raw, grant.body.keys[0].raw)
  await ledger.submit(buildConsentRevoke({ ledgerId: ledger.id, patient, grantee: clinician.signPub, seq: 2, time: Date.now() }))
  consents = await ledger.queries.consentsOf(patientId)
  assert.equal(consents.map(c => [c.purpose, c.action]), [['research', 'revoke'], ['training', 'revoke'], ['treatment', 'revoke']], 'a revoke without purpose ends every purpose')
  await rejects(() => ledger.submit({ ...grant, seq: 3 }), 'BAD_SIGNATURE')
  const stranger = buildConsentRevoke({ ledgerId: ledger.id, patient: otherPatient, grantee: clinician.signPub, seq: 1, time: Date.now() })
  await rejects(() => ledger.submit(stranger), 'UNAUTHORISED_SIGNER')
  // A key a user could open (a plain box, not one bound for a hospital) is refused by the ledger.
  const plain = { ...grant.body, keys: [{ image: images[0].cid, raw: wrapKey(dataKeys[0].raw, clinician.boxPub), result: null }] }
  const identity = nobleIdentity(patient.signSeed)
  await rejects(() => ledger.submit(signTx(ledger.id, { type: 'consent.grant', body: plain, signer: patient.signPub, seq: 5, time: Date.now() }, identity)), 'CONSENT_KEYS_UNBOUND')
  // A grant signed for another ledger does not verify on this one.
  await rejects(() => ledger.submit(buildConsentGrant(grantInput({ seq: 4 }))), 'BAD_SIGNATURE')
})

test.run()
