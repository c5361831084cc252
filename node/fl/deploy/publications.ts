// Model publications as the ledger orders them. "Newer" is by ledger position — the causal order
// key of the carrying block (ledger/state/chains.ts orderOf), then author, height and index — the same
// total order on every peer. A publication's own `tx.time` is what its signer claims, so it is
// shown but never decides which model is newer: a time of 2^53−1 must not outrank later blocks.
import type { CID } from 'multiformats/cid'
import { toHex } from '../../../protocol/bytes.ts'
import type { Block } from '../../../protocol/chain/block.ts'
import { orderOf } from '../../../ledger/state/chains.ts'
import type { Ledger } from '../../../ledger/types.ts'

/** Where a transaction sits in the ledger's total order. */
export interface LedgerPosition {
  /** Causal order key of the block (orderOf). */
  order: number
  /** The block's author (hex member key). */
  author: string
  height: number
  /** Index of the transaction in the block. */
  index: number
}

/** A published model as the ledger records it. */
export interface PublishedModel {
  cid: CID
  task: string
  round: number
  /** The `tx.time` its publisher signed (ms since the epoch): shown, never used to order. */
  time: number
  /** Member key (hex) of the hospital that published it: the task's coordinator. */
  publisher: string
  /** Its place in the ledger's total order: "newer" is by this. */
  position: LedgerPosition
}

/** Compares two positions in the ledger's total order: negative when `a` comes first. */
export function comparePositions (a: LedgerPosition, b: LedgerPosition): number {
  if (a.order !== b.order) return a.order - b.order
  if (a.author !== b.author) return a.author < b.author ? -1 : 1
  return a.height - b.height || a.index - b.index
}

/** True when `a` comes after `b` in ledger order (anything is newer than nothing). */
export function isNewer (a: PublishedModel, b: PublishedModel | null): boolean {
  return b === null || comparePositions(a.position, b.position) > 0
}

/** The model.publish transactions of a block, in block order, with their positions. */
export function publicationsIn (block: Block): PublishedModel[] {
  const out: PublishedModel[] = []
  const order = orderOf(block.header)
  const author = toHex(block.header.author)
  block.txs.forEach(({ tx }, index) => {
    if (tx.type !== 'model.publish') return
    out.push({
      cid: tx.body.model,
      task: tx.body.task,
      round: tx.body.round,
      time: tx.time,
      publisher: toHex(tx.signer),
      position: { order, author, height: block.header.height, index }
    })
  })
  return out
}

/**
 * Every publication in the last `limit` blocks of each chain, oldest first in ledger order. Read
 * in pages of 64 blocks, so a long chain is never held in memory at once.
 */
export async function scanPublications (ledger: Pick<Ledger, 'heads' | 'blocks'>, limit: number): Promise<PublishedModel[]> {
  const page = 64
  const found: PublishedModel[] = []
  for (const head of ledger.heads()) {
    const bottom = Math.max(0, head.height - limit + 1)
    for (let from = bottom; from <= head.height; from += page) {
      for (const block of await ledger.blocks(head.author, from, Math.min(page, head.height - from + 1))) found.push(...publicationsIn(block))
    }
  }
  return found.sort((a, b) => comparePositions(a.position, b.position))
}
