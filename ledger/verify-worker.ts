// Worker thread body of the verify pool: decodes a block and checks its header signature and
// every transaction signature with node:crypto, off the main thread.
import { parentPort } from 'node:worker_threads'
import * as dagCbor from '@ipld/dag-cbor'
import { parseHeader, verifyBlockSignature } from '../protocol/block.ts'
import { MAX_TXS_PER_BLOCK } from '../protocol/constants.ts'
import { MedichainError } from '../protocol/errors.ts'
import { expectArray, expectBytes, expectFields } from '../protocol/schema.ts'
import { parseTx, verifyTx } from '../protocol/tx.ts'
import { nodeVerify } from './node-crypto.ts'

/** A request: verify the block `bytes` of ledger `ledgerId`. */
export interface VerifyRequest { id: number, bytes: Uint8Array, ledgerId: Uint8Array }
/** The answer: ok, or the typed error's code and message. */
export type VerifyResponse = { id: number, ok: true } | { id: number, ok: false, code: string, message: string }

parentPort?.on('message', (req: VerifyRequest) => {
  let res: VerifyResponse
  try {
    // Only signatures are checked here; the main thread checks canonical form and the tx root.
    const f = expectFields(dagCbor.decode(req.bytes), 'block', ['header', 'sig', 'txs'])
    const header = parseHeader(f.header)
    verifyBlockSignature({ header, sig: expectBytes(f.sig, 'block.sig', 64) }, nodeVerify)
    const txs = expectArray(f.txs, 'block.txs', MAX_TXS_PER_BLOCK, (x, p) => expectBytes(x, p))
    for (const bytes of txs) verifyTx(req.ledgerId, parseTx(dagCbor.decode(bytes)), nodeVerify)
    res = { id: req.id, ok: true }
  } catch (err) {
    res = { id: req.id, ok: false, code: err instanceof MedichainError ? err.code : 'INTERNAL', message: (err as Error).message }
  }
  parentPort?.postMessage(res)
})
