// The time rule of transactions: a transaction's self-declared `time` must lie near its block's
// time, because the block's time is the one the receiving peers check against their own clocks
// (FUTURE_TIME). Without it, one signer's `tx.time` of 2^53−1 would outrank every later honest
// transaction wherever the ledger orders or picks by time.
import { MAX_CLOCK_SKEW_MS, MAX_TX_AGE_MS } from '../../protocol/constants.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { Tx } from '../../protocol/chain/tx.ts'

/**
 * Throws TX_TIME unless `blockTime − MAX_TX_AGE_MS ≤ tx.time ≤ blockTime + MAX_CLOCK_SKEW_MS`.
 * The upper side allows a signer whose clock runs ahead of the block author's by the same skew
 * a block may have; the lower side allows a signer whose clock runs behind, plus queueing.
 */
export function checkTxTime (tx: Tx, blockTime: number): void {
  if (tx.time > blockTime + MAX_CLOCK_SKEW_MS) {
    throw new LedgerRuleError('TX_TIME', `${tx.type} seq ${tx.seq} claims a time more than ${MAX_CLOCK_SKEW_MS} ms after its block`)
  }
  if (tx.time < blockTime - MAX_TX_AGE_MS) {
    throw new LedgerRuleError('TX_TIME', `${tx.type} seq ${tx.seq} claims a time more than ${MAX_TX_AGE_MS} ms before its block`)
  }
}
