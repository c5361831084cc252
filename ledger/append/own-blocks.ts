// This hospital's own blocks: a submitted transaction is checked at once against the block it will
// go into (so the client hears its own code), queued, and the queue drained into signed blocks that
// are committed together in one durable group. A group that fails a rule by block time is retried
// block by block, then transaction by transaction, so one client's transaction never takes others down.
import { createBlock } from '../../protocol/chain/block.ts'
import type { Block } from '../../protocol/chain/block.ts'
import { equals } from '../../protocol/bytes.ts'
import { MAX_BLOCK_BYTES, MAX_TXS_PER_BLOCK } from '../../protocol/constants.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { Identity, Verifier } from '../../protocol/crypto/ed25519.ts'
import type { DecodedTx } from '../../protocol/chain/tx.ts'
import { verifyDecodedTx } from '../../protocol/chain/tx-bytes.ts'
import type { Chains } from '../state/chains.ts'
import { GROUP_MAX_BLOCKS, GROUP_MAX_TXS } from './group-commit.ts'
import type { GroupCommit, LedgerMemory } from './group-commit.ts'
import { txKeys } from '../store/tx-keys.ts'
import { BatchWriter, keysRead } from '../state/state.ts'
import type { LedgerStore } from '../store/store.ts'
import { StorageError } from '../store/storage-error.ts'
import type { StoreGuard } from '../store/guard.ts'
import type { WriteGate } from '../store/write-gate.ts'
import type { Clock, TxLocation } from '../types.ts'
import { refusedAbove } from '../rules/flag.ts'
import { authoriseKeys, authoriseTx, checkTxRules } from '../rules/validate.ts'

interface Pending { dtx: DecodedTx, resolve: (loc: TxLocation) => void, reject: (err: unknown) => void }

/** What the producer of own blocks uses of the ledger. */
export interface OwnBlocksComponents {
  /** The ledger id and this hospital's key. */
  id: Uint8Array
  self: Uint8Array
  store: LedgerStore
  memory: LedgerMemory
  commit: GroupCommit
  guard: StoreGuard
  identity: Identity
  verify: Verifier
  clock: Clock
  writeGate?: WriteGate
  isFounder: (key: Uint8Array) => boolean
  /** Runs `fn` after every earlier write of the ledger. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>
}

/** The queue of submitted transactions and the own blocks made of it. */
export class OwnBlocks {
  readonly #c: OwnBlocksComponents
  #queue: Pending[] = []
  #queuedIds = new Set<string>()
  #queuedSeqs = new Set<string>()
  #producing: Promise<void> | null = null

  constructor (components: OwnBlocksComponents) {
    this.#c = components
  }

  /** Settles once the blocks being made now are committed or refused. */
  async idle (): Promise<void> {
    await this.#producing
  }

