// The replicated ledger of one peer: validates and appends blocks from the network, produces this
// hospital's own blocks from submitted transactions, buffers blocks that arrive early, and keeps
// equivocation evidence. Every append is one durable level batch, and memory follows the batch
// only once it is durable; a store that refuses a batch refuses every write until it recovers.
import type { Logger } from 'pino'
import { createBlock, decodeBlock, verifyBlockSignature } from '../protocol/chain/block.ts'
import type { Block } from '../protocol/chain/block.ts'
import { compare, equals, fromHex, toHex } from '../protocol/bytes.ts'
import { decode, encode } from '../protocol/codec.ts'
import { MAX_BLOCK_BYTES, MAX_TXS_PER_BLOCK } from '../protocol/constants.ts'
import { LedgerRuleError, MedichainError, MissingDependencyError } from '../protocol/errors.ts'
import type { Genesis } from '../protocol/chain/genesis.ts'
import { encodeGenesis, ledgerIdOf } from '../protocol/chain/genesis.ts'
import { encodeTx } from '../protocol/chain/tx.ts'
import type { DecodedTx, Tx, TxBodies, TxType } from '../protocol/chain/tx.ts'
import { signEncodedTx, verifyDecodedTx } from '../protocol/chain/tx-bytes.ts'
import { Chains, orderOf } from './chains.ts'
import { K } from './keys.ts'
import { txKeys } from './tx-keys.ts'
import { MemberRegistry } from './members.ts'
import type { MembershipUpdate } from './members.ts'
import { createQueries } from './queries/queries.ts'
import type { LedgerQueries } from './queries/queries.ts'
import { computeStateRoot, readBlock, readBlockByHash, readBlocks, readBlocksAfter, readEvidence, readTx } from './queries/reads.ts'
import { applyTx, BatchWriter, keysRead } from './state.ts'
import { LedgerStore } from './store/store.ts'
import { StorageError } from './store/storage-error.ts'
import { StoreGuard } from './store/guard.ts'
import type { Evidence, Head, Ledger, LedgerComponents, LedgerInit, MemberView, ReceiveStatus, StoreFault, TxLocation } from './types.ts'
import { WaitingRoom } from './waiting-room.ts'
import { createVerifyPool } from './verify/pool.ts'
import type { VerifyPool } from './verify/pool.ts'
import { refusedAbove } from './rules/flag.ts'
import { authoriseKeys, authoriseTx, checkChainRules, checkReplays, checkTxRules, verifyTxSignatures } from './rules/validate.ts'

/** Smaller blocks (about 8 transactions) are checked on the main thread (measured: bench:ledger). */
const POOL_MIN_BYTES = 4096

interface Pending { dtx: DecodedTx, resolve: (loc: TxLocation) => void, reject: (err: unknown) => void }

/** How a block reaches #append: from the network, produced here, or replayed by `ledger verify`. */
interface AppendMode { own: boolean, replay: boolean }

/** A received block waiting for its turn to be appended (decoded once its checks are done). */
interface Incoming {
  block: Block | null
  replay: boolean
  verified: Promise<void>
  settled: boolean
  resolve: (status: ReceiveStatus) => void
  reject: (err: unknown) => void
}

/**
 * Blocks committed in one level batch: their writes, what they change in memory (staged here and
 * committed only once the batch is durable), and what to do then.
 */
interface Group {
  w: BatchWriter
  /** The group's chain appends, staged on the ledger's chains (commit or roll back). */
  chains: Chains
  /** Membership after the group's blocks, if they change it. */
  members: MembershipUpdate | null
  /** The group's new evidence (author and height) it flags, and hex hashes it marks equivocal. */
  flags: Array<{ author: Uint8Array, height: number }>
  equivocal: Set<string>
  after: Array<() => void>
}

/** Bounds of one group commit: enough to amortise an fsync, small enough to keep latency low. */
const GROUP_MAX_BLOCKS = 64
const GROUP_MAX_TXS = 4096

