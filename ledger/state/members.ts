// The live membership view: genesis plus enacted proposals, with equivocation flags. Kept in
// memory for the connection gater and block validation, persisted as `s:member:` state.
import { fromHex, toHex } from '../../protocol/bytes.ts'
import { decode, encode } from '../../protocol/codec.ts'
import type { Genesis } from '../../protocol/chain/genesis.ts'
import type { DecodedTx } from '../../protocol/chain/tx.ts'
import { K } from '../store/keys.ts'
import { evaluateMembership } from './membership.ts'
import type { MemberState, Proposal } from './membership.ts'
import type { Chains } from './chains.ts'
import type { LedgerStore, StoreOp } from '../store/store.ts'
import { refusedAbove } from '../rules/flag.ts'
import type { FlagState } from '../rules/flag.ts'
import type { MemberView } from '../data-types.ts'

/** A recomputed membership, not yet adopted (adopt only after its batch is durable). */
export interface MembershipUpdate {
  members: Map<string, MemberState>
  proposals: Map<string, Proposal>
  approvals: Map<string, Set<string>>
  ops: Array<{ key: string, value: Uint8Array }>
  changed: boolean
}

function memberValue (m: MemberState): Uint8Array {
  return encode({ name: m.name, addrs: m.addrs, status: m.status, admittedBy: m.admittedBy })
}

/** Membership state of one ledger. */
export class MemberRegistry {
  readonly #genesis: Genesis
  readonly #store: LedgerStore
  #members = new Map<string, MemberState>()
  #proposals = new Map<string, Proposal>()
  #approvals = new Map<string, Set<string>>()
  /** Heights of the equivocation evidence held, by hex member key. */
  readonly #flagged = new Map<string, Set<number>>()

  constructor (genesis: Genesis, store: LedgerStore) {
    this.#genesis = genesis
    this.#store = store
    this.#members = evaluateMembership(genesis, [], new Map())
  }

  /** State entries for the founding members, written when a store is created. */
  genesisOps (): StoreOp[] {
    return [...this.#members.values()].map(m => ({ type: 'put', key: K.member(m.key), value: memberValue(m) }))
  }

  async load (): Promise<void> {
    for await (const [key, value] of this.#store.entries(K.proposalPrefix)) {
      const p = decode(value) as Omit<Proposal, 'id'>
      const id = key.slice(K.proposalPrefix.length)
      this.#proposals.set(id, { ...p, id })
    }
    for await (const key of this.#store.keys(K.approvalPrefix)) {
      const [, , proposal, approver] = key.split(':')
      let set = this.#approvals.get(proposal)
      if (set === undefined) this.#approvals.set(proposal, set = new Set())
      set.add(approver)
    }
    this.#members = evaluateMembership(this.#genesis, [...this.#proposals.values()], this.#approvals)
    for await (const key of this.#store.keys(K.evidencePrefix)) {
      const [, author, height] = key.split(':')
      this.flag(author, Number(height))
    }
  }

  get (key: Uint8Array): MemberState | undefined {
    return this.#members.get(toHex(key))
  }

  isActive (key: Uint8Array): boolean {
    return this.#members.get(toHex(key))?.status === 'active'
  }

  /** Records equivocation evidence of `author` at `height`. */
  flag (author: Uint8Array | string, height: number): void {
    const hex = typeof author === 'string' ? author : toHex(author)
    let heights = this.#flagged.get(hex)
    if (heights === undefined) this.#flagged.set(hex, heights = new Set())
    heights.add(height)
  }

  /**
   * What the FLAGGED_MEMBER rule needs about `author`, given its chain as held here and what a
   * batch not yet durable adds (`staged`: its membership update and its new evidence).
   */
  flagState (author: Uint8Array | string, chains: Chains, staged: { members?: MembershipUpdate | null, flags?: Array<{ author: Uint8Array, height: number }> } = {}): FlagState {
    const hex = typeof author === 'string' ? author : toHex(author)
    const heights = new Set(this.#flagged.get(hex) ?? [])
    for (const f of staged.flags ?? []) if (toHex(f.author) === hex) heights.add(f.height)
    const member = staged.members?.members.get(hex) ?? this.#members.get(hex)
    return { heights: [...heights], resolutions: member?.resolutions ?? [], chain: chains.get(hex) }
  }

  list (chains: Chains): MemberView[] {
    return [...this.#members.entries()].sort(([a], [b]) => a < b ? -1 : 1).map(([hex, m]) => {
      const heights = [...this.#flagged.get(hex) ?? []].sort((a, b) => a - b)
      return {
        key: m.key,
        name: m.name,
        addrs: m.addrs,
        status: m.status,
        flagged: heights.length > 0,
        equivocations: heights,
        refusedAbove: refusedAbove(this.flagState(hex, chains)) ?? null,
        resolutions: m.resolutions.map(r => ({ height: r.height, keep: r.keep, proposal: fromHex(r.proposal) })),
        admittedBy: m.admittedBy === null ? null : fromHex(m.admittedBy)
      }
    })
  }

  /**
   * Membership after adding a block's proposals and approvals, with the state writes it needs.
   * `staged` is an update of the same batch not yet adopted: this one builds on it.
   */
  recompute (txs: DecodedTx[], staged: MembershipUpdate | null = null): MembershipUpdate {
    const current = staged ?? { members: this.#members, proposals: this.#proposals, approvals: this.#approvals }
    const proposals = new Map(current.proposals)
    const approvals = new Map([...current.approvals].map(([k, v]) => [k, new Set(v)]))
    for (const { tx, id } of txs) {
      if (tx.type === 'member.propose') {
        const idHex = toHex(id)
        proposals.set(idHex, { id: idHex, ...tx.body, proposer: tx.signer, time: tx.time })
      } else if (tx.type === 'member.resolve') {
        const idHex = toHex(id)
        proposals.set(idHex, { id: idHex, action: 'resolve', ...tx.body, name: '', addrs: [], proposer: tx.signer, time: tx.time })
      } else if (tx.type === 'member.approve') {
        const p = toHex(tx.body.proposal)
        let set = approvals.get(p)
        if (set === undefined) approvals.set(p, set = new Set())
        set.add(toHex(tx.signer))
      }
    }
    const members = evaluateMembership(this.#genesis, [...proposals.values()], approvals)
    const ops: Array<{ key: string, value: Uint8Array }> = []
    for (const [hex, m] of members) {
      const old = current.members.get(hex)
      if (old === undefined || old.status !== m.status || old.admittedBy !== m.admittedBy || old.name !== m.name) {
        ops.push({ key: K.member(hex), value: memberValue(m) })
      }
    }
    const resolved = [...members].some(([hex, m]) => m.resolutions.length !== (current.members.get(hex)?.resolutions.length ?? 0))
    return { members, proposals, approvals, ops, changed: ops.length > 0 || resolved }
  }

  adopt (update: MembershipUpdate): void {
    this.#members = update.members
    this.#proposals = update.proposals
    this.#approvals = update.approvals
  }
}
