// The coordinator's side of one secure-aggregation round (Bonawitz §4): collect the keys (U1),
// relay them, collect the sealed shares (U2) and relay them, collect masked inputs (U3), announce
// the survivors, collect the revealed shares and reconstruct: the self-mask seeds of the survivors
// and the mask keys of those that shared but sent no input. The sum over U3 is all it learns.
import { toHex } from '../../../protocol/bytes.ts'
import type { Verifier } from '../../../protocol/crypto/ed25519.ts'
import { SecAggError } from './errors.ts'
import { publicKeyOf } from './keys.ts'
import { unmaskSum } from './masking.ts'
import { verifySecAgg } from './messages.ts'
import type { AdvertiseKeys, MaskedInput, SecAggMessage, ShareKeys, Unmask } from './messages.ts'
import { roundContext } from './prg.ts'
import { addInto } from './quantise.ts'
import { checkKeyList, thresholdOf } from './roster.ts'
import type { Roster } from './roster.ts'
import { combine } from './shamir.ts'
import type { Share } from './shamir.ts'

/** The round a server runs and the length of the vectors summed. */
export interface SecAggServerInit {
  ledgerId: Uint8Array
  task: string
  round: number
  /** uint32s per input. */
  length: number
  verify: Verifier
}

/** The outcome: the unmasked sum over the survivors, and who they were. */
export interface SecAggSum {
  sum: Uint32Array
  /** Hex member keys of the hospitals whose inputs are in the sum (U3). */
  survivors: string[]
  /** Σ samples over the survivors (their advertised counts). */
  samples: number
  /** Hospitals that shared but sent no input (their pairwise masks were removed). */
  dropped: string[]
}

/** The coordinator's state machine for one round; each `take` throws a SecAggError with a code on refusal. */
export interface SecAggServer {
  takeKeys(m: AdvertiseKeys): void
  /** Closes round 0: the key list (U1). Throws SECAGG_TOO_FEW. */
  keyList(): AdvertiseKeys[]
  takeShares(m: ShareKeys): void
  /** Closes round 1: the share messages to relay (U2). Throws SECAGG_TOO_FEW. */
  sharesToRelay(): ShareKeys[]
  takeMasked(m: MaskedInput): void
  /** Closes round 2: the survivors (U3). Throws SECAGG_TOO_FEW. */
  survivors(): Uint8Array[]
  takeUnmask(m: Unmask): void
  /** Hospitals whose unmask message arrived. */
  unmaskCount(): number
  /** Closes round 4: reconstructs and unmasks. Throws SECAGG_TOO_FEW, SECAGG_BAD_SHARES. */
  result(): SecAggSum
}

type Phase = 'keys' | 'shares' | 'masked' | 'unmask' | 'done'

