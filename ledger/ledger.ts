// The replicated ledger of one peer: validates and appends blocks from the network, produces this
// hospital's own blocks from submitted transactions, buffers blocks that arrive early, and keeps
// equivocation evidence. Every append is one durable level batch, and memory follows the batch
// only once it is durable; a store that refuses a batch refuses every write until it recovers.
// This file opens the store, holds the state and answers reads; the parts are in append/:
// own-blocks.ts (submissions), intake.ts (received blocks) and group-commit.ts (checks, apply,
// durable commit).
import { decodeBlock, verifyBlockSignature } from '../protocol/chain/block.ts'
import type { Block } from '../protocol/chain/block.ts'
import { equals, fromHex, toHex } from '../protocol/bytes.ts'
import { decode, encode } from '../protocol/codec.ts'
import { LedgerRuleError, MedichainError } from '../protocol/errors.ts'
import type { Genesis } from '../protocol/chain/genesis.ts'
import { encodeGenesis, ledgerIdOf } from '../protocol/chain/genesis.ts'
import { encodeTx } from '../protocol/chain/tx.ts'
import type { Tx, TxBodies, TxType } from '../protocol/chain/tx.ts'
import { signEncodedTx } from '../protocol/chain/tx-bytes.ts'
import { Chains } from './state/chains.ts'
import { GroupCommit } from './append/group-commit.ts'
import type { LedgerMemory } from './append/group-commit.ts'
import { Intake } from './append/intake.ts'
import { K } from './store/keys.ts'
import { MemberRegistry } from './state/members.ts'
import { OwnBlocks } from './append/own-blocks.ts'
import { createQueries } from './queries/queries.ts'
import type { LedgerQueries } from './queries/queries.ts'
import { computeStateRoot, readBlock, readBlockByHash, readBlocks, readBlocksAfter, readEvidence, readTx } from './queries/reads.ts'
import { LedgerStore } from './store/store.ts'
import type { StorageError } from './store/storage-error.ts'
import { StoreGuard } from './store/guard.ts'
import type { Evidence, Head, Ledger, LedgerComponents, LedgerInit, MemberView, ReceiveStatus, StoreFault, TxLocation } from './types.ts'
import { WaitingRoom } from './append/waiting-room.ts'
import { createVerifyPool } from './verify/pool.ts'
import type { VerifyPool } from './verify/pool.ts'

class LedgerImpl extends EventTarget implements Ledger {
  readonly id: Uint8Array
  readonly genesis: Genesis
  readonly self: Uint8Array
  readonly queries: LedgerQueries
  readonly #c: LedgerComponents
  readonly #store: LedgerStore
  /** The in-memory views of the store, shared with the parts below. */
  readonly #memory: LedgerMemory
  readonly #commit: GroupCommit
  readonly #own: OwnBlocks
  readonly #intake: Intake
  #serial: Promise<unknown> = Promise.resolve()
  /** True once this folder's own chain was confirmed as the consortium's (see markOwnChainKnown). */
  #ownChainKnown = false
  #started = false
  #pool: VerifyPool | null = null
  /** Refuses writes from a failed batch until the store has recovered. */
  readonly #guard: StoreGuard
  /** Display names hospitals gave themselves with `directory.set`, by hex key, with the seq that set them. */
  #hospitalNames = new Map<string, { name: string, seq: number }>()
  readonly #poolSize: number