  /**
   * Queues `dtx`, prepared in store epoch `epoch`, for the next own block. Its bytes, encoded once
   * (encodeTx or signEncodedTx), serve the signature check, the block and the store.
   */
  async submit (dtx: DecodedTx, epoch: number): Promise<TxLocation> {
    const { guard, memory, self, store } = this.#c
    guard.assertWritable()
    this.#c.writeGate?.assertOpen()
    const { tx } = dtx
    verifyDecodedTx(this.#c.id, dtx, this.#c.verify)
    if (!memory.members.isActive(self)) throw new LedgerRuleError('NOT_MEMBER', 'this hospital is not an active member and cannot write')
    if (refusedAbove(memory.members.flagState(self, memory.chains)) !== undefined) {
      throw new LedgerRuleError('FLAGGED_MEMBER', 'this hospital signed two blocks at one height: it cannot write until the consortium resolves it')
    }
    const view = new BatchWriter(store)
    await view.prefetch([...authoriseKeys(dtx), ...keysRead(dtx)])
    authoriseTx(dtx, self, this.#c.id, view, this.#c.verify)
    // The block rules, judged against the block this transaction will go into, so that a client
    // hears its own code at once and its transaction never fails a block shared with others.
    const links = memory.chains.heads().filter(h => !equals(h.author, self))
    await checkTxRules([dtx], { author: self, height: memory.chains.headHeight(self) + 1, time: this.#c.clock(), links }, view, this.#c.isFounder)
    const { idHex, tx: txKey, seq: seqKey } = txKeys(dtx)
    if (this.#queuedIds.has(idHex) || await store.get(txKey) !== undefined) {
      throw new LedgerRuleError('DUPLICATE_TX', `transaction ${idHex.slice(0, 12)} is already on the ledger`)
    }
    if (this.#queuedSeqs.has(seqKey) || await store.get(seqKey) !== undefined) {
      throw new LedgerRuleError('REPLAYED_SEQ', `signer has already used sequence number ${tx.seq}`)
    }
    // The store may have failed, or failed and recovered, during the reads above.
    guard.assertWritable()
    if (epoch !== guard.epoch) throw new StorageError('STORE_FAILED', 'the ledger store recovered from a failure while this write was prepared; send it again')
    this.#queuedIds.add(idHex)
    this.#queuedSeqs.add(seqKey)
    const done = new Promise<TxLocation>((resolve, reject) => this.#queue.push({ dtx, resolve, reject }))
    this.#produce()
    return await done
  }

  /** Refuses every queued transaction with `error` (the store failed). */
  rejectQueued (error: unknown): void {
    for (const p of this.#queue.splice(0)) {
      this.#unqueue(p)
      p.reject(error)
    }
  }

  /**
   * Drains the queue into blocks; submissions that arrive meanwhile share the next group. A burst
   * larger than one block becomes several own blocks committed together in one durable batch
   * (one fsync), as received blocks are (intake.ts).
   */
  #produce (): void {
    if (this.#producing !== null) return
    this.#producing = (async () => {
      while (this.#queue.length > 0) {
        const batches = this.#takeBatches()
        try {
          // A hold set after these were queued (the own head moved, the clock jumped) still stops them.
          this.#c.writeGate?.assertOpen()
          const blocks = await this.#c.exclusive(async () => await this.#appendOwn(batches.map(b => b.map(p => p.dtx))))
          batches.forEach((batch, i) => this.#resolveBatch(batch, blocks[i]))
        } catch (err) {
          // A rule that passed at submission can fail by block time (a transaction that waited,
          // a conflicting one synced meanwhile): then each block, and within a failing block
          // each transaction, goes on its own, so one client's transaction never takes the
          // others of its group down with it.
          if (err instanceof LedgerRuleError && (batches.length > 1 || batches[0].length > 1)) await this.#appendApart(batches)
          else for (const batch of batches) for (const p of batch) p.reject(err)
        } finally {
          for (const batch of batches) for (const p of batch) this.#unqueue(p)
        }
      }
    })().finally(() => { this.#producing = null })
  }

  #resolveBatch (batch: Pending[], block: Block): void {
    batch.forEach((p, index) => p.resolve({ txId: p.dtx.id, blockHash: block.hash, author: this.#c.self, height: block.header.height, index }))
  }

  /** The fallback of a group that failed a rule: each block alone, then each transaction of a block that fails alone. */
  async #appendApart (batches: Pending[][]): Promise<void> {
    for (const batch of batches) {
      if (batches.length > 1) {
        try {
          const [block] = await this.#c.exclusive(async () => await this.#appendOwn([batch.map(p => p.dtx)]))
          this.#resolveBatch(batch, block)
          continue
        } catch (err) {
          if (!(err instanceof LedgerRuleError) || batch.length === 1) {
            for (const p of batch) p.reject(err)
            continue
          }
        }
      }
      await this.#appendEach(batch)
    }
  }

  #unqueue (p: Pending): void {
    const { idHex, seq } = txKeys(p.dtx)
    this.#queuedIds.delete(idHex)
    this.#queuedSeqs.delete(seq)
  }

  async #appendEach (batch: Pending[]): Promise<void> {
    for (const p of batch) {
      try {
        const [block] = await this.#c.exclusive(async () => await this.#appendOwn([[p.dtx]]))
        p.resolve({ txId: p.dtx.id, blockHash: block.hash, author: this.#c.self, height: block.header.height, index: 0 })
      } catch (err) {
        p.reject(err)
      }
    }
  }

  /** The next own block's transactions: as many queued as fit one block (at least one). */
  #takeBatch (): Pending[] {
    let bytes = 4096
    let n = 0
    while (n < this.#queue.length && n < MAX_TXS_PER_BLOCK && bytes + this.#queue[n].dtx.bytes.length + 8 < MAX_BLOCK_BYTES) {
      bytes += this.#queue[n].dtx.bytes.length + 8
      n++
    }
    return this.#queue.splice(0, Math.max(n, 1))
  }

  /** The blocks of the next own group commit: up to GROUP_MAX_BLOCKS blocks and about GROUP_MAX_TXS transactions. */
  #takeBatches (): Pending[][] {
    const batches: Pending[][] = []
    let txs = 0
    while (this.#queue.length > 0 && batches.length < GROUP_MAX_BLOCKS && txs < GROUP_MAX_TXS) {
      const batch = this.#takeBatch()
      txs += batch.length
      batches.push(batch)
    }
    return batches
  }

  /** Makes one own block per entry of `batches`, each on the one before, and commits them in one batch. */
  async #appendOwn (batches: DecodedTx[][]): Promise<Block[]> {
    const { commit } = this.#c
    this.#c.guard.assertWritable()
    const group = commit.group()
    const blocks: Block[] = []
    try {
      for (const txs of batches) {
        const block = this.#nextOwnBlock(txs, group.chains)
        await commit.append(block, { own: true, replay: false }, group)
        blocks.push(block)
      }
    } catch (err) {
      group.chains.rollback()
      throw err
    }
    await commit.flush(group)
    return blocks
  }

  /** Signs this hospital's next block over `chains` (a group's staged view: it sees the group's blocks). */
  #nextOwnBlock (txs: DecodedTx[], chains: Chains): Block {
    const self = this.#c.self
    const chain = chains.get(self)
    const height = chains.headHeight(self) + 1
    const links = chains.heads().filter(h => !equals(h.author, self))
    const lastTime = height === 0 || chain === undefined ? 0 : chain.times[height - 1]
    return createBlock({
      ledger: this.#c.id,
      height,
      prev: height === 0 || chain === undefined ? null : chain.hashes[height - 1],
      links,
      time: Math.max(this.#c.clock(), lastTime),
      txs
    }, this.#c.identity)
  }
}
