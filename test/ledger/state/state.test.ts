// State rules that protect records from other members: an image.add naming a CID another
// custodian already recorded never replaces that record (it is keyed by CID and custodian).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { toHex } from '../../../protocol/bytes.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { cleanup, makeBlock, makeTx, openLedger, testConsortium } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
test.after.each(cleanup)

test('another member cannot take over an image by recording its CID with a lower tx id', async () => {
  const ledger = await openLedger(genesis, A)
  const raw = CID.createV1(0x55, await sha256.digest(new Uint8Array([1])))
  const result = CID.createV1(0x55, await sha256.digest(new Uint8Array([2])))
  const patient = new Uint8Array(32).fill(5)
  const body = { patient, record: null, raw, result, modality: 'CT', size: 10, model: null, score: null }
  await ledger.submitOwn('image.add', { ...body, keys: [{ to: new Uint8Array(32).fill(1), raw: new Uint8Array(80).fill(1), result: null }] })
  // B tries times until its tx id sorts below A's, as an attacker would.
  for (let t = 0; t < 64; t++) {
    const tx = makeTx(id, B, 'image.add', { ...body, keys: [{ to: new Uint8Array(32).fill(9), raw: new Uint8Array(80).fill(9), result: null }] }, t, Date.now() - t)
    const block = makeBlock(id, B, { height: t, prev: (await ledger.block(B.publicKey, t - 1))?.hash ?? null, time: Date.now() - 1000 + t, txs: [tx] })
    await ledger.receive(block.bytes)
  }
  const records = await ledger.queries.imagesByAnyCid(raw.toString())
  const mine = records.filter(r => toHex(r.image.custodian) === toHex(A.publicKey))
  assert.is(mine.length, 1, 'A\'s record is still there')
  assert.equal(mine[0].image.keys[0].to, new Uint8Array(32).fill(1), 'with A\'s keys')
  assert.ok(records.some(r => toHex(r.image.custodian) === toHex(B.publicKey)), 'B\'s claim is a separate record')
  const viaResult = await ledger.queries.imagesByAnyCid(result.toString())
  assert.ok(viaResult.some(r => r.part === 'result' && toHex(r.image.custodian) === toHex(A.publicKey)))
})

test.run()