/** Creates the coordinator's side of one secure-aggregation round. */
export function createSecAggServer (init: SecAggServerInit): SecAggServer {
  const context = roundContext(init.ledgerId, init.task, init.round)
  let phase: Phase = 'keys'
  const keys = new Map<string, AdvertiseKeys>()
  let roster: Roster | null = null
  const shares = new Map<string, ShareKeys>()
  const masked = new Map<string, Uint32Array>()
  const unmasks = new Map<string, Unmask>()

  const admit = (m: SecAggMessage, expected: Phase, allowed: ReadonlySet<string> | ReadonlyMap<string, unknown> | null, seen: Map<string, unknown>): string => {
    if (m.task !== init.task || m.round !== init.round) throw new SecAggError('SECAGG_WRONG_ROUND', `${m.kind} is for another round`)
    if (phase !== expected) throw new SecAggError('SECAGG_WRONG_PHASE', `${m.kind} arrived while the round is at ${phase}`)
    verifySecAgg(init.ledgerId, m, init.verify)
    const h = toHex(m.hospital)
    if (allowed !== null && !allowed.has(h)) throw new SecAggError('SECAGG_UNKNOWN_PARTY', `${m.kind} from a hospital not admitted to this step`)
    if (seen.has(h)) throw new SecAggError('SECAGG_DUPLICATE', `a second ${m.kind} from one hospital`)
    return h
  }
  const need = (n: number, what: string): void => {
    const t = thresholdOf((roster as Roster).order.length)
    if (n < t) throw new SecAggError('SECAGG_TOO_FEW', `${n} ${what}, fewer than the threshold ${t}`)
  }

  return {
    takeKeys (m) {
      const h = admit(m, 'keys', null, keys)
      keys.set(h, m)
    },
    keyList () {
      if (phase !== 'keys') throw new SecAggError('SECAGG_WRONG_PHASE', 'the key list is already fixed')
      roster = checkKeyList(init.ledgerId, init.task, init.round, [...keys.values()], init.verify)
      phase = 'shares'
      return roster.order.map(h => (roster as Roster).parties.get(h) as AdvertiseKeys)
    },
    takeShares (m) {
      const r = roster as Roster
      const h = admit(m, 'shares', r?.parties ?? null, shares)
      // One sealed box to every other hospital of the list, none to anyone else.
      const to = new Set(m.shares.map(s => toHex(s.to)))
      if (to.size !== m.shares.length || to.size !== r.order.length - 1 || to.has(h) || [...to].some(x => !r.parties.has(x))) {
        throw new SecAggError('SHARE_FORGED', 'a share message must hold one share for every other hospital of the key list')
      }
      shares.set(h, m)
    },
    sharesToRelay () {
      if (phase !== 'shares') throw new SecAggError('SECAGG_WRONG_PHASE', 'shares are already relayed')
      need(shares.size, 'hospitals shared')
      phase = 'masked'
      return [...shares.values()]
    },
    takeMasked (m) {
      const h = admit(m, 'masked', shares, masked)
      if (m.masked.length !== init.length * 4) throw new SecAggError('SECAGG_BAD_INPUT', `a masked input must be ${init.length * 4} bytes, got ${m.masked.length}`)
      const copy = m.masked.slice()
      masked.set(h, new Uint32Array(copy.buffer, 0, init.length))
    },
    survivors () {
      if (phase !== 'masked') throw new SecAggError('SECAGG_WRONG_PHASE', 'survivors are already fixed')
      need(masked.size, 'masked inputs')
      phase = 'unmask'
      return [...masked.keys()].sort().map(h => ((roster as Roster).parties.get(h) as AdvertiseKeys).hospital)
    },
    takeUnmask (m) {
      const h = admit(m, 'unmask', masked, unmasks)
      unmasks.set(h, m)
    },
    unmaskCount: () => unmasks.size,
    result () {
      if (phase !== 'unmask') throw new SecAggError('SECAGG_WRONG_PHASE', 'the round is not at unmasking')
      const r = roster as Roster
      need(unmasks.size, 'unmask messages')
      const survivors = [...masked.keys()].sort()
      const dropped = [...shares.keys()].filter(h => !masked.has(h)).sort()
      const seedShares = new Map<string, Share[]>(survivors.map(h => [h, []]))
      const keyShares = new Map<string, Share[]>(dropped.map(h => [h, []]))
      for (const u of unmasks.values()) {
        for (const s of u.seedShares) seedShares.get(toHex(s.of))?.push({ x: s.x, y: s.y })
        for (const s of u.keyShares) keyShares.get(toHex(s.of))?.push({ x: s.x, y: s.y })
      }
      const t = thresholdOf(r.order.length)
      const seeds = new Map<string, Uint8Array>()
      for (const [h, list] of seedShares) {
        if (list.length < t) throw new SecAggError('SECAGG_TOO_FEW', `only ${list.length} seed shares of a survivor`)
        seeds.set(h, combine(list.slice(0, t)))
      }
      const droppedKeys = new Map<string, Uint8Array>()
      for (const [h, list] of keyShares) {
        if (list.length < t) throw new SecAggError('SECAGG_TOO_FEW', `only ${list.length} key shares of a dropped hospital`)
        const key = combine(list.slice(0, t))
        // The reconstructed key must be the one the hospital advertised: wrong shares are caught here.
        if (toHex(publicKeyOf(key)) !== toHex((r.parties.get(h) as AdvertiseKeys).maskKey)) throw new SecAggError('SECAGG_BAD_SHARES', 'the reconstructed mask key does not match the advertised one')
        droppedKeys.set(h, key)
      }
      const sum = new Uint32Array(init.length)
      for (const h of survivors) addInto(sum, masked.get(h) as Uint32Array)
      const maskPublic = new Map([...r.parties].map(([h, p]) => [h, p.maskKey]))
      unmaskSum(sum, seeds, droppedKeys, maskPublic, context)
      phase = 'done'
      const samples = survivors.reduce((s, h) => s + (r.parties.get(h) as AdvertiseKeys).samples, 0)
      return { sum, survivors, samples, dropped }
    }
  }
}
