// Appending blocks to the ledger in groups: each block is checked against the chains held and its
// writes applied into a Group, one level batch with the in-memory views it changes staged beside it;
// a group is written durably in one batch (one fsync) before memory follows and events fire. An
// equivocation met on the way becomes evidence in the same group.
import type { Logger } from 'pino'
import { decodeBlock, verifyBlockSignature } from '../../protocol/chain/block.ts'
import type { Block } from '../../protocol/chain/block.ts'
import { compare, equals, toHex } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { Verifier } from '../../protocol/crypto/ed25519.ts'
import { Chains, orderOf } from '../state/chains.ts'
import { K } from '../store/keys.ts'
import type { MemberRegistry, MembershipUpdate } from '../state/members.ts'
import { applyTx, BatchWriter, keysRead } from '../state/state.ts'
import type { LedgerStore } from '../store/store.ts'
import type { StorageError } from '../store/storage-error.ts'
import type { Clock, Evidence, MemberView, ReceiveStatus } from '../types.ts'
import type { WaitingRoom } from './waiting-room.ts'
import { authoriseTx, checkChainRules, checkReplays, checkTxRules, verifyTxSignatures } from '../rules/validate.ts'

/** Bounds of one group commit: enough to amortise an fsync, small enough to keep latency low. */
export const GROUP_MAX_BLOCKS = 64
export const GROUP_MAX_TXS = 4096

/** How a block reaches `append`: from the network, produced here, or replayed by `ledger verify`. */
export interface AppendMode { own: boolean, replay: boolean }

/**
 * Blocks committed in one level batch: their writes, what they change in memory (staged here and
 * committed only once the batch is durable), and what to do then.
 */
export interface Group {
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

/**
 * The ledger's in-memory views of its store, shared by its parts: replaced as a whole when the
 * state is read again from disk, changed otherwise only by a group once it is durable.
 */
export interface LedgerMemory {
  chains: Chains
  members: MemberRegistry
  /** Hex hashes of both blocks of every equivocation held. */
  equivocal: Set<string>
  /** This hospital's next transaction sequence number. */
  seq: number
  rootCache: { size: number, root: Uint8Array } | null
}

/** What the group commit uses of the ledger. */
export interface GroupCommitComponents {
  /** The ledger id and this hospital's key. */
  id: Uint8Array
  self: Uint8Array
  store: LedgerStore
  memory: LedgerMemory
  waiting: WaitingRoom
  /** Blocks whose every signature the verify pool has checked. */
  verified: WeakSet<Block>
  verify: Verifier
  clock: Clock
  log: Logger
  isFounder: (key: Uint8Array) => boolean
  /** The member list as the ledger shows it, for `members:changed`. */
  members: () => MemberView[]
  emit: (type: string, detail: unknown) => void
  /** Offers a block again (one released from the waiting room by new evidence). */
  receive: (bytes: Uint8Array) => Promise<unknown>
  /** Enters the refusing state after a failed batch; the error to throw. */
  fail: (err: unknown) => StorageError
}

/** Checks and applies blocks into groups, and commits each group in one durable batch. */
export class GroupCommit {
  readonly #c: GroupCommitComponents

  constructor (components: GroupCommitComponents) {
    this.#c = components
  }

