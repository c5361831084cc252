// The level keys of a decoded transaction's own location and of its signer's seq, made once per
// transaction: the prefetch, the replay and seq rules and the state machine each key a block's
// transactions in turn, and hex of the same ids and signers was about a fifth of the main
// thread's ingest (docs/benchmarks.md, bench:ledger).
import { equals, toHex } from '../../protocol/bytes.ts'
import type { DecodedTx } from '../../protocol/chain/tx.ts'
import { K } from './keys.ts'

/** Hex of a transaction's id, and its `K.tx` and `K.seq` keys. */
export interface TxKeys { idHex: string, tx: string, seq: string }

/** Keyed by the decoded transaction object, whose id and signer are never changed once made. */
const made = new WeakMap<DecodedTx, TxKeys>()

/** The last signer's key and hex: a block's transactions mostly share one signer. */
let lastSigner: { key: Uint8Array, hex: string } | null = null

function signerHex (signer: Uint8Array): string {
  if (lastSigner !== null && equals(lastSigner.key, signer)) return lastSigner.hex
  const hex = toHex(signer)
  lastSigner = { key: signer.slice(), hex }
  return hex
}

/** The keys of `dtx`, made on first use. */
export function txKeys (dtx: DecodedTx): TxKeys {
  const known = made.get(dtx)
  if (known !== undefined) return known
  const idHex = toHex(dtx.id)
  const keys = { idHex, tx: K.tx(idHex), seq: K.seq(signerHex(dtx.tx.signer), dtx.tx.seq) }
  made.set(dtx, keys)
  return keys
}
