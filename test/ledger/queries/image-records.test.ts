// Decoded image records are kept by store key (ledger/queries/image-records.ts, issue 14): the same bytes
// give the very record decoded before; other bytes under the same key (a record whose keys were
// re-wrapped) are decoded afresh, never served stale; kept records cannot be changed; the number
// kept is bounded. Through a real ledger: a listing's records are the ones decoded for the last.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { encode } from '../../../protocol/codec.ts'
import type { TxBodies } from '../../../protocol/chain/tx.ts'
import { createImageRecords } from '../../../ledger/queries/image-records.ts'
import type { ImageRecord } from '../../../ledger/queries/queries.ts'
import { cleanup, openLedger, testConsortium } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A] } = testConsortium(1)
test.after.each(cleanup)

async function imageAdd (n: number, patient = new Uint8Array(32).fill(5)): Promise<TxBodies['image.add']> {
  const raw = CID.createV1(0x55, await sha256.digest(new Uint8Array([n])))
  return { patient, record: null, raw, result: null, modality: 'CT', size: 10, model: null, score: null, keys: [] }
}

async function recordBytes (n: number, wrap: number): Promise<Uint8Array> {
  const body = await imageAdd(n)
  const key = { to: new Uint8Array(32).fill(1), raw: new Uint8Array(80).fill(wrap), result: null }
  return encode({ ...body, keys: [key], custodian: new Uint8Array(32).fill(2), tx: new Uint8Array(32).fill(n), time: 1000 + n })
}

test('the same bytes give the record decoded before; other bytes under the key give a fresh one', async () => {
  const records = createImageRecords()
  const first = records.decode('s:img:a', await recordBytes(1, 7))
  assert.is(records.decode('s:img:a', await recordBytes(1, 7)), first, 'equal bytes (a new buffer) reuse the decoding')
  const rewrapped = records.decode('s:img:a', await recordBytes(1, 9))
  assert.is.not(rewrapped, first, 'changed bytes are decoded again')
  assert.is(rewrapped.keys[0].raw[0], 9, 'the record read is the one stored now')
  assert.is(records.decode('s:img:a', await recordBytes(1, 9)), rewrapped)
})

test('a kept record, its keys and their entries cannot be changed', async () => {
  const image = createImageRecords().decode('s:img:a', await recordBytes(1, 7))
  assert.throws(() => { (image as { size: number }).size = 11 }, TypeError)
  assert.throws(() => { (image.keys as unknown[]).push({}) }, TypeError)
  assert.throws(() => { (image.keys[0] as { raw: Uint8Array }).raw = new Uint8Array(1) }, TypeError)
  assert.is(image.size, 10)
})

test('at most `kept` records are kept: the least recently used goes first', async () => {
  const records = createImageRecords(2)
  const bytes = await Promise.all([1, 2, 3].map(async n => await recordBytes(n, 7)))
  const one = records.decode('k1', bytes[0])
  const two = records.decode('k2', bytes[1])
  assert.is(records.decode('k1', bytes[0]), one, 'k1 used again: k2 is now the oldest')
  records.decode('k3', bytes[2])
  assert.is(records.decode('k1', bytes[0]), one, 'k1 stayed')
  assert.is.not(records.decode('k2', bytes[1]), two, 'k2 went and is decoded again')
})

test("a ledger's listing reads each record once, and a record appended later is listed", async () => {
  const ledger = await openLedger(genesis, A)
  try {
    const patient = new Uint8Array(32).fill(5)
    for (const n of [1, 2, 3]) await ledger.submitOwn('image.add', await imageAdd(n, patient))
    const before: ImageRecord[] = await ledger.queries.imagesOf(patient)
    const again = await ledger.queries.imagesOf(patient)
    assert.is(again.length, 3)
    again.forEach((image, i) => assert.is(image, before[i], 'the same record object, not a second decoding'))
    await ledger.submitOwn('image.add', await imageAdd(4, patient))
    const after = await ledger.queries.imagesOf(patient)
    assert.is(after.length, 4, 'the new record is listed')
    const added = after.filter(x => !before.includes(x))
    assert.is(added.length, 1, 'only the new record is a new object')
    assert.ok(added[0].raw.equals((await imageAdd(4)).raw))
  } finally {
    await ledger.stop()
  }
})

test.run()