class LedgerImpl extends EventTarget implements Ledger {
  readonly id: Uint8Array
  readonly genesis: Genesis
  readonly self: Uint8Array
  readonly queries: LedgerQueries
  readonly #c: LedgerComponents
  readonly #log: Logger
  readonly #store: LedgerStore
  #chains = new Chains()
  #members: MemberRegistry
  readonly #waiting: WaitingRoom
  #serial: Promise<unknown> = Promise.resolve()
  #queue: Pending[] = []
  #queuedIds = new Set<string>()
  #queuedSeqs = new Set<string>()
  #producing: Promise<void> | null = null
  #seq = 0
  /** True once this folder's own chain was confirmed as the consortium's (see markOwnChainKnown). */
  #ownChainKnown = false
  #rootCache: { size: number, root: Uint8Array } | null = null
  #started = false
  #pool: VerifyPool | null = null
  #incoming: Incoming[] = []
  #draining: Promise<void> | null = null
  /** Refuses writes from a failed batch until the store has recovered. */
  readonly #guard: StoreGuard
  /** Hex hashes of both blocks of every equivocation held. */
  #equivocal = new Set<string>()
  /** Display names hospitals gave themselves with `directory.set`, by hex key, with the seq that set them. */
  #hospitalNames = new Map<string, { name: string, seq: number }>()
  readonly #poolSize: number
  /** Blocks whose every signature the pool has checked. */
  readonly #verified = new WeakSet<Block>()

