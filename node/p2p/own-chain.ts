// Keeps this peer from writing its own chain before it knows that chain's head as the consortium
// holds it. A folder whose own chain was confirmed before (ledger.ownChainKnown) is the chain's
// authority, since every own block is durable here before any member sees it: it writes at once.
// A new, emptied or rebuilt folder holds writes (SYNCING) until the members it reaches report how
// much of its chain they hold and it has synced that much. A new one-member consortium writes at
// once; a new folder of a one-member genesis first gives members admitted since a moment to answer.
import type { PeerId } from '@libp2p/interface'
import type { Logger } from 'pino'
import type { Block } from '../../protocol/chain/block.ts'
import { equals, toHex } from '../../protocol/bytes.ts'
import type { Ledger } from '../../ledger/types.ts'
import type { WriteGate } from '../../ledger/store/write-gate.ts'
import { OWN_HEAD_SETTLE_MS, SYNCING_RETRY_AFTER_S } from './constants.ts'
import { ChainExistsError, codeOf, NotStartedError } from './errors.ts'
import type { StatusSample } from './status.ts'
import type { SyncResult } from './sync.ts'

/** Options of the guard. */
export interface OwnChainInit {
  /**
   * The admin starts this hospital's chain afresh (`medichain start --fresh-chain`): no member's
   * confirmation is awaited, but start fails with CHAIN_EXISTS if this folder or any member that
   * answers within the settle time holds a block of the chain.
   */
  freshChain?: boolean
  /** How long to wait for more members after the first answer (ms). */
  settleMs?: number
}

/** What the guard uses. */
export interface OwnChainComponents {
  ledger: Pick<Ledger, 'self' | 'heads' | 'members' | 'ownChainKnown' | 'markOwnChainKnown'> & EventTarget
  gate: WriteGate
  logger: Logger
  /** Pulls blocks from one member (the sync service). */
  syncWith: (peer: PeerId) => Promise<SyncResult>
}

/** The guard's decisions, for logs and /api/health. */
export type OwnChainState = 'known' | 'learning' | 'catching-up'

/** See the file comment. */
export class OwnChainGuard {
  readonly #c: OwnChainComponents
  readonly #log: Logger
  readonly #fresh: boolean
  readonly #settleMs: number
  /** Members that hold more of this chain than we do: member hex → their height, with the PeerId. */
  readonly #behind = new Map<string, { height: number, peer: PeerId }>()
  /** Members that answered holding no more of this chain than we do. */
  readonly #confirmed = new Set<string>()
  /** Members that answered holding some block of this chain (for --fresh-chain). */
  readonly #holders = new Set<string>()
  readonly #catchingUp = new Set<string>()
  #known = false
  #settle: ReturnType<typeof setTimeout> | undefined
  #settled = false
  #stopped = false
  #decided: { promise: Promise<void>, resolve: () => void, reject: (err: Error) => void }
  readonly #onAppended = (e: Event): void => {
    const block = (e as CustomEvent<Block>).detail
    if (equals(block.header.author, this.#c.ledger.self)) this.#recheck()
  }

  constructor (init: OwnChainInit, components: OwnChainComponents) {
    this.#c = components
    this.#log = components.logger.child({ module: 'p2p:own-chain' })
    this.#fresh = init.freshChain === true
    this.#settleMs = init.settleMs ?? OWN_HEAD_SETTLE_MS
    let resolve = (): void => {}
    let reject = (_: Error): void => {}
    const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
    promise.catch(() => {})
    this.#decided = { promise, resolve, reject }
  }

  /** Resolves once writes may begin; rejects with ChainExistsError for a refused --fresh-chain. */
  get decided (): Promise<void> { return this.#decided.promise }

  /** Sets the initial hold; throws ChainExistsError when --fresh-chain meets a local chain. */
  start (): void {
    const { ledger } = this.#c
    this.#c.ledger.addEventListener('block:appended', this.#onAppended)
    const others = ledger.members().filter(m => m.status === 'active' && !equals(m.key, ledger.self))
    if (this.#fresh && this.#ownHeight() >= 0) {
      throw new ChainExistsError(`this folder already holds ${this.#ownHeight() + 1} blocks of this hospital's chain; start without --fresh-chain`)
    }
    if (ledger.ownChainKnown() && !this.#fresh) {
      this.#known = true
      this.#decided.resolve()
      return
    }
    this.#hold()
    if (others.length === 0 && this.#fresh) {
      this.#log.info('a new one-member consortium: this chain starts here')
      void this.#confirm()
      return
    }
    if (others.length === 0 || this.#fresh) {
      // Members that answer within the settle time are asked: with --fresh-chain none may hold a
      // block of this chain; in a genesis of one, members admitted since may (they dial us).
      this.#settle = setTimeout(() => { this.#settled = true; this.#evaluate() }, this.#settleMs)
      this.#settle.unref?.()
    }
    this.#log.info({ members: others.length }, 'own chain not confirmed here: writes wait until a member reports how much of it it holds')
  }

  stop (): void {
    this.#stopped = true
    if (this.#settle !== undefined) clearTimeout(this.#settle)
    this.#c.ledger.removeEventListener('block:appended', this.#onAppended)
    this.#decided.reject(new NotStartedError('the peer stopped before its own chain was confirmed'))
  }

  /** What the guard is waiting for. */
  state (): OwnChainState {
    if (this.#behind.size > 0) return 'catching-up'
    return this.#known ? 'known' : 'learning'
  }

  /** Takes one member's answer: how much of this chain it holds. */
  record (member: string, peer: PeerId, sample: StatusSample): void {
    if (this.#stopped) return
    const mine = this.#ownHeight()
    if (sample.head !== null) this.#holders.add(member)
    if (this.#fresh && !this.#known) {
      // Starting afresh: a member that holds any of this chain refuses the start; nothing is synced.
      this.#confirmed.add(member)
      this.#evaluate()
      return
    }
    if (sample.head !== null && sample.head.height > mine) {
      if (this.#known) {
        this.#log.warn({ member: member.slice(0, 16), theirs: sample.head.height, ours: mine }, 'a member holds more of this chain than this folder (restored from an old copy?): writes wait for sync')
      }
      this.#behind.set(member, { height: sample.head.height, peer })
      this.#confirmed.delete(member)
      this.#hold()
      void this.#catchUp(member)
    } else {
      this.#behind.delete(member)
      this.#confirmed.add(member)
    }
    this.#evaluate()
  }

  /** Height of this hospital's chain held locally, or -1. */
  #ownHeight (): number {
    const { ledger } = this.#c
    return ledger.heads().find(h => equals(h.author, ledger.self))?.height ?? -1
  }

  #hold (): void {
    this.#c.gate.hold({
      code: 'SYNCING',
      message: 'this peer is still learning its own chain from the other members; try again shortly',
      retryAfterSeconds: SYNCING_RETRY_AFTER_S
    })
  }

  /** Own blocks arrived: members we were behind may now be caught up with. */
  #recheck (): void {
    const mine = this.#ownHeight()
    let moved = false
    for (const [member, b] of this.#behind) {
      if (mine >= b.height) {
        this.#behind.delete(member)
        this.#confirmed.add(member)
        moved = true
      }
    }
    if (moved) this.#evaluate()
  }

