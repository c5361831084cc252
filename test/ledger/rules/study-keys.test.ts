// Study keys on the ledger (docs/design.md §5 "Study keys"): a custodian records one `study.key` per
// (patient, study, key id) and seals its instances' data keys under it; a consent naming the study
// carries the study key bound for the grantee's hospital. Every rule, locally and in another
// member's block: STUDY_KEY_EXISTS, BAD_STUDY_KEY, NO_STUDY_KEY (no key, or another custodian's),
// BAD_STUDY_SEAL, BAD_STUDY, and for grants BAD_CONSENT, CONSENT_KEYS_UNBOUND and FOREIGN_RECORD.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { encode } from '../../../protocol/codec.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { BOUND_WRAPPED_KEY_BYTES, WRAPPED_KEY_BYTES } from '../../../protocol/crypto/key-wrap.ts'
import { STUDY_SEALED_KEY_BYTES } from '../../../protocol/crypto/study-key.ts'
import { decodeTx, encodeTx, patientIdOf } from '../../../protocol/chain/tx.ts'
import type { TxBodies } from '../../../protocol/chain/tx.ts'
import type { GrantedStudyKey } from '../../../protocol/chain/study-tx.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, openLedger, registerBody, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
const patient = testIdentity(81)
const pid = patientIdOf(patient.publicKey)
const other = testIdentity(82)
const TIME = 1_700_000_000_000
const clock = (): number => TIME + 60_000
test.after.each(cleanup)

const study = new Uint8Array(16).fill(0x61)
const kid = new Uint8Array(16).fill(0x71)
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v)

async function cid (n: number): Promise<CID> {
  return CID.createV1(0x55, await sha256.digest(new Uint8Array([n, n >> 8])))
}

function studyKey (k: Uint8Array = kid, patientId: Uint8Array = pid, record: Uint8Array = study): TxBodies['study.key'] {
  return { patient: patientId, record, kid: k, keys: [{ to: fill(32, 1), key: fill(WRAPPED_KEY_BYTES, 2) }, { to: fill(32, 3), key: fill(WRAPPED_KEY_BYTES, 4) }] }
}

async function sealed (n: number, k: Uint8Array = kid, opts: { result?: boolean, record?: Uint8Array | null } = {}): Promise<TxBodies['image.add']> {
  const result = opts.result === true ? await cid(1000 + n) : null
  return {
    patient: pid, record: opts.record === undefined ? study : opts.record, raw: await cid(n), result, modality: 'CT', size: 10, model: null, score: null, keys: [],
    ...(opts.record === null ? {} : { dicom: { series: fill(16, 9), instance: fill(16, n), number: n } }),
    study: { kid: k, raw: fill(STUDY_SEALED_KEY_BYTES, 5), result: result === null ? null : fill(STUDY_SEALED_KEY_BYTES, 6) }
  }
}

function grant (studies: GrantedStudyKey[], opts: { signer?: typeof patient, seq?: number, scope?: TxBodies['consent.grant']['scope'] } = {}) {
  const seq = opts.seq ?? 1
  return makeTx(id, opts.signer ?? patient, 'consent.grant', {
    grantee: B.publicKey, kind: 'hospital', purpose: 'treatment', scope: opts.scope ?? { kind: 'record', record: study }, expires: 1_900_000_000_000, keys: [], studies
  }, seq, TIME + seq)
}

const entry = (over: Partial<GrantedStudyKey> = {}): GrantedStudyKey => ({ record: study, custodian: A.publicKey, kid, key: fill(BOUND_WRAPPED_KEY_BYTES, 7), ...over })

test('a custodian records one study key per id; a second, an empty or a doubled one is refused', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  try {
    await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, patient, A), 0, TIME))
    await ledger.submitOwn('study.key', studyKey())
    await rejects(async () => await ledger.submitOwn('study.key', studyKey()), 'STUDY_KEY_EXISTS')
    await rejects(async () => await ledger.submitOwn('study.key', { ...studyKey(fill(16, 0x72)), keys: [] }), 'BAD_STUDY_KEY')
    const twice = studyKey(fill(16, 0x73))
    await rejects(async () => await ledger.submitOwn('study.key', { ...twice, keys: [twice.keys[0], { ...twice.keys[1], to: twice.keys[0].to }] }), 'BAD_STUDY_KEY')
    const keys = await ledger.queries.studyKeysOf(pid, study)
    assert.is(keys.length, 1)
    assert.equal(keys[0].kid, kid)
    assert.equal(keys[0].custodian, A.publicKey)
    assert.equal(keys[0].keys, studyKey().keys)
    assert.is((await ledger.queries.studyKeysOf(pid)).length, 1)
    // In the patient's history, like the images it opens.
    assert.ok((await ledger.queries.getPatientHashHistory(pid)).some(e => e.type === 'study.key'))
  } finally {
    await ledger.stop()
  }
})

