// The replay rule of sequence numbers: a signer's seq names one transaction. A second, different
// transaction with the same (signer, seq) is refused as REPLAYED_SEQ when it shares a block with
// the first, or when the first is in its block's causal past, whoever authored either block.
// Two blocks made concurrently (neither in the other's past) can each carry one of them: no
// peer can refuse either without depending on arrival order, so both stay, and the state rules
// settle them the same way everywhere (consents: last writer by seq, ties to the lower tx id).
import { equals, toHex } from '../../protocol/bytes.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { DecodedTx } from '../../protocol/chain/tx.ts'
import { K } from '../store/keys.ts'
import { txKeys } from '../store/tx-keys.ts'
import { txIdsOf, txInCausalPast } from '../state/causal.ts'
import type { BlockContext, PrefetchView } from '../state/causal.ts'

function replayed (dtx: DecodedTx): LedgerRuleError {
  return new LedgerRuleError('REPLAYED_SEQ', `signer ${toHex(dtx.tx.signer).slice(0, 12)} has already used sequence number ${dtx.tx.seq}`)
}

/** Throws REPLAYED_SEQ for a (signer, seq) used by another transaction in `txs` or in the causal past of `ctx`. */
export async function checkSeqReuse (txs: DecodedTx[], ctx: BlockContext, view: PrefetchView): Promise<void> {
  const inBlock = new Map<string, Uint8Array>()
  const others: Array<{ dtx: DecodedTx, ids: Uint8Array[] }> = []
  for (const dtx of txs) {
    const key = txKeys(dtx).seq
    const first = inBlock.get(key)
    if (first !== undefined && !equals(first, dtx.id)) throw replayed(dtx)
    inBlock.set(key, dtx.id)
    const ids = txIdsOf(view.get(key)).filter(id => !equals(id, dtx.id))
    if (ids.length > 0) others.push({ dtx, ids })
  }
  if (others.length === 0) return
  await view.prefetch(others.flatMap(o => o.ids.map(id => K.tx(id))))
  for (const { dtx, ids } of others) {
    if (ids.some(id => txInCausalPast(view, id, ctx))) throw replayed(dtx)
  }
}
