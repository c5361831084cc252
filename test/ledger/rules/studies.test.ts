// Studies and series on the ledger (issue 13 item 3, docs/design.md §5 "Studies and series"): a
// DICOM image.add carries its series place (pseudonymous series and instance ids, InstanceNumber)
// and names its study as its record; the study lists its slices in series then InstanceNumber
// order; a series place without a study is BAD_STUDY; a consent may name a study of the patient's,
// and one naming any other record is FOREIGN_RECORD; a re-keyed slice keeps its place.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { toHex } from '../../../protocol/bytes.ts'
import { encode } from '../../../protocol/codec.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { decodeTx, patientIdOf } from '../../../protocol/chain/tx.ts'
import type { TxBodies } from '../../../protocol/chain/tx.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, openLedger, registerBody, testConsortium, testIdentity } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
const patient = testIdentity(71)
const pid = patientIdOf(patient.publicKey)
const other = testIdentity(72)
const TIME = 1_700_000_000_000
const clock = (): number => TIME + 60_000
test.after.each(cleanup)

const study = new Uint8Array(16).fill(0x51)
const seriesA = new Uint8Array(16).fill(0x0a)
const seriesB = new Uint8Array(16).fill(0x0b)

async function cid (n: number): Promise<CID> {
  return CID.createV1(0x55, await sha256.digest(new Uint8Array([n, n >> 8])))
}

async function slice (n: number, series: Uint8Array, num: number, record: Uint8Array | null = study): Promise<TxBodies['image.add']> {
  return {
    patient: pid, record, raw: await cid(n), result: null, modality: 'CT', size: 10, model: null, score: null, keys: [],
    dicom: { series, instance: new Uint8Array(16).fill(n), number: num }
  }
}

test('a study lists its slices by series and InstanceNumber, whatever order they were recorded in', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  try {
    await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, patient, A), 0, TIME))
    // 12 slices of series A and 3 of series B, recorded out of order (numbers past 9 sort as numbers).
    const order = [11, 3, 7, 1, 10, 2, 12, 5, 4, 9, 6, 8]
    for (const n of order) await ledger.submitOwn('image.add', await slice(n, seriesA, n))
    for (const n of [3, 1, 2]) await ledger.submitOwn('image.add', await slice(100 + n, seriesB, n))
    const images = await ledger.queries.studyImages(pid, study)
    assert.is(images.length, 15)
    const inA = images.filter(i => i.dicom !== undefined && toHex(i.dicom.series) === toHex(seriesA)).map(i => i.dicom?.number)
    assert.equal(inA, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], 'series A in slice order')
    assert.equal(images.slice(0, 12).map(i => toHex(i.dicom?.series ?? new Uint8Array())), Array(12).fill(toHex(seriesA)), 'a series is one contiguous run')
    assert.ok(await ledger.queries.recordExists(pid, study), 'the study is one of the patient\'s records')
    assert.not.ok(await ledger.queries.recordExists(pid, new Uint8Array(16).fill(0x52)))
    // An image without a series place stays out of the study listing.
    const { dicom: _place, ...loose } = await slice(200, seriesA, 1)
    await ledger.submitOwn('image.add', loose)
    assert.is((await ledger.queries.studyImages(pid, study)).length, 15)
  } finally {
    await ledger.stop()
  }
})

test('a series place without a study is BAD_STUDY, locally and in another member\'s block', async () => {
  const ledger = await openLedger(genesis, A)
  try {
    await rejects(async () => await ledger.submitOwn('image.add', await slice(1, seriesA, 1, null)), 'BAD_STUDY')
    const now = Date.now()
    const bad = makeTx(id, B, 'image.add', await slice(2, seriesA, 1, null), 0, now - 10)
    await rejects(async () => await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: now, txs: [bad] }).bytes), 'BAD_STUDY')
    assert.is(await ledger.block(B.publicKey, 0), undefined)
  } finally {
    await ledger.stop()
  }
})

test('the series place is omitted from the canonical bytes when absent, and its fields are checked', async () => {
  const plain = { ...(await slice(1, seriesA, 1, null)) }
  delete plain.dicom
  const tx = makeTx(id, A, 'image.add', plain, 0)
  const decoded = decodeTx(encode(tx))
  assert.not.ok('dicom' in decoded.tx.body, 'no dicom key when the image has no series place')
  for (const dicom of [
    { series: new Uint8Array(15), instance: new Uint8Array(16), number: 1 },
    { series: new Uint8Array(16), instance: new Uint8Array(17), number: 1 },
    { series: new Uint8Array(16), instance: new Uint8Array(16), number: -1 },
    { series: new Uint8Array(16), instance: new Uint8Array(16), number: 2 ** 31 },
    { series: new Uint8Array(16), instance: new Uint8Array(16) }
  ]) {
    const bad = makeTx(id, A, 'image.add', { ...(await slice(1, seriesA, 1)), dicom: dicom as never }, 0)
    let code = ''
    try { decodeTx(encode(bad)) } catch (err) { code = (err as { code: string }).code }
    assert.is(code, 'BAD_SCHEMA', JSON.stringify(Object.keys(dicom)))
  }
})

test('a consent may name a study of the patient\'s; a record the patient does not have is FOREIGN_RECORD', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  try {
    await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, patient, A), 0, TIME))
    await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, other, A), 1, TIME))
    await ledger.submitOwn('image.add', await slice(1, seriesA, 1))
    const grant = (signer: typeof patient, record: Uint8Array, seq: number) => makeTx(id, signer, 'consent.grant', {
      grantee: B.publicKey, kind: 'hospital', purpose: 'treatment', scope: { kind: 'record', record }, expires: 1_900_000_000_000, keys: []
    }, seq, TIME + seq)
    await rejects(async () => await ledger.submit(grant(patient, new Uint8Array(16).fill(0x52), 1)), 'FOREIGN_RECORD')
    await rejects(async () => await ledger.submit(grant(other, study, 1)), 'FOREIGN_RECORD')
    await ledger.submit(grant(patient, study, 2))
    const consents = await ledger.queries.consentsOf(pid)
    assert.is(consents.length, 1)
    assert.equal(consents[0].scope, { kind: 'record', record: study })
    // A record opened by record.create (no image yet) may be named too.
    const opened = new Uint8Array(16).fill(0x53)
    await ledger.submitOwn('record.create', { patient: pid, record: opened })
    await ledger.submit(grant(patient, opened, 3))
  } finally {
    await ledger.stop()
  }
})

test('a re-keyed slice keeps its place in its series under its new CID', async () => {
  const ledger = await openLedger(genesis, A, { clock })
  try {
    await ledger.submit(makeTx(id, A, 'account.register', registerBody(id, patient, A), 0, TIME))
    for (const n of [1, 2, 3]) await ledger.submitOwn('image.add', await slice(n, seriesA, n))
    const old = await cid(2)
    const fresh = await cid(42)
    await ledger.submitOwn('image.rekey', { patient: pid, old: { raw: old, result: null }, raw: fresh, result: null, keys: [] })
    const images = await ledger.queries.studyImages(pid, study)
    assert.equal(images.map(i => [i.dicom?.number, i.raw.toString()]), [[1, (await cid(1)).toString()], [2, fresh.toString()], [3, (await cid(3)).toString()]])
  } finally {
    await ledger.stop()
  }
})

test.run()