test('an instance sealed under a study key needs that key recorded by its own custodian first', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  try {
    await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, patient, A), 0, TIME))
    await rejects(async () => await ledger.submitOwn('image.add', await sealed(1)), 'NO_STUDY_KEY')
    await ledger.submitOwn('study.key', studyKey())
    await ledger.submitOwn('image.add', await sealed(1))
    await ledger.submitOwn('image.add', await sealed(2, kid, { result: true }))
    await rejects(async () => await ledger.submitOwn('image.add', await sealed(3, fill(16, 0x7f))), 'NO_STUDY_KEY')
    // A result sealed without a result, or none sealed for one, is BAD_STUDY_SEAL.
    const noResultKey = await sealed(4, kid, { result: true })
    await rejects(async () => await ledger.submitOwn('image.add', { ...noResultKey, study: { ...noResultKey.study as NonNullable<typeof noResultKey.study>, result: null } }), 'BAD_STUDY_SEAL')
    const extra = await sealed(5)
    await rejects(async () => await ledger.submitOwn('image.add', { ...extra, study: { ...extra.study as NonNullable<typeof extra.study>, result: fill(STUDY_SEALED_KEY_BYTES, 6) } }), 'BAD_STUDY_SEAL')
    await rejects(async () => await ledger.submitOwn('image.add', await sealed(6, kid, { record: null })), 'BAD_STUDY')
    const images = await ledger.queries.studyImages(pid, study)
    assert.is(images.length, 2)
    assert.equal(images[0].study?.kid, kid)

    // B's block (linking A's chain) may not seal under A's study key: a study key is its custodian's alone.
    const now = clock()
    const links = ledger.heads().filter(h => Buffer.compare(h.author, A.publicKey) === 0)
    const foreign = makeTx(id, B, 'image.add', await sealed(7), 0, now - 10)
    await rejects(async () => await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: now, links, txs: [foreign] }).bytes), 'NO_STUDY_KEY')
    // Nor record one in A's name.
    const forged = makeTx(id, A, 'study.key', studyKey(fill(16, 0x74)), 50, now - 10)
    await rejects(async () => await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: now, links, txs: [forged] }).bytes), 'UNAUTHORISED_SIGNER')
    // B's own key, then B's instance, in one block: accepted in order.
    const own = makeTx(id, B, 'study.key', studyKey(), 0, now - 10)
    const ok = makeTx(id, B, 'image.add', await sealed(8), 1, now - 10)
    await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: now, links, txs: [own, ok] }).bytes)
    assert.is((await ledger.queries.studyKeysOf(pid, study)).length, 2, 'one key per custodian')
  } finally {
    await ledger.stop()
  }
})

test('the study seal is omitted from the bytes when absent, and its fields are checked', async () => {
  const { study: _seal, ...plain } = await sealed(1)
  assert.not.ok('study' in decodeTx(encode(makeTx(id, A, 'image.add', plain, 0))).tx.body)
  const good = await sealed(1)
  for (const bad of [
    { ...good.study, kid: fill(15, 1) },
    { ...good.study, raw: fill(STUDY_SEALED_KEY_BYTES - 1, 1) },
    { ...good.study, result: fill(STUDY_SEALED_KEY_BYTES + 1, 1) },
    { kid, raw: fill(STUDY_SEALED_KEY_BYTES, 1) }
  ]) {
    let code = ''
    try { decodeTx(encode(makeTx(id, A, 'image.add', { ...good, study: bad as never }, 0))) } catch (err) { code = (err as { code: string }).code }
    assert.is(code, 'BAD_SCHEMA')
  }
})

