// Membership as a pure function of the genesis and the set of proposals and approvals on the
// ledger. Because it reads sets, not an arrival order, every peer holding the same blocks derives
// the same members, however the blocks reached it (docs/design.md §3, §4).
import { toHex } from '../../protocol/bytes.ts'
import type { Genesis } from '../../protocol/chain/genesis.ts'
import { quorumSize } from '../../protocol/chain/genesis.ts'

/** A membership proposal as stored in state; a 'resolve' names the equivocation it closes. */
export interface Proposal {
  id: string
  action: 'add' | 'remove' | 'resolve'
  member: Uint8Array
  name: string
  addrs: string[]
  proposer: Uint8Array
  time: number
  /** For 'resolve' (`member.resolve`): the height of the equivocation and the hash of the block kept. */
  height?: number
  keep?: Uint8Array
}

/** An enacted resolution: at `height`, the member's chain continues from the block `keep`. */
export interface Resolution { height: number, keep: Uint8Array, proposal: string }

/** One member's standing, keyed by hex public key in the result of `evaluateMembership`. */
export interface MemberState {
  key: Uint8Array
  name: string
  addrs: string[]
  status: 'active' | 'removed'
  admittedBy: string | null
  /** Equivocations the consortium closed, by height (the first enacted per height counts). */
  resolutions: Resolution[]
}

/**
 * Replays proposals in (time, id) order, enacting each one once the proposer plus approvers who
 * are active members at that point reach the genesis quorum. Re-evaluates from the start after
 * each change, because a change alters who may vote. A removal never empties the consortium.
 */
export function evaluateMembership (
  genesis: Genesis,
  proposals: Proposal[],
  approvals: Map<string, Set<string>>
): Map<string, MemberState> {
  const members = new Map<string, MemberState>()
  for (const m of genesis.members) {
    members.set(toHex(m.key), { key: m.key, name: m.name, addrs: m.addrs, status: 'active', admittedBy: null, resolutions: [] })
  }
  const pending = [...proposals].sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const done = new Set<string>()
  let changed = true
  while (changed) {
    changed = false
    const active = new Set([...members.values()].filter(m => m.status === 'active').map(m => toHex(m.key)))
    for (const p of pending) {
      if (done.has(p.id)) continue
      const voters = new Set([toHex(p.proposer), ...(approvals.get(p.id) ?? [])])
      // The member whose equivocation is judged has no vote on it; the others need their quorum.
      const electorate = p.action === 'resolve' ? new Set([...active].filter(k => k !== toHex(p.member))) : active
      const votes = [...voters].filter(v => electorate.has(v)).length
      if (votes < quorumSize(genesis.quorum, electorate.size)) continue
      done.add(p.id)
      enact(members, active, p)
      changed = true
      break
    }
  }
  return members
}

function enact (members: Map<string, MemberState>, active: Set<string>, p: Proposal): void {
  const key = toHex(p.member)
  const existing = members.get(key)
  if (p.action === 'resolve') {
    if (existing === undefined || p.height === undefined || p.keep === undefined) return
    if (existing.resolutions.some(r => r.height === p.height)) return
    members.set(key, { ...existing, resolutions: [...existing.resolutions, { height: p.height, keep: p.keep, proposal: p.id }] })
    return
  }
  if (p.action === 'add') {
    if (existing?.status === 'active') return
    members.set(key, { key: p.member, name: p.name, addrs: p.addrs, status: 'active', admittedBy: p.id, resolutions: existing?.resolutions ?? [] })
    return
  }
  if (existing?.status !== 'active' || active.size <= 1) return
  members.set(key, { ...existing, status: 'removed' })
}
