// The rule for a member caught equivocating (two signed blocks at one height): once the evidence
// is held, its blocks above that height are refused (FLAGGED_MEMBER) until the consortium closes
// the case, either by removing it or by a quorum-approved `member.resolve` naming the block kept
// at that height. After a resolution the chain continues only from the kept block; a peer that
// holds the other one keeps refusing, since extending it would graft the member's new blocks
// onto a branch the consortium abandoned.
import { equals, toHex } from '../../protocol/bytes.ts'
import type { BlockHeader } from '../../protocol/chain/block.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import type { ChainMeta } from '../state/chains.ts'
import type { Resolution } from '../state/membership.ts'

/** What the rule knows of one member: the heights it equivocated at, the resolutions enacted, its chain here. */
export interface FlagState {
  heights: readonly number[]
  resolutions: readonly Resolution[]
  chain: ChainMeta | undefined
}

/**
 * The height above which the member's blocks are refused, or undefined when none are: the lowest
 * equivocation height without a resolution, or whose kept block is not the one held here.
 */
export function refusedAbove (s: FlagState): number | undefined {
  for (const height of [...s.heights].sort((a, b) => a - b)) {
    const resolution = s.resolutions.find(r => r.height === height)
    if (resolution === undefined) return height
    const held = s.chain?.hashes[height]
    if (held !== undefined && !equals(held, resolution.keep)) return height
  }
  return undefined
}

/** Throws FLAGGED_MEMBER for a block of a flagged member past its open equivocation, or not the block a resolution kept. */
export function checkFlagged (header: BlockHeader, hash: Uint8Array, s: FlagState): void {
  const above = refusedAbove(s)
  if (above !== undefined && header.height > above) {
    throw new LedgerRuleError('FLAGGED_MEMBER', `member ${toHex(header.author).slice(0, 16)} equivocated at height ${above}: its later blocks wait for the consortium's resolution`)
  }
  const resolution = s.resolutions.find(r => r.height === header.height)
  if (resolution !== undefined && s.heights.includes(header.height) && !equals(resolution.keep, hash)) {
    throw new LedgerRuleError('FLAGGED_MEMBER', `the consortium kept another block at height ${header.height}`)
  }
}