  /** A new, empty group over the chains held. */
  group (): Group {
    return { w: new BatchWriter(this.#c.store), chains: new Chains(this.#c.memory.chains), members: null, flags: [], equivocal: new Set(), after: [] }
  }

  /**
   * Writes a group durably in one batch (fsync), then commits its staged views to memory and emits
   * events. If the store refuses the batch, memory stays as it was and the ledger refuses writes.
   */
  async flush (group: Group): Promise<void> {
    const memory = this.#c.memory
    if (group.w.size > 0) {
      try {
        await this.#c.store.batch(group.w.ops())
      } catch (err) {
        group.chains.rollback()
        throw this.#c.fail(err)
      }
    }
    group.chains.commit()
    if (group.members !== null) memory.members.adopt(group.members)
    for (const f of group.flags) memory.members.flag(f.author, f.height)
    for (const h of group.equivocal) memory.equivocal.add(h)
    if (group.w.size > 0) memory.rootCache = null
    for (const f of group.after) f()
  }

  /** Checks a block against the chains held and, if it passes, applies it into the group. */
  async append (block: Block, mode: AppendMode, group: Group): Promise<ReceiveStatus> {
    const { header } = block
    const { memory, verify } = this.#c
    if (!equals(header.ledger, this.#c.id)) throw new LedgerRuleError('WRONG_LEDGER', 'block belongs to another ledger')
    const head = group.chains.headHeight(header.author)
    if (header.height <= head) {
      if (group.chains.holds(header.author, header.height, block.hash)) return 'known'
      verifyBlockSignature(block, verify)
      await this.#storeEquivocation(block, group)
      return 'evidence'
    }
    const verified = mode.own || this.#c.verified.has(block)
    if (!verified) verifyBlockSignature(block, verify)
    const view = {
      chains: group.chains,
      memberStatus: (k: Uint8Array) => group.members !== null ? group.members.members.get(toHex(k))?.status : memory.members.get(k)?.status,
      isEquivocal: (h: Uint8Array) => group.equivocal.has(toHex(h)) || memory.equivocal.has(toHex(h)),
      flagState: (k: Uint8Array) => memory.members.flagState(k, group.chains, group)
    }
    checkChainRules(block, view, { now: this.#c.clock(), replay: mode.replay })
    if (!verified) verifyTxSignatures(block.txs, this.#c.id, verify)
    const w = group.w.child()
    await w.prefetch(block.txs.flatMap(keysRead))
    checkReplays(block.txs, header.author, w)
    await checkTxRules(block.txs, header, w, this.#c.isFounder)
    this.#apply(block, w, group)
    return 'appended'
  }

  /** Applies a validated block's writes to the group and stages its in-memory views there. */
  #apply (block: Block, w: BatchWriter, group: Group): void {
    const { header } = block
    const memory = this.#c.memory
    const order = orderOf(header)
    w.put(K.block(header.author, header.height), block.bytes)
    w.put(K.meta(header.author, header.height), encode([block.hash, order, header.time]))
    w.put(K.byHash(block.hash), encode([header.author, header.height]))
    let membership = false
    for (let index = 0; index < block.txs.length; index++) {
      const dtx = block.txs[index]
      authoriseTx(dtx, header.author, this.#c.id, w, this.#c.verify)
      // Own transactions arriving from other members (a rebuilt folder resyncing) move the next
      // sequence number past them, so no later submission replays one.
      if (equals(dtx.tx.signer, this.#c.self) && dtx.tx.seq >= memory.seq) memory.seq = dtx.tx.seq + 1
      membership = applyTx(w, dtx, { author: header.author, height: header.height, index, order }).membership || membership
    }
    const next = membership ? memory.members.recompute(block.txs, group.members) : null
    if (next !== null) for (const op of next.ops) w.put(op.key, op.value)
    w.merge()
    group.chains.push(header, block.hash)
    if (next !== null) {
      group.members = next
      if (next.changed) group.after.push(() => this.#c.emit('members:changed', this.#c.members()))
    }
    group.after.push(() => this.#c.emit('block:appended', block))
  }

  async #storeEquivocation (block: Block, group: Group): Promise<void> {
    const heldBytes = await group.w.load(K.block(block.header.author, block.header.height))
    if (heldBytes === undefined) return
    const held = decodeBlock(heldBytes)
    const pair = (compare(held.hash, block.hash) < 0 ? [held.bytes, block.bytes] : [block.bytes, held.bytes]) as [Uint8Array, Uint8Array]
    await this.saveEvidence({ author: block.header.author, height: block.header.height, blocks: pair }, group)
  }

  /** Stores equivocation evidence in the group and flags its author; false when it was held already. */
  async saveEvidence (evidence: Evidence, group: Group): Promise<boolean> {
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
      const { waiting, receive } = this.#c
      for (const h of hashes) for (const held of waiting.releaseKey(`hash:${h}`)) receive(held.bytes).catch(() => {})
      // Blocks that wait for the member's blocks above the equivocation wait no more (FLAGGED_MEMBER).
      for (const held of waiting.releaseAbove(evidence.author, evidence.height)) receive(held.bytes).catch(() => {})
    })
    this.#c.log.warn({ author: toHex(evidence.author).slice(0, 16), height: evidence.height }, 'equivocation evidence stored')
    group.after.push(() => this.#c.emit('evidence:found', evidence))
    return true
  }
}
