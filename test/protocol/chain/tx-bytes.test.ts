// A transaction's signing bytes spliced from its canonical bytes, and its canonical bytes spliced
// from the signed payload (protocol/chain/tx-bytes.ts), are exactly what encoding gives, for every
// type and every length of seq; and a signature checked over them fails as it does over the encoding.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { toHex } from '../../../protocol/bytes.ts'
import { MAX_TX_BYTES } from '../../../protocol/constants.ts'
import { decode, encode } from '../../../protocol/codec.ts'
import { nobleVerify } from '../../../protocol/crypto/ed25519.ts'
import { decodeTx, encodeTx, signTx, TX_TYPES, txSigningBytes } from '../../../protocol/chain/tx.ts'
import type { DecodedTx, Tx, TxType, UnsignedTx } from '../../../protocol/chain/tx.ts'
import { signEncodedTx, signingBytesOf, verifyDecodedTx } from '../../../protocol/chain/tx-bytes.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import { throwsCode } from '../../helpers/assert.ts'
import { bodies, bytes, hospital, ledger, otherLedger, patient, stranger } from '../../helpers/ledger/tx-samples.ts'

/** Every length an unsigned integer takes in CBOR (RFC 8949 §3.1): 1, 2, 3, 5 and 9 bytes. */
const SEQS = [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]

const signerOf = (type: TxType): typeof hospital => type.startsWith('consent.') ? patient : hospital

function unsigned (type: TxType, seq: number): UnsignedTx {
  return { type, body: bodies[type], signer: signerOf(type).publicKey, seq, time: 1_700_000_000_000 } as UnsignedTx
}

test('signingBytesOf: equals txSigningBytes for every type and every seq length, under either ledger id', () => {
  for (const type of TX_TYPES) {
    for (const seq of SEQS) {
      const tx = signTx(ledger, unsigned(type, seq), signerOf(type)) as Tx
      const dtx = decodeTx(encodeTx(tx).bytes)
      for (const id of [ledger, otherLedger]) {
        assert.is(toHex(signingBytesOf(id, dtx)), toHex(txSigningBytes(id, dtx.tx)), `${type} seq ${seq}`)
      }
    }
  }
})

test('signEncodedTx: the same signature, bytes and id as signTx then encodeTx, for every type and seq length', () => {
  for (const type of TX_TYPES) {
    for (const seq of SEQS) {
      const made = signEncodedTx(ledger, unsigned(type, seq), signerOf(type))
      const expected = encodeTx(signTx(ledger, unsigned(type, seq), signerOf(type)) as Tx)
      assert.is(toHex(made.bytes), toHex(expected.bytes), `${type} seq ${seq}`)
      assert.is(toHex(made.id), toHex(expected.id))
      assert.is(toHex(made.tx.sig), toHex(expected.tx.sig))
      // The bytes decode (canonical check included) to the same transaction.
      assert.equal(decodeTx(made.bytes).tx, made.tx)
      verifyDecodedTx(ledger, made, nodeVerify)
    }
  }
})

test('signEncodedTx: TOO_LARGE past MAX_TX_BYTES, as encodeTx', () => {
  const at = (n: number): UnsignedTx => ({ ...unsigned('member.propose', 1), body: { ...bodies['member.propose'], name: 'x'.repeat(n) } }) as UnsignedTx
  // The largest name that fits (its text head grows from 1 to 3 bytes), and one byte more.
  const fits = MAX_TX_BYTES - encodeTx(signTx(ledger, at(0), hospital) as Tx).bytes.length - 2
  assert.is(signEncodedTx(ledger, at(fits), hospital).bytes.length, MAX_TX_BYTES)
  throwsCode(() => encodeTx(signTx(ledger, at(fits + 1), hospital) as Tx), 'TOO_LARGE')
  throwsCode(() => signEncodedTx(ledger, at(fits + 1), hospital), 'TOO_LARGE')
})

test('BAD_SIGNATURE over spliced bytes: flipped signature bits, wrong signer, wrong ledger, changed fields, forged signer', () => {
  const dtx = decodeTx(encodeTx(signTx(ledger, unsigned('image.add', 7), hospital) as Tx).bytes)
  verifyDecodedTx(ledger, dtx, nodeVerify)
  verifyDecodedTx(ledger, dtx, nobleVerify)
  for (let bit = 0; bit < 512; bit += 37) {
    const sig = dtx.tx.sig.slice()
    sig[bit >> 3] ^= 1 << (bit & 7)
    throwsCode(() => verifyDecodedTx(ledger, encodeTx({ ...dtx.tx, sig }), nodeVerify), 'BAD_SIGNATURE')
  }
  throwsCode(() => verifyDecodedTx(otherLedger, dtx, nodeVerify), 'BAD_SIGNATURE')
  const changed: Array<(tx: Record<string, unknown>) => void> = [
    tx => { tx.signer = stranger.publicKey },
    tx => { tx.seq = 8 },
    tx => { tx.time = 1_700_000_000_001 },
    tx => { tx.type = 'record.create'; tx.body = bodies['record.create'] },
    tx => { (tx.body as Record<string, unknown>).size = 1025 }
  ]
  for (const change of changed) {
    const raw = decode(dtx.bytes) as Record<string, unknown>
    change(raw)
    throwsCode(() => verifyDecodedTx(ledger, decodeTx(encode(raw)), nodeVerify), 'BAD_SIGNATURE')
  }
  // Signed by another key while naming the hospital as signer.
  const forged = encodeTx(signTx(ledger, unsigned('record.create', 1), stranger) as Tx)
  throwsCode(() => verifyDecodedTx(ledger, forged, nodeVerify), 'BAD_SIGNATURE')
  // A consent's signature does not verify as a generic transaction's, nor the other way round.
  const consent = decodeTx(encodeTx(signTx(ledger, unsigned('consent.revoke', 1), patient) as Tx).bytes)
  verifyDecodedTx(ledger, consent, nodeVerify)
  const asAccess = { ...consent, tx: { ...consent.tx, type: 'access.log' } } as unknown as DecodedTx
  throwsCode(() => verifyDecodedTx(ledger, asAccess, nodeVerify), 'BAD_SIGNATURE')
})

test('bytes of another shape fall back to encoding the transaction (same answer)', () => {
  const tx = signTx(ledger, unsigned('record.create', 3), hospital) as Tx
  const odd: DecodedTx = { tx, bytes: new Uint8Array([0xa6, 1, 2, 3]), id: bytes(32, 0) }
  assert.is(toHex(signingBytesOf(ledger, odd)), toHex(txSigningBytes(ledger, tx)))
  verifyDecodedTx(ledger, odd, nodeVerify)
  throwsCode(() => verifyDecodedTx(ledger, { ...odd, tx: { ...tx, seq: 4 } }, nodeVerify), 'BAD_SIGNATURE')
})

test.run()