  /** Syncs with a member that holds more of this chain until we hold as much, or no progress. */
  async #catchUp (member: string): Promise<void> {
    if (this.#catchingUp.has(member)) return
    this.#catchingUp.add(member)
    try {
      for (;;) {
        const b = this.#behind.get(member)
        if (b === undefined || this.#stopped || this.#ownHeight() >= b.height) break
        const result = await this.#c.syncWith(b.peer)
        if (result.appended === 0) break
      }
    } catch (err) {
      this.#log.debug({ member: member.slice(0, 16), code: codeOf(err) }, 'catch-up sync failed; the next status exchange retries')
    } finally {
      this.#catchingUp.delete(member)
      this.#recheck()
    }
  }

  /** Opens the gate when what the guard waits for has arrived. */
  #evaluate (): void {
    if (this.#stopped || this.#behind.size > 0) return
    if (this.#known) {
      this.#c.gate.release('SYNCING')
      return
    }
    const { ledger } = this.#c
    if (this.#fresh) {
      if (this.#holders.size > 0) {
        this.#decided.reject(new ChainExistsError(`${this.#holders.size} member(s) still hold blocks of this hospital's chain; start without --fresh-chain to resync it`))
        return
      }
      if (!this.#settled && !this.#allAnswered()) return
      this.#log.warn({ asked: this.#confirmed.size }, 'starting this hospital\'s chain afresh, as --fresh-chain asked')
      void this.#confirm()
      return
    }
    if (this.#confirmed.size === 0) {
      if (this.#settled && this.#alone()) {
        this.#log.info('no member answered and this folder knows no other member: writes open')
        void this.#confirm()
      }
      return
    }
    if (!this.#allAnswered() && !this.#settled) {
      // The first member confirmed: give the others a moment to answer too, since any of them may
      // hold more of this chain (its last blocks reached only some members before the loss).
      this.#settle ??= setTimeout(() => { this.#settled = true; this.#evaluate() }, this.#settleMs)
      this.#settle.unref?.()
      return
    }
    this.#log.info({ height: this.#ownHeight(), confirmedBy: this.#confirmed.size, self: toHex(ledger.self).slice(0, 16) }, 'own chain head learnt from the members: writes open')
    void this.#confirm()
  }

  /** True when the ledger held knows no other active member. */
  #alone (): boolean {
    const { ledger } = this.#c
    return ledger.members().every(m => m.status !== 'active' || equals(m.key, ledger.self))
  }

  /** True when every other active member has answered. */
  #allAnswered (): boolean {
    const { ledger } = this.#c
    return ledger.members().every(m => m.status !== 'active' || equals(m.key, ledger.self) || this.#confirmed.has(toHex(m.key)))
  }

  /** Marks the own chain known (durably) and opens the gate. */
  async #confirm (): Promise<void> {
    if (this.#known) return
    this.#known = true
    try {
      await this.#c.ledger.markOwnChainKnown()
    } catch (err) {
      this.#known = false
      this.#log.error({ code: codeOf(err) }, 'could not record the own chain as confirmed; writes stay held')
      return
    }
    if (this.#settle !== undefined) clearTimeout(this.#settle)
    if (this.#behind.size === 0) this.#c.gate.release('SYNCING')
    this.#decided.resolve()
  }
}