test('a consent carries the study key of the study it names: bound, in scope, the patient\'s own, once', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  try {
    await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, patient, A), 0, TIME))
    await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, other, A), 1, TIME))
    await ledger.submitOwn('study.key', studyKey())
    for (let n = 1; n <= 5; n++) await ledger.submitOwn('image.add', await sealed(n))
    // Another patient's study with its own key.
    const elsewhere = fill(16, 0x62)
    await ledger.submitOwn('study.key', studyKey(fill(16, 0x75), patientIdOf(other.publicKey), elsewhere))

    await rejects(async () => await ledger.submit(grant([entry({ key: fill(WRAPPED_KEY_BYTES, 7) })])), 'CONSENT_KEYS_UNBOUND')
    await rejects(async () => await ledger.submit(grant([entry(), entry()])), 'BAD_CONSENT')
    await rejects(async () => await ledger.submit(grant([entry({ record: elsewhere })])), 'BAD_CONSENT')
    await rejects(async () => await ledger.submit(grant([entry()], { scope: { kind: 'images', images: [await cid(1)] } })), 'BAD_CONSENT')
    await rejects(async () => await ledger.submit(grant([entry({ kid: fill(16, 0x7e) })])), 'FOREIGN_RECORD')
    await rejects(async () => await ledger.submit(grant([entry({ custodian: B.publicKey })])), 'FOREIGN_RECORD')
    // The other patient cannot hand over this patient's study key, nor this one the other's.
    await rejects(async () => await ledger.submit(grant([entry()], { signer: other })), 'FOREIGN_RECORD')
    await rejects(async () => await ledger.submit(grant([entry({ record: elsewhere, kid: fill(16, 0x75) })], { scope: { kind: 'all' } })), 'FOREIGN_RECORD')

    const ok = grant([entry()], { seq: 2 })
    assert.ok(encodeTx(ok).bytes.length < 1024, 'one study key, however many instances')
    await ledger.submit(ok)
    const [consent] = await ledger.queries.consentsOf(pid)
    assert.equal(consent.studies, [entry()])
    // A consent to all images may carry it too.
    await ledger.submit(grant([entry()], { seq: 3, scope: { kind: 'all' } }))

    // The same rules bind another member's block, which sees A's chain through its links: an
    // unknown key id is refused, and so is a real key not yet in the block's causal past.
    const now = clock()
    const links = ledger.heads().filter(h => Buffer.compare(h.author, A.publicKey) === 0)
    const carried = (k: Uint8Array, seq: number) => makeTx(id, patient, 'consent.grant', { grantee: B.publicKey, kind: 'hospital', purpose: 'research', scope: { kind: 'all' }, expires: now + 86_400_000, keys: [], studies: [entry({ kid: k })] }, seq, now - 10)
    await rejects(async () => await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: now, links, txs: [carried(fill(16, 0x7e), 9)] }).bytes), 'FOREIGN_RECORD')
    await rejects(async () => await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: now, txs: [carried(kid, 10)] }).bytes), 'FOREIGN_RECORD')
    await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: now, links, txs: [carried(kid, 11)] }).bytes)
  } finally {
    await ledger.stop()
  }
})

test('a re-keyed instance drops the seal of its old keys, or is sealed under a study key of its own study', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  try {
    await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, patient, A), 0, TIME))
    await ledger.submitOwn('study.key', studyKey())
    for (const n of [1, 3, 5]) await ledger.submitOwn('image.add', await sealed(n))
    await ledger.submitOwn('image.rekey', { patient: pid, old: { raw: await cid(1), result: null }, raw: await cid(2), result: null, keys: [] })
    const [image] = await ledger.queries.studyImages(pid, study)
    assert.ok(image.raw.equals(await cid(2)))
    assert.is(image.study, undefined)

    // A fresh key of the same study seals a re-keyed instance; an unknown key or another study's does not.
    const renewed = fill(16, 0x76)
    await ledger.submitOwn('study.key', studyKey(renewed))
    const elsewhere = fill(16, 0x63)
    await ledger.submitOwn('study.key', studyKey(fill(16, 0x77), pid, elsewhere))
    const rekey = async (n: number, k: Uint8Array) => ({ patient: pid, old: { raw: await cid(n), result: null }, raw: await cid(n + 1), result: null, keys: [], study: { kid: k, raw: fill(STUDY_SEALED_KEY_BYTES, 8), result: null } })
    await rejects(async () => await ledger.submitOwn('image.rekey', await rekey(3, fill(16, 0x7d))), 'NO_STUDY_KEY')
    await rejects(async () => await ledger.submitOwn('image.rekey', await rekey(3, fill(16, 0x77))), 'NO_STUDY_KEY')
    await rejects(async () => await ledger.submitOwn('image.rekey', { ...await rekey(3, renewed), study: { kid: renewed, raw: fill(STUDY_SEALED_KEY_BYTES, 8), result: fill(STUDY_SEALED_KEY_BYTES, 9) } }), 'BAD_STUDY_SEAL')
    await ledger.submitOwn('image.rekey', await rekey(3, renewed))
    const byCid = new Map((await ledger.queries.studyImages(pid, study)).map(i => [i.raw.toString(), i]))
    assert.equal(byCid.get((await cid(4)).toString())?.study?.kid, renewed, 'sealed under the renewed key')
    // An image outside any study has no study key to be sealed under.
    const { dicom: _p, study: _s, ...loose } = await sealed(40)
    await ledger.submitOwn('image.add', { ...loose, record: null })
    await rejects(async () => await ledger.submitOwn('image.rekey', await rekey(40, renewed)), 'BAD_STUDY')
  } finally {
    await ledger.stop()
  }
})

test.run()