  constructor (init: LedgerInit, components: LedgerComponents) {
    super()
    this.genesis = init.genesis
    this.id = ledgerIdOf(init.genesis)
    this.self = components.identity.publicKey
    this.#c = components
    this.#log = components.logger.child({ component: 'ledger' })
    this.#store = new LedgerStore(init.path)
    this.#members = new MemberRegistry(init.genesis, this.#store)
    this.#waiting = new WaitingRoom(init.maxBuffered ?? 4096)
    this.#poolSize = init.verifyWorkers ?? 0
    this.queries = createQueries(this.#store, this)
    this.#guard = new StoreGuard({
      store: this.#store,
      logger: this.#log,
      clock: components.clock,
      exclusive: async (fn) => await this.#exclusive(fn),
      reload: async () => await this.#loadState(),
      recovered: (fault) => {
        this.dispatchEvent(new CustomEvent('store:recovered', { detail: fault }))
        this.#drain()
      }
    })
  }

  async start (): Promise<void> {
    // The verify workers load their modules while the store opens and the state loads.
    const pool = this.#poolSize > 0 ? createVerifyPool(this.#poolSize) : null
    try {
      await this.#open()
      await pool?.ready()
    } catch (err) {
      await pool?.close()
      throw err
    }
    this.#pool = pool
    this.#started = true
  }

  async #open (): Promise<void> {
    const { fresh } = await this.#store.open()
    const genesisBytes = encodeGenesis(this.genesis)
    if (fresh) {
      const ops = [this.#store.schemaStamp(), { type: 'put' as const, key: K.genesis, value: genesisBytes }, ...this.#members.genesisOps()]
      await this.#store.batch(ops)
    } else {
      const stored = await this.#store.get(K.genesis)
      if (stored === undefined || !equals(stored, genesisBytes)) {
        await this.#store.close()
        throw new LedgerRuleError('WRONG_LEDGER', 'this data folder belongs to a different genesis')
      }
    }
    await this.#loadState()
    this.#watchHospitalNames()
    this.#ownChainKnown = await this.#store.get(K.ownChainKnown) !== undefined
  }

  async stop (): Promise<void> {
    if (!this.#started) return
    this.#started = false
    await this.#guard.stop()
    await this.#producing
    await this.#draining
    await this.#serial.catch(() => {})
    await this.#pool?.close()
    this.#pool = null
    await this.#store.close()
  }

  /**
   * Reads every in-memory view from the store (at start, and after a recovery, so that memory
   * equals disk whatever a failed batch left): chains, evidence, membership, the next seq.
   */
  async #loadState (): Promise<void> {
    const chains = await this.#loadChains()
    const equivocal = new Set<string>()
    for (const e of await readEvidence(this.#store)) for (const b of e.blocks) equivocal.add(toHex(decodeBlock(b).hash))
    const members = new MemberRegistry(this.genesis, this.#store)
    await members.load()
    const seq = await this.#nextSeq()
    this.#chains = chains
    this.#equivocal = equivocal
    this.#members = members
    this.#seq = seq
    this.#hospitalNames = await this.#readHospitalNames()
    this.#rootCache = null
  }

  /** Hospitals' display names from the directory in the store. */
  async #readHospitalNames (): Promise<Map<string, { name: string, seq: number }>> {
    const names = new Map<string, { name: string, seq: number }>()
    for (const e of await this.queries.directory()) if (equals(e.subject, e.hospital)) names.set(toHex(e.subject), { name: e.name, seq: e.seq })
    return names
  }

  /** Keeps the display names current as blocks are appended (the event fires once they are durable). */
  #watchHospitalNames (): void {
    this.addEventListener('block:appended', (event) => {
      for (const { tx } of (event as CustomEvent<Block>).detail.txs) {
        if (tx.type !== 'directory.set' || !equals(tx.body.subject, tx.signer)) continue
        const key = toHex(tx.signer)
        // The same rule as the state: the hospital's latest seq wins.
        if ((this.#hospitalNames.get(key)?.seq ?? -1) < tx.seq) this.#hospitalNames.set(key, { name: tx.body.name, seq: tx.seq })
      }
    })
  }

  async #loadChains (): Promise<Chains> {
    const chains = new Chains()
    for await (const [key, value] of this.#store.entries(K.metaPrefix)) {
      const [, author, height] = key.split(':')
      // A gap would shift every later height in memory: refuse the folder (`ledger verify` names it).
      if (Number(height) !== chains.headHeight(author) + 1) {
        throw new MedichainError('HEIGHT_GAP', `the chain of ${author.slice(0, 16)} has no block ${chains.headHeight(author) + 1} but one at ${Number(height)}; run ledger verify`)
      }
      const [hash, order, time] = decode(value) as [Uint8Array, number, number]
      chains.load(fromHex(author), hash, order, time)
    }
    for (const chain of chains.all()) {
      const last = await readBlock(this.#store, chain.author, chain.hashes.length - 1)
      if (last !== undefined) chain.lastLinks = last.header.links
    }
    return chains
  }

  /** This hospital's next transaction sequence number: one past the highest it has used. */
  async #nextSeq (): Promise<number> {
    return await this.queries.lastSeq(this.self) + 1
  }

  /** Runs `fn` after every earlier write: appends are strictly one at a time. */
  #exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn)
    this.#serial = run.catch(() => {})
    return run
  }

  // ---- submitting and producing own blocks ----

  async submit (tx: Tx): Promise<TxLocation> {
    this.#assertWritable()
    this.#c.writeGate?.assertOpen()
    return await this.#submit(encodeTx(tx), this.#guard.epoch)
  }

  /**
   * Queues `dtx`, prepared in store epoch `epoch`, for the next own block. Its bytes, encoded once
   * (encodeTx or signEncodedTx), serve the signature check, the block and the store.
   */
  async #submit (dtx: DecodedTx, epoch: number): Promise<TxLocation> {
    this.#assertWritable()
    this.#c.writeGate?.assertOpen()
    const { tx } = dtx
    verifyDecodedTx(this.id, dtx, this.#c.verify)
    if (!this.#members.isActive(this.self)) throw new LedgerRuleError('NOT_MEMBER', 'this hospital is not an active member and cannot write')
    if (refusedAbove(this.#members.flagState(this.self, this.#chains)) !== undefined) {
      throw new LedgerRuleError('FLAGGED_MEMBER', 'this hospital signed two blocks at one height: it cannot write until the consortium resolves it')
    }
    const view = new BatchWriter(this.#store)
    await view.prefetch([...authoriseKeys(dtx), ...keysRead(dtx)])
    authoriseTx(dtx, this.self, this.id, view, this.#c.verify)
    // The block rules, judged against the block this transaction will go into, so that a client
    // hears its own code at once and its transaction never fails a block shared with others.
    const links = this.#chains.heads().filter(h => !equals(h.author, this.self))
    await checkTxRules([dtx], { author: this.self, height: this.#chains.headHeight(this.self) + 1, time: this.#c.clock(), links }, view, this.#isFounder)
    const { idHex, tx: txKey, seq: seqKey } = txKeys(dtx)
    if (this.#queuedIds.has(idHex) || await this.#store.get(txKey) !== undefined) {
      throw new LedgerRuleError('DUPLICATE_TX', `transaction ${idHex.slice(0, 12)} is already on the ledger`)
    }
    if (this.#queuedSeqs.has(seqKey) || await this.#store.get(seqKey) !== undefined) {
      throw new LedgerRuleError('REPLAYED_SEQ', `signer has already used sequence number ${tx.seq}`)
    }
    // The store may have failed, or failed and recovered, during the reads above.
    this.#assertWritable()
    if (epoch !== this.#guard.epoch) throw new StorageError('STORE_FAILED', 'the ledger store recovered from a failure while this write was prepared; send it again')
    this.#queuedIds.add(idHex)
    this.#queuedSeqs.add(seqKey)
    const done = new Promise<TxLocation>((resolve, reject) => this.#queue.push({ dtx, resolve, reject }))
    this.#produce()
    return await done
  }

  async submitOwn<T extends TxType> (type: T, body: TxBodies[T]): Promise<TxLocation> {
    // Checked before a sequence number is handed out: a refused or held write burns none.
    this.#assertWritable()
    this.#c.writeGate?.assertOpen()
    const epoch = this.#guard.epoch
    const unsigned = { type, body, signer: this.self, seq: this.#seq++, time: this.#c.clock() }
    return await this.#submit(signEncodedTx(this.id, unsigned, this.#c.identity), epoch)
  }

  /**
   * Drains the queue into blocks; submissions that arrive meanwhile share the next group. A burst
   * larger than one block becomes several own blocks committed together in one durable batch
   * (one fsync), as received blocks are (#ingestGroup).
   */
  #produce (): void {
    if (this.#producing !== null) return
    this.#producing = (async () => {
      while (this.#queue.length > 0) {
        const batches = this.#takeBatches()
        try {
          // A hold set after these were queued (the own head moved, the clock jumped) still stops them.
          this.#c.writeGate?.assertOpen()
          const blocks = await this.#exclusive(async () => await this.#appendOwn(batches.map(b => b.map(p => p.dtx))))
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
    batch.forEach((p, index) => p.resolve({ txId: p.dtx.id, blockHash: block.hash, author: this.self, height: block.header.height, index }))
  }

  /** The fallback of a group that failed a rule: each block alone, then each transaction of a block that fails alone. */
  async #appendApart (batches: Pending[][]): Promise<void> {
    for (const batch of batches) {
      if (batches.length > 1) {
        try {
          const [block] = await this.#exclusive(async () => await this.#appendOwn([batch.map(p => p.dtx)]))
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
        const [block] = await this.#exclusive(async () => await this.#appendOwn([[p.dtx]]))
        p.resolve({ txId: p.dtx.id, blockHash: block.hash, author: this.self, height: block.header.height, index: 0 })
      } catch (err) {
        p.reject(err)
      }
    }
  }

  readonly #isFounder = (key: Uint8Array): boolean => this.genesis.members.some(m => equals(m.key, key))

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
    this.#assertWritable()
    const group = this.#group()
    const blocks: Block[] = []
    try {
      for (const txs of batches) {
        const block = this.#nextOwnBlock(txs, group.chains)
        await this.#append(block, { own: true, replay: false }, group)
        blocks.push(block)
      }
    } catch (err) {
      group.chains.rollback()
      throw err
    }
    await this.#flush(group)
    return blocks
  }

  /** Signs this hospital's next block over `chains` (a group's staged view: it sees the group's blocks). */
  #nextOwnBlock (txs: DecodedTx[], chains: Chains): Block {
    const chain = chains.get(this.self)
    const height = chains.headHeight(this.self) + 1
    const links = chains.heads().filter(h => !equals(h.author, this.self))
    const lastTime = height === 0 || chain === undefined ? 0 : chain.times[height - 1]
    return createBlock({
      ledger: this.id,
      height,
      prev: height === 0 || chain === undefined ? null : chain.hashes[height - 1],
      links,
      time: Math.max(this.#c.clock(), lastTime),
      txs
    }, this.#c.identity)
  }

  // ---- receiving blocks ----

  async receive (bytes: Uint8Array, opts: { replay?: boolean } = {}): Promise<ReceiveStatus> {
    this.#assertWritable()
    // A large block goes to the pool at once: a worker decodes it in full (canonical form, tx
    // root) and checks every signature; the main thread then only re-parses it. A small block is
    // checked inline, which is cheaper than the round trip. Appends take their turn, so
    // concurrent receives overlap verification with the appends before them, and blocks that
    // are ready together are committed together in one durable batch.
    const pooled = this.#pool !== null && bytes.length >= POOL_MIN_BYTES
    const item: Incoming = { block: pooled ? null : decodeBlock(bytes), replay: opts.replay === true, settled: false, verified: Promise.resolve(), resolve: () => {}, reject: () => {} }
    if (pooled) item.verified = this.#preverify(bytes, item)
    item.verified.then(() => { item.settled = true }, () => { item.settled = true })
    const result = new Promise<ReceiveStatus>((resolve, reject) => { item.resolve = resolve; item.reject = reject })
    this.#incoming.push(item)
    this.#drain()
    return await result
  }

  async #preverify (bytes: Uint8Array, item: Incoming): Promise<void> {
    await (this.#pool as VerifyPool).verifyBlock(bytes, this.id)
    const block = decodeBlock(bytes, { checked: true })
    this.#verified.add(block)
    item.block = block
  }

  #drain (): void {
    if (this.#draining !== null) return
    this.#draining = (async () => {
      while (this.#incoming.length > 0 && this.#guard.fault === null) await this.#exclusive(async () => await this.#ingestGroup())
    })().catch((err: unknown) => {
      this.#log.error({ err: (err as Error).message }, 'ingest stopped')
    }).finally(() => {
      this.#draining = null
      // A block received after the loop's last check but before this line would otherwise wait
      // for the next receive: its caller would never hear back.
      if (this.#incoming.length > 0 && this.#guard.fault === null) this.#drain()
    })
  }

  /** Appends queued blocks into one group: the first waits for its checks, later ones only if ready. */
  async #ingestGroup (): Promise<void> {
    const group = this.#group()
    const answers: Array<() => void> = []
    const taken: Incoming[] = []
    let txs = 0
    while (this.#incoming.length > 0 && txs < GROUP_MAX_TXS && answers.length < GROUP_MAX_BLOCKS) {
      const item = this.#incoming[0]
      if (answers.length > 0 && !item.settled) break
      this.#incoming.shift()
      taken.push(item)
      try {
        await item.verified
        const block = item.block as Block
        txs += block.txs.length
        const status = await this.#receiveOne(block, item.replay, group)
        answers.push(() => item.resolve(status))
      } catch (err) {
        answers.push(() => item.reject(err))
      }
    }
    try {
      await this.#flush(group)
    } catch (err) {
      // Nothing of this group is durable: every caller hears the failure, none waits forever.
      for (const item of [...taken, ...this.#incoming.splice(0)]) item.reject(err)
      return
    }
    for (const answer of answers) answer()
  }

  async #receiveOne (block: Block, replay: boolean, group: Group): Promise<ReceiveStatus> {
    let status: ReceiveStatus
    try {
      status = await this.#append(block, { own: false, replay }, group)
    } catch (err) {
      if (err instanceof MissingDependencyError) {
        this.#waiting.add(block, err.missing)
        return 'buffered'
      }
      throw err
    }
    if (status === 'appended') await this.#releaseWaiting(block, replay, group)
    return status
  }

  /** Appends buffered blocks whose dependencies have now arrived, transitively. */
  async #releaseWaiting (first: Block, replay: boolean, group: Group): Promise<void> {
    const arrived = [first]
    while (arrived.length > 0) {
      const b = arrived.pop() as Block
      for (const next of this.#waiting.release(b.header.author, b.header.height)) {
        try {
          if (await this.#append(next, { own: false, replay }, group) === 'appended') arrived.push(next)
        } catch (err) {
          if (err instanceof MissingDependencyError) this.#waiting.add(next, err.missing)
          else this.#log.warn({ code: (err as MedichainError).code, author: toHex(next.header.author).slice(0, 16), height: next.header.height }, 'buffered block rejected')
        }
      }
    }
  }

  // ---- validating and applying ----

  #group (): Group {
    return { w: new BatchWriter(this.#store), chains: new Chains(this.#chains), members: null, flags: [], equivocal: new Set(), after: [] }
  }

  /**
   * Writes a group durably in one batch (fsync), then commits its staged views to memory and emits
   * events. If the store refuses the batch, memory stays as it was and the ledger refuses writes.
   */
  async #flush (group: Group): Promise<void> {
    if (group.w.size > 0) {
      try {
        await this.#store.batch(group.w.ops())
      } catch (err) {
        group.chains.rollback()
        throw this.#fail(err)
      }
    }
    group.chains.commit()
    if (group.members !== null) this.#members.adopt(group.members)
    for (const f of group.flags) this.#members.flag(f.author, f.height)
    for (const h of group.equivocal) this.#equivocal.add(h)
    if (group.w.size > 0) this.#rootCache = null
    for (const f of group.after) f()
  }

  #assertWritable (): void {
    this.#guard.assertWritable()
  }

  /** Enters the refusing state after a failed batch: every waiting caller hears it at once. */
  #fail (err: unknown): StorageError {
    const { error, first } = this.#guard.fail(err)
    if (first) this.dispatchEvent(new CustomEvent('store:failed', { detail: this.#guard.fault }))
    for (const p of this.#queue.splice(0)) {
      this.#unqueue(p)
      p.reject(error)
    }
    for (const item of this.#incoming.splice(0)) item.reject(error)
    return error
  }

  /** Checks a block against the chains held and, if it passes, applies it into the group. */
  async #append (block: Block, mode: AppendMode, group: Group): Promise<ReceiveStatus> {
    const { header } = block
    if (!equals(header.ledger, this.id)) throw new LedgerRuleError('WRONG_LEDGER', 'block belongs to another ledger')
    const head = group.chains.headHeight(header.author)
    if (header.height <= head) {
      if (group.chains.holds(header.author, header.height, block.hash)) return 'known'
      verifyBlockSignature(block, this.#c.verify)
      await this.#storeEquivocation(block, group)
      return 'evidence'
    }
    const verified = mode.own || this.#verified.has(block)
    if (!verified) verifyBlockSignature(block, this.#c.verify)
    const view = {
      chains: group.chains,
      memberStatus: (k: Uint8Array) => group.members !== null ? group.members.members.get(toHex(k))?.status : this.#members.get(k)?.status,
      isEquivocal: (h: Uint8Array) => group.equivocal.has(toHex(h)) || this.#equivocal.has(toHex(h)),
      flagState: (k: Uint8Array) => this.#members.flagState(k, group.chains, group)
    }
    checkChainRules(block, view, { now: this.#c.clock(), replay: mode.replay })
    if (!verified) verifyTxSignatures(block.txs, this.id, this.#c.verify)
    const w = group.w.child()
    await w.prefetch(block.txs.flatMap(keysRead))
    checkReplays(block.txs, header.author, w)
    await checkTxRules(block.txs, header, w, this.#isFounder)
    this.#apply(block, w, group)
    return 'appended'
  }

  /** Applies a validated block's writes to the group and stages its in-memory views there. */
  #apply (block: Block, w: BatchWriter, group: Group): void {
    const { header } = block
    const order = orderOf(header)
    w.put(K.block(header.author, header.height), block.bytes)
    w.put(K.meta(header.author, header.height), encode([block.hash, order, header.time]))
    w.put(K.byHash(block.hash), encode([header.author, header.height]))
    let membership = false
    for (let index = 0; index < block.txs.length; index++) {
      const dtx = block.txs[index]
      authoriseTx(dtx, header.author, this.id, w, this.#c.verify)
      // Own transactions arriving from other members (a rebuilt folder resyncing) move the next
      // sequence number past them, so no later submission replays one.
      if (equals(dtx.tx.signer, this.self) && dtx.tx.seq >= this.#seq) this.#seq = dtx.tx.seq + 1
      membership = applyTx(w, dtx, { author: header.author, height: header.height, index, order }).membership || membership
    }
    const next = membership ? this.#members.recompute(block.txs, group.members) : null
    if (next !== null) for (const op of next.ops) w.put(op.key, op.value)
    w.merge()
    group.chains.push(header, block.hash)
    if (next !== null) {
      group.members = next
      if (next.changed) group.after.push(() => this.dispatchEvent(new CustomEvent('members:changed', { detail: this.members() })))
    }
    group.after.push(() => this.dispatchEvent(new CustomEvent('block:appended', { detail: block })))
  }

  async #storeEquivocation (block: Block, group: Group): Promise<void> {
    const heldBytes = await group.w.load(K.block(block.header.author, block.header.height))
    if (heldBytes === undefined) return
    const held = decodeBlock(heldBytes)
    const pair = (compare(held.hash, block.hash) < 0 ? [held.bytes, block.bytes] : [block.bytes, held.bytes]) as [Uint8Array, Uint8Array]
    await this.#saveEvidence({ author: block.header.author, height: block.header.height, blocks: pair }, group)
  }

  async #saveEvidence (evidence: Evidence, group: Group): Promise<boolean> {
    const key = K.evidence(evidence.author, evidence.height)
    if (await group.w.load(key) !== undefined) return false
    group.w.put(key, encode(evidence))
    // The flag keeps the lowest equivocating height, so it does not depend on arrival order.
    const flag = await group.w.load(K.flag(evidence.author))
    if (flag === undefined || (decode(flag) as { height: number }).height > evidence.height) {
      group.w.put(K.flag(evidence.author), encode({ height: evidence.height }))
    }
    group.flags.push({ author: evidence.author, height: evidence.height })
    const hashes = evidence.blocks.map(b => toHex(decodeBlock(b).hash))
    for (const h of hashes) group.equivocal.add(h)
    // Blocks that linked the other variant can now be judged: they go round again.
    group.after.push(() => {
      for (const h of hashes) for (const waiting of this.#waiting.releaseKey(`hash:${h}`)) this.receive(waiting.bytes).catch(() => {})
      // Blocks that wait for the member's blocks above the equivocation wait no more (FLAGGED_MEMBER).
      for (const waiting of this.#waiting.releaseAbove(evidence.author, evidence.height)) this.receive(waiting.bytes).catch(() => {})
    })
    this.#log.warn({ author: toHex(evidence.author).slice(0, 16), height: evidence.height }, 'equivocation evidence stored')
    group.after.push(() => this.dispatchEvent(new CustomEvent('evidence:found', { detail: evidence })))
    return true
  }

  async receiveEvidence (evidence: Evidence): Promise<boolean> {
    const [a, b] = evidence.blocks.map(bytes => decodeBlock(bytes))
    for (const blk of [a, b]) {
      if (!equals(blk.header.ledger, this.id)) throw new LedgerRuleError('WRONG_LEDGER', 'evidence belongs to another ledger')
      if (!equals(blk.header.author, evidence.author) || blk.header.height !== evidence.height) {
        throw new LedgerRuleError('EQUIVOCATION', 'evidence blocks do not share the claimed author and height')
      }
      verifyBlockSignature(blk, this.#c.verify)
    }
    if (equals(a.hash, b.hash)) throw new LedgerRuleError('EQUIVOCATION', 'evidence blocks are identical')
    if (this.#members.get(evidence.author) === undefined) throw new LedgerRuleError('NOT_MEMBER', 'evidence names a key that was never a member')
    this.#assertWritable()
    return await this.#exclusive(async () => {
      this.#assertWritable()
      const group = this.#group()
      const stored = await this.#saveEvidence(evidence, group)
      await this.#flush(group)
      return stored
    })
  }

  // ---- own chain confirmation ----

  ownChainKnown (): boolean { return this.#ownChainKnown }

  async markOwnChainKnown (): Promise<void> {
    if (this.#ownChainKnown) return
    await this.#exclusive(async () => await this.#store.batch([{ type: 'put', key: K.ownChainKnown, value: encode({ height: this.#chains.headHeight(this.self) }) }]))
    this.#ownChainKnown = true
  }

  // ---- reads ----

  heads (): Head[] { return this.#chains.heads() }
  size (): number { return this.#chains.size() }
  members (): MemberView[] {
    // A hospital's own `directory.set` names it; the genesis or admission name is the fallback.
    return this.#members.list(this.#chains).map(m => {
      const named = this.#hospitalNames.get(toHex(m.key))
      return named === undefined ? m : { ...m, name: named.name }
    })
  }
  isMember (key: Uint8Array): boolean { return this.#members.isActive(key) }
  storeFault (): StoreFault | null { return this.#guard.fault }
  async blocksAfter (theirs: Head[], limit: number): Promise<Uint8Array[]> { return await readBlocksAfter(this.#store, this.#chains, theirs, limit) }
  async blocks (author: Uint8Array, from: number, limit: number): Promise<Block[]> { return await readBlocks(this.#store, this.#chains, author, from, limit) }
  async block (author: Uint8Array, height: number): Promise<Block | undefined> { return await readBlock(this.#store, author, height) }
  async blockByHash (hash: Uint8Array): Promise<Block | undefined> { return await readBlockByHash(this.#store, hash) }
  async tx (id: Uint8Array): Promise<{ location: TxLocation, proof: import('../protocol/chain/proof.ts').InclusionProof } | undefined> { return await readTx(this.#store, id) }
  async evidence (): Promise<Evidence[]> { return await readEvidence(this.#store) }

  async stateRoot (): Promise<Uint8Array> {
    const size = this.#chains.size()
    if (this.#rootCache !== null && this.#rootCache.size === size) return this.#rootCache.root
    const root = await this.#exclusive(async () => await computeStateRoot(this.#store))
    this.#rootCache = { size, root }
    return root
  }
}

/** Creates a ledger over a level folder: `createLedger(init)(components)`, then `start()`. */
export function createLedger (init: LedgerInit): (components: LedgerComponents) => Ledger {
  return (components) => new LedgerImpl(init, components)
}
