// A validly signed transaction carried in a block in any other encoding than its canonical one is
// refused as NON_CANONICAL, whether the block is checked inline or on a verify worker: signatures
// are checked over bytes spliced from the carried encoding (protocol/chain/tx-bytes.ts), so that
// encoding must be the one canonical form before any signature is looked at.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { createBlock } from '../../../protocol/chain/block.ts'
import { ledgerIdOf } from '../../../protocol/chain/genesis.ts'
import { encodeTx } from '../../../protocol/chain/tx.ts'
import type { DecodedTx } from '../../../protocol/chain/tx.ts'
import { sha256 } from '../../../protocol/crypto/hash.ts'
import { rejects } from '../../helpers/assert.ts'
import { cleanup, makeTx, openLedger, recordBody, testConsortium } from '../../helpers/ledger/fixture.ts'
import type { Ledger } from '../../../ledger/types.ts'

const { genesis, hospitals: [A, B] } = testConsortium(2)
const id = ledgerIdOf(genesis)
const clock = (): number => 1_700_000_010_000

test.after.each(cleanup)

/** The canonical transaction `i` of B's first block (seq `i`, a record.create). */
const canonical = (i: number): DecodedTx => encodeTx(makeTx(id, B, 'record.create', recordBody(i + 1), i))

/** Byte offsets in a canonical `{seq, sig, body, …}` transaction whose seq is below 24. */
const SEQ_FIELD = [1, 6] as const
const SIG_FIELD = [6, 76] as const

/** Other encodings of the same signed transaction (seq below 24), each parsing as dag-cbor. */
const variants: Array<[string, (b: Uint8Array) => Uint8Array]> = [
  // seq as a one-byte integer head (0x18 n) instead of inline: more bytes than needed.
  ['seq in a longer head', b => Uint8Array.from([...b.subarray(0, 5), 0x18, b[5], ...b.subarray(6)])],
  // "sig" before "seq": keys out of canonical order.
  ['keys out of order', b => Uint8Array.from([b[0], ...b.subarray(...SIG_FIELD), ...b.subarray(...SEQ_FIELD), ...b.subarray(SIG_FIELD[1])])]
]

/** A block by B at height 0 carrying `txs` as given (their bytes untouched), correctly signed. */
function blockOf (txs: DecodedTx[]): Uint8Array {
  return createBlock({ ledger: id, height: 0, prev: null, links: [], time: 1_700_000_002_000, txs }, B).bytes
}

async function rejectsCleanly (ledger: Ledger, bytes: Uint8Array, code: string): Promise<void> {
  const root = toHex(await ledger.stateRoot())
  await rejects(async () => await ledger.receive(bytes), code)
  assert.is(ledger.size(), 0, 'no block was appended')
  assert.is(toHex(await ledger.stateRoot()), root, 'state root unchanged')
}

for (const [name, rewrite] of variants) {
  test(`NON_CANONICAL, checked inline: ${name}`, async () => {
    const ledger = await openLedger(genesis, A, { clock })
    const tx = canonical(3)
    const bytes = rewrite(tx.bytes)
    assert.is.not(toHex(bytes), toHex(tx.bytes))
    await rejectsCleanly(ledger, blockOf([{ tx: tx.tx, bytes, id: sha256(bytes) }]), 'NON_CANONICAL')
    // The same block with the canonical bytes is appended.
    assert.is(await ledger.receive(blockOf([tx])), 'appended')
  })

  test(`NON_CANONICAL, checked on a verify worker: ${name}`, async () => {
    const ledger = await openLedger(genesis, A, { clock, verifyWorkers: 1 })
    const txs = Array.from({ length: 20 }, (_, i) => canonical(i))
    const bytes = rewrite(txs[7].bytes)
    const forged = blockOf(txs.map((t, i) => i === 7 ? { tx: t.tx, bytes, id: sha256(bytes) } : t))
    assert.ok(forged.length >= 4096, 'the block takes the pool path')
    await rejectsCleanly(ledger, forged, 'NON_CANONICAL')
    assert.is(await ledger.receive(blockOf(txs)), 'appended')
  })
}

test.run()
