// Worker thread body of the verify pool: decodes a block and checks its header signature and
// every transaction signature with node:crypto, off the main thread.
import { parentPort } from 'node:worker_threads'
import { decodeBlock, verifyBlockSignature } from '../../protocol/chain/block.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { verifyDecodedTx } from '../../protocol/chain/tx-bytes.ts'
import { nodeVerify } from './node-crypto.ts'

/** A request: verify the block `bytes` of ledger `ledgerId`. */
export interface VerifyRequest { id: number, bytes: Uint8Array, ledgerId: Uint8Array }
/** The answer: ok, or the typed error's code and message. */
export type VerifyResponse = { id: number, ok: true } | { id: number, ok: false, code: string, message: string }
/** Posted once, when this worker's modules are loaded and it takes requests. */
export interface VerifyReady { ready: true }

parentPort?.on('message', (req: VerifyRequest) => {
  let res: VerifyResponse
  try {
    // The whole decode (canonical form, schema, tx root) and every signature, off the main thread:
    // the main thread then only re-parses these exact bytes (decodeBlock's `checked` path).
    const block = decodeBlock(req.bytes)
    verifyBlockSignature(block, nodeVerify)
    for (const dtx of block.txs) verifyDecodedTx(req.ledgerId, dtx, nodeVerify)
    res = { id: req.id, ok: true }
  } catch (err) {
    res = { id: req.id, ok: false, code: err instanceof MedichainError ? err.code : 'INTERNAL', message: (err as Error).message }
  }
  parentPort?.postMessage(res)
})
parentPort?.postMessage({ ready: true } satisfies VerifyReady)
