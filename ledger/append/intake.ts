// Blocks received from other members (sync and gossip) or replayed by `ledger verify`: a large block
// is checked by the verify pool while earlier ones append, blocks that are ready together are
// appended as one durable group, and a block that arrives before one it depends on waits in the
// waiting room until that one is appended.
import type { Logger } from 'pino'
import { decodeBlock } from '../../protocol/chain/block.ts'
import type { Block } from '../../protocol/chain/block.ts'
import { toHex } from '../../protocol/bytes.ts'
import { MissingDependencyError } from '../../protocol/errors.ts'
import type { MedichainError } from '../../protocol/errors.ts'
import { GROUP_MAX_BLOCKS, GROUP_MAX_TXS } from './group-commit.ts'
import type { Group, GroupCommit } from './group-commit.ts'
import type { StoreGuard } from '../store/guard.ts'
import type { ReceiveStatus } from '../types.ts'
import type { VerifyPool } from '../verify/pool.ts'
import type { WaitingRoom } from './waiting-room.ts'

/** Smaller blocks (about 8 transactions) are checked on the main thread (measured: bench:ledger). */
const POOL_MIN_BYTES = 4096

/** A received block waiting for its turn to be appended (decoded once its checks are done). */
interface Incoming {
  block: Block | null
  replay: boolean
  verified: Promise<void>
  settled: boolean
  resolve: (status: ReceiveStatus) => void
  reject: (err: unknown) => void
}

/** What the intake of received blocks uses of the ledger. */
export interface IntakeComponents {
  /** The ledger id. */
  id: Uint8Array
  commit: GroupCommit
  guard: StoreGuard
  waiting: WaitingRoom
  /** Blocks whose every signature the verify pool has checked (filled here). */
  verified: WeakSet<Block>
  /** The verify pool while the ledger runs with one; else null. */
  pool: () => VerifyPool | null
  log: Logger
  /** Runs `fn` after every earlier write of the ledger. */
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>
}

/** The queue of received blocks and their appends in groups. */
export class Intake {
  readonly #c: IntakeComponents
  #incoming: Incoming[] = []
  #draining: Promise<void> | null = null

  constructor (components: IntakeComponents) {
    this.#c = components
  }

  /** Settles once the blocks being appended now are committed or refused. */
  async idle (): Promise<void> {
    await this.#draining
  }

  /** Queues a block's bytes for appending; resolves to what became of it once it is durable. */
  async receive (bytes: Uint8Array, opts: { replay?: boolean } = {}): Promise<ReceiveStatus> {
    // A large block goes to the pool at once: a worker decodes it in full (canonical form, tx
    // root) and checks every signature; the main thread then only re-parses it. A small block is
    // checked inline, which is cheaper than the round trip. Appends take their turn, so
    // concurrent receives overlap verification with the appends before them, and blocks that
    // are ready together are committed together in one durable batch.
    const pool = this.#c.pool()
    const pooled = pool !== null && bytes.length >= POOL_MIN_BYTES
    const item: Incoming = { block: pooled ? null : decodeBlock(bytes), replay: opts.replay === true, settled: false, verified: Promise.resolve(), resolve: () => {}, reject: () => {} }
    if (pooled) item.verified = this.#preverify(pool, bytes, item)
    item.verified.then(() => { item.settled = true }, () => { item.settled = true })
    const result = new Promise<ReceiveStatus>((resolve, reject) => { item.resolve = resolve; item.reject = reject })
    this.#incoming.push(item)
    this.drain()
    return await result
  }

  /** Refuses every block still queued with `error` (the store failed). */
  rejectQueued (error: unknown): void {
    for (const item of this.#incoming.splice(0)) item.reject(error)
  }

  async #preverify (pool: VerifyPool, bytes: Uint8Array, item: Incoming): Promise<void> {
    await pool.verifyBlock(bytes, this.#c.id)
    const block = decodeBlock(bytes, { checked: true })
    this.#c.verified.add(block)
    item.block = block
  }

  /** Appends the queued blocks, group by group, while the store takes writes (again after a recovery). */
  drain (): void {
    if (this.#draining !== null) return
    const { guard } = this.#c
    this.#draining = (async () => {
      while (this.#incoming.length > 0 && guard.fault === null) await this.#c.exclusive(async () => await this.#ingestGroup())
    })().catch((err: unknown) => {
      this.#c.log.error({ err: (err as Error).message }, 'ingest stopped')
    }).finally(() => {
      this.#draining = null
      // A block received after the loop's last check but before this line would otherwise wait
      // for the next receive: its caller would never hear back.
      if (this.#incoming.length > 0 && guard.fault === null) this.drain()
    })
  }

  /** Appends queued blocks into one group: the first waits for its checks, later ones only if ready. */
  async #ingestGroup (): Promise<void> {
    const group = this.#c.commit.group()
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
      await this.#c.commit.flush(group)
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
      status = await this.#c.commit.append(block, { own: false, replay }, group)
    } catch (err) {
      if (err instanceof MissingDependencyError) {
        this.#c.waiting.add(block, err.missing)
        return 'buffered'
      }
      throw err
    }
    if (status === 'appended') await this.#releaseWaiting(block, replay, group)
    return status
  }

  /** Appends buffered blocks whose dependencies have now arrived, transitively. */
  async #releaseWaiting (first: Block, replay: boolean, group: Group): Promise<void> {
    const { commit, waiting } = this.#c
    const arrived = [first]
    while (arrived.length > 0) {
      const b = arrived.pop() as Block
      for (const next of waiting.release(b.header.author, b.header.height)) {
        try {
          if (await commit.append(next, { own: false, replay }, group) === 'appended') arrived.push(next)
        } catch (err) {
          if (err instanceof MissingDependencyError) waiting.add(next, err.missing)
          else this.#c.log.warn({ code: (err as MedichainError).code, author: toHex(next.header.author).slice(0, 16), height: next.header.height }, 'buffered block rejected')
        }
      }
    }
  }
}
