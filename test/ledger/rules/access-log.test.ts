// The ledger's rules on an access entry that says what the read was (ledger/rules/access.ts): every
// member refuses a listing that names an image, an opening that names none, a consent named on
// another basis or missing under one, a training or validation use credited to a person, and a
// listing or opening by someone the signing hospital never registered as a clinician or researcher.
// An entry without a use (written before uses existed) is still accepted and read as before.
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import type { TxBodies } from '../../../protocol/chain/tx.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, openLedger, registerBody, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
const clock = (): number => 1_700_000_010_000
const clinician = testIdentity(50)
const admin = testIdentity(51)
const patient = testIdentity(52)
const atA = testIdentity(53)
const pid = sha256(patient.publicKey)
const image = CID.create(1, 0x55, Digest.create(0x12, sha256(new Uint8Array([1]))))
const consent = new Uint8Array(32).fill(9)

test.after.each(cleanup)

type Body = TxBodies['access.log']

/** B's chain: register a clinician, an admin and a patient at B (height 0), then one access entry (height 1). */
function chainOfB (body: Body): [Uint8Array, Uint8Array] {
  const first = makeBlock(id, B, {
    height: 0,
    prev: null,
    txs: [
      makeTx(id, B, 'account.register', registerBody(id, clinician, B, 'clinician'), 0),
      makeTx(id, B, 'account.register', registerBody(id, admin, B, 'admin'), 1),
      makeTx(id, B, 'account.register', registerBody(id, patient, B, 'patient'), 2)
    ]
  })
  const second = makeBlock(id, B, { height: 1, prev: first.hash, txs: [makeTx(id, B, 'access.log', body, 3)] })
  return [first.bytes, second.bytes]
}

const listing: Body = { patient: pid, image: null, accessor: clinician.publicKey, basis: 'custodian', consent: null, use: 'list' }

const valid: Array<[string, Body]> = [
  ['a clinician\'s listing, naming no image', listing],
  ['a listing under a consent, naming it', { ...listing, basis: 'consent', consent }],
  ['an emergency opening of one image', { ...listing, image, basis: 'emergency', use: 'open' }],
  ['the hospital\'s training use under a consent', { patient: pid, image, accessor: B.publicKey, basis: 'consent', consent, use: 'train' }],
  ['the hospital\'s validation use under a consent', { patient: pid, image, accessor: B.publicKey, basis: 'consent', consent, use: 'validate' }],
  ['the hospital\'s own opening as custodian (its DICOM network retrieving)', { ...listing, image, accessor: B.publicKey, use: 'open' }],
  ['the hospital\'s own opening under a hospital consent', { ...listing, image, accessor: B.publicKey, basis: 'consent', consent, use: 'open' }],
  ['the hospital\'s own listing as custodian (its DICOM network answering a C-FIND)', { ...listing, accessor: B.publicKey }],
  ['the hospital\'s own listing under a hospital consent', { ...listing, accessor: B.publicKey, basis: 'consent', consent }],
  ['an entry from before uses existed (no use)', { patient: pid, image, accessor: clinician.publicKey, basis: 'custodian', consent: null }]
]

for (const [what, body] of valid) {
  test(`accepted: ${what}`, async () => {
    const ledger = await openLedger(genesis, A, { clock })
    const [b0, b1] = chainOfB(body)
    assert.is(await ledger.receive(b0), 'appended')
    assert.is(await ledger.receive(b1), 'appended')
    const [entry] = await ledger.queries.auditOf(pid)
    assert.is(entry.use, body.use)
    assert.is(entry.image?.toString() ?? null, body.image?.toString() ?? null)
  })
}

const refused: Array<[string, Body]> = [
  ['a listing that names an image', { ...listing, image }],
  ['an opening that names no image', { ...listing, use: 'open' }],
  ['a training use that names no image', { ...listing, accessor: B.publicKey, basis: 'consent', consent, use: 'train' }],
  ['a read under a consent that names none', { ...listing, basis: 'consent' }],
  ['a custodian read that names a consent', { ...listing, consent }],
  ['an emergency read that names a consent', { ...listing, basis: 'emergency', consent }],
  ['a training use credited to a clinician', { ...listing, image, accessor: clinician.publicKey, basis: 'consent', consent, use: 'train' }],
  ['a validation use without a consent', { ...listing, image, accessor: B.publicKey, use: 'validate' }],
  ['an emergency listing by the hospital itself', { ...listing, accessor: B.publicKey, basis: 'emergency' }],
  ['a listing credited to another hospital', { ...listing, accessor: A.publicKey }],
  ['a listing by the hospital itself that names an image', { ...listing, image, accessor: B.publicKey }],
  ['an emergency opening by the hospital itself', { ...listing, image, accessor: B.publicKey, basis: 'emergency', use: 'open' }],
  ['a listing by an admin', { ...listing, accessor: admin.publicKey }],
  ['a listing by a patient', { ...listing, accessor: patient.publicKey }],
  ['an opening by a key nobody registered', { ...listing, image, accessor: testIdentity(99).publicKey, use: 'open' }]
]

for (const [what, body] of refused) {
  test(`refused with BAD_ACCESS_LOG: ${what}`, async () => {
    const ledger = await openLedger(genesis, A, { clock })
    const [b0, b1] = chainOfB(body)
    await ledger.receive(b0)
    const size = ledger.size()
    await rejects(async () => await ledger.receive(b1), 'BAD_ACCESS_LOG')
    assert.is(ledger.size(), size)
    assert.is((await ledger.queries.auditOf(pid)).length, 0)
  })
}

test('a listing by another hospital\'s clinician is refused, at the receiver and at local submission', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  const [b0] = chainOfB(listing)
  await ledger.receive(b0)
  // A registers its own clinician, then cannot log a read by B's clinician.
  await ledger.submitOwn('account.register', registerBody(id, atA, A, 'clinician'))
  await rejects(async () => await ledger.submitOwn('access.log', listing), 'BAD_ACCESS_LOG')
  const ok = await ledger.submitOwn('access.log', { ...listing, accessor: atA.publicKey })
  assert.ok(ok.height >= 0)
  const other = await openLedger(genesis, B, { clock })
  await other.receive(b0)
  const foreign = makeBlock(id, A, { height: 0, prev: null, txs: [makeTx(id, A, 'access.log', listing, 0)] })
  await rejects(async () => await other.receive(foreign.bytes), 'BAD_ACCESS_LOG')
})

test.run()
