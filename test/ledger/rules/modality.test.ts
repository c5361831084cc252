// Only DICOM Modality defined terms reach the replicated ledger (issue 11.10): the local
// submission of an image.add with a free-text modality, and another member's block carrying one,
// are both refused with BAD_MODALITY, and nothing of them is stored.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import type { TxBodies } from '../../../protocol/chain/tx.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeBlock, makeTx, openLedger, testConsortium } from '../../helpers/ledger/fixture.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
test.after.each(cleanup)

async function imageAdd (n: number, modality: string): Promise<TxBodies['image.add']> {
  const raw = CID.createV1(0x55, await sha256.digest(new Uint8Array([n])))
  return { patient: new Uint8Array(32).fill(5), record: null, raw, result: null, modality, size: 10, model: null, score: null, keys: [] }
}

test('a local image.add with a free-text modality is BAD_MODALITY; defined terms pass', async () => {
  const ledger = await openLedger(genesis, A)
  try {
    for (const [n, bad] of ['ZZPHIMODALITY', 'DOE^JOHN', 'ct', ' CT', ''].entries()) {
      await rejects(async () => await ledger.submitOwn('image.add', await imageAdd(n, bad)), 'BAD_MODALITY')
    }
    for (const [n, good] of ['CT', 'MR', 'OT', 'XAPROTOCOL'].entries()) await ledger.submitOwn('image.add', await imageAdd(10 + n, good))
    const images = await ledger.queries.imagesByAnyCid((await imageAdd(0, '')).raw.toString())
    assert.is(images.length, 0, 'the refused image is not recorded')
  } finally {
    await ledger.stop()
  }
})

test("another member's block carrying a free-text modality is refused with BAD_MODALITY and not appended", async () => {
  const ledger = await openLedger(genesis, A)
  try {
    const now = Date.now()
    const bad = makeTx(id, B, 'image.add', await imageAdd(1, 'ZZPHIMODALITY'), 0, now - 10)
    await rejects(async () => await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: now, txs: [bad] }).bytes), 'BAD_MODALITY')
    assert.is(await ledger.block(B.publicKey, 0), undefined, 'the block is not stored')
    // The same member's next honest block, at the same height, is appended.
    const good = makeTx(id, B, 'image.add', await imageAdd(2, 'OT'), 0, now - 5)
    assert.is(await ledger.receive(makeBlock(id, B, { height: 0, prev: null, time: now, txs: [good] }).bytes), 'appended')
  } finally {
    await ledger.stop()
  }
})

test.run()