  constructor (init: LedgerInit, components: LedgerComponents) {
    super()
    this.genesis = init.genesis
    this.id = ledgerIdOf(init.genesis)
    this.self = components.identity.publicKey
    this.#c = components
    const log = components.logger.child({ component: 'ledger' })
    const store = this.#store = new LedgerStore(init.path)
    this.#memory = { chains: new Chains(), members: new MemberRegistry(init.genesis, store), equivocal: new Set(), seq: 0, rootCache: null }
    const waiting = new WaitingRoom(init.maxBuffered ?? 4096)
    this.#poolSize = init.verifyWorkers ?? 0
    this.queries = createQueries(store, this)
    const guard = this.#guard = new StoreGuard({
      store,
      logger: log,
      clock: components.clock,
      exclusive: async (fn) => await this.#exclusive(fn),
      reload: async () => await this.#loadState(),
      recovered: (fault) => {
        this.dispatchEvent(new CustomEvent('store:recovered', { detail: fault }))
        this.#intake.drain()
      }
    })
    const { identity, verify, clock, writeGate } = components
    const verified = new WeakSet<Block>()
    const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => await this.#exclusive(fn)
    const isFounder = (key: Uint8Array): boolean => this.genesis.members.some(m => equals(m.key, key))
    this.#commit = new GroupCommit({
      id: this.id,
      self: this.self,
      store,
      memory: this.#memory,
      waiting,
      verified,
      verify,
      clock,
      log,
      isFounder,
      members: () => this.members(),
      emit: (type, detail) => this.dispatchEvent(new CustomEvent(type, { detail })),
      receive: async (bytes) => await this.receive(bytes),
      fail: (err) => this.#fail(err)
    })
    this.#own = new OwnBlocks({ id: this.id, self: this.self, store, memory: this.#memory, commit: this.#commit, guard, identity, verify, clock, writeGate, isFounder, exclusive })
    this.#intake = new Intake({ id: this.id, commit: this.#commit, guard, waiting, verified, pool: () => this.#pool, log, exclusive })
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
      const ops = [this.#store.schemaStamp(), { type: 'put' as const, key: K.genesis, value: genesisBytes }, ...this.#memory.members.genesisOps()]
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
    await this.#own.idle()
    await this.#intake.idle()
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
    Object.assign(this.#memory, { chains, equivocal, members, seq, rootCache: null })
    this.#hospitalNames = await this.#readHospitalNames()
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

  // ---- submitting own transactions, receiving blocks ----

  async submit (tx: Tx): Promise<TxLocation> {
    this.#assertWritable()
    this.#c.writeGate?.assertOpen()
    return await this.#own.submit(encodeTx(tx), this.#guard.epoch)
  }

  async submitOwn<T extends TxType> (type: T, body: TxBodies[T]): Promise<TxLocation> {
    // Checked before a sequence number is handed out: a refused or held write burns none.
    this.#assertWritable()
    this.#c.writeGate?.assertOpen()
    const epoch = this.#guard.epoch
    const unsigned = { type, body, signer: this.self, seq: this.#memory.seq++, time: this.#c.clock() }
    return await this.#own.submit(signEncodedTx(this.id, unsigned, this.#c.identity), epoch)
  }

  async receive (bytes: Uint8Array, opts: { replay?: boolean } = {}): Promise<ReceiveStatus> {
    this.#assertWritable()
    return await this.#intake.receive(bytes, opts)
  }

  #assertWritable (): void {
    this.#guard.assertWritable()
  }

  /** Enters the refusing state after a failed batch: every waiting caller hears it at once. */
  #fail (err: unknown): StorageError {
    const { error, first } = this.#guard.fail(err)
    if (first) this.dispatchEvent(new CustomEvent('store:failed', { detail: this.#guard.fault }))
    this.#own.rejectQueued(error)
    this.#intake.rejectQueued(error)
    return error
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
    if (this.#memory.members.get(evidence.author) === undefined) throw new LedgerRuleError('NOT_MEMBER', 'evidence names a key that was never a member')
    this.#assertWritable()
    return await this.#exclusive(async () => {
      this.#assertWritable()
      const group = this.#commit.group()
      const stored = await this.#commit.saveEvidence(evidence, group)
      await this.#commit.flush(group)
      return stored
    })
  }

  // ---- own chain confirmation ----

  ownChainKnown (): boolean { return this.#ownChainKnown }

  async markOwnChainKnown (): Promise<void> {
    if (this.#ownChainKnown) return
    await this.#exclusive(async () => await this.#store.batch([{ type: 'put', key: K.ownChainKnown, value: encode({ height: this.#memory.chains.headHeight(this.self) }) }]))
    this.#ownChainKnown = true
  }

  // ---- reads ----

  heads (): Head[] { return this.#memory.chains.heads() }
  size (): number { return this.#memory.chains.size() }
  members (): MemberView[] {
    // A hospital's own `directory.set` names it; the genesis or admission name is the fallback.
    return this.#memory.members.list(this.#memory.chains).map(m => {
      const named = this.#hospitalNames.get(toHex(m.key))
      return named === undefined ? m : { ...m, name: named.name }
    })
  }
  isMember (key: Uint8Array): boolean { return this.#memory.members.isActive(key) }
  storeFault (): StoreFault | null { return this.#guard.fault }
  async blocksAfter (theirs: Head[], limit: number): Promise<Uint8Array[]> { return await readBlocksAfter(this.#store, this.#memory.chains, theirs, limit) }
  async blocks (author: Uint8Array, from: number, limit: number): Promise<Block[]> { return await readBlocks(this.#store, this.#memory.chains, author, from, limit) }
  async block (author: Uint8Array, height: number): Promise<Block | undefined> { return await readBlock(this.#store, author, height) }
  async blockByHash (hash: Uint8Array): Promise<Block | undefined> { return await readBlockByHash(this.#store, hash) }
  async tx (id: Uint8Array): Promise<{ location: TxLocation, proof: import('../protocol/chain/proof.ts').InclusionProof } | undefined> { return await readTx(this.#store, id) }
  async evidence (): Promise<Evidence[]> { return await readEvidence(this.#store) }

  async stateRoot (): Promise<Uint8Array> {
    const size = this.#memory.chains.size()
    if (this.#memory.rootCache !== null && this.#memory.rootCache.size === size) return this.#memory.rootCache.root
    const root = await this.#exclusive(async () => await computeStateRoot(this.#store))
    this.#memory.rootCache = { size, root }
    return root
  }
}

/** Creates a ledger over a level folder: `createLedger(init)(components)`, then `start()`. */
export function createLedger (init: LedgerInit): (components: LedgerComponents) => Ledger {
  return (components) => new LedgerImpl(init, components)
}
