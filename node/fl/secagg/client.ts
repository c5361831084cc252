// A hospital's side of one secure-aggregation round (Bonawitz §4, Fig. 4, semi-honest server with
// signed messages): advertise two ephemeral X25519 keys, Shamir-share the self-mask seed and the
// mask private key to every other hospital (sealed per recipient), send the masked quantised input,
// then reveal, per hospital, the seed share of a survivor or the mask-key share of a dropout —
// never both for one hospital, so the coordinator can never strip a live hospital's masks.
import { randomBytes } from 'node:crypto'
import { toHex } from '../../../protocol/bytes.ts'
import { decode, encode } from '../../../protocol/codec.ts'
import type { Identity, Verifier } from '../../../protocol/crypto/ed25519.ts'
import { expectBytes, expectFields, expectUint } from '../../../protocol/schema.ts'
import { SEED_BYTES } from './constants.ts'
import { SecAggError } from './errors.ts'
import { generateKeyPair } from './keys.ts'
import type { KeyPair } from './keys.ts'
import { maskInput } from './masking.ts'
import { signSecAgg, verifySecAgg } from './messages.ts'
import type { AdvertiseKeys, MaskedInput, ShareKeys, Unmask } from './messages.ts'
import { roundContext } from './prg.ts'
import { split } from './shamir.ts'
import { openShare, sealShare } from './share-cipher.ts'
import { checkKeyList, thresholdOf } from './roster.ts'
import type { Roster } from './roster.ts'

/** What a client is: which round, who it is, and how it checks others' signatures. */
export interface SecAggClientInit {
  ledgerId: Uint8Array
  task: string
  round: number
  identity: Identity
  /** This hospital's member key. */
  hospital: Uint8Array
  verify: Verifier
}

/** A hospital's state machine for one round; call its steps in order. */
export interface SecAggClient {
  /** Round 0. */
  advertise(samples: number): AdvertiseKeys
  /** Round 1, on the coordinator's key list (every entry's signature is checked). Throws SECAGG_TOO_FEW, BAD_SIGNATURE. */
  shareKeys(list: readonly AdvertiseKeys[]): ShareKeys
  /**
   * Round 2: opens the shares addressed to this hospital from the hospitals that shared (U2),
   * and masks `input` against U2's mask keys. Throws BAD_SIGNATURE or SHARE_FORGED on a forged share.
   */
  maskedInput(shared: readonly ShareKeys[], input: Uint32Array): MaskedInput
  /** Round 4: the shares the coordinator needs, given who sent a masked input (U3). */
  unmask(survivors: readonly Uint8Array[]): Unmask
  /** The roster fixed by the key list (after shareKeys). */
  roster(): Roster | null
}

interface Held { seed: { x: number, y: Uint8Array }, key: { x: number, y: Uint8Array } }

/** Creates a hospital's side of one secure-aggregation round. */
export function createSecAggClient (init: SecAggClientInit): SecAggClient {
  const self = toHex(init.hospital)
  const context = roundContext(init.ledgerId, init.task, init.round)
  const mask: KeyPair = generateKeyPair()
  const share: KeyPair = generateKeyPair()
  const seed = new Uint8Array(randomBytes(SEED_BYTES))
  let roster: Roster | null = null
  let shared: Set<string> | null = null
  const held = new Map<string, Held>()
  const base = { task: init.task, round: init.round, hospital: init.hospital }

  const phase = (ok: boolean, step: string): void => {
    if (!ok) throw new SecAggError('SECAGG_WRONG_PHASE', `${step} called out of order`)
  }

  return {
    advertise (samples) {
      return signSecAgg<AdvertiseKeys>(init.ledgerId, { kind: 'secagg-keys', ...base, maskKey: mask.publicKey, shareKey: share.publicKey, samples }, init.identity)
    },
    shareKeys (list) {
      phase(roster === null, 'shareKeys')
      const r = checkKeyList(init.ledgerId, init.task, init.round, list, init.verify)
      const me = r.parties.get(self)
      if (me === undefined || toHex(me.maskKey) !== toHex(mask.publicKey) || toHex(me.shareKey) !== toHex(share.publicKey)) {
        throw new SecAggError('SECAGG_UNKNOWN_PARTY', 'the key list does not hold this hospital with its own keys')
      }
      roster = r
      const n = r.order.length
      const t = thresholdOf(n)
      const seedShares = split(seed, n, t)
      const keyShares = split(mask.privateKey, n, t)
      const shares = r.order.flatMap((h, i) => {
        if (h === self) {
          held.set(self, { seed: seedShares[i], key: keyShares[i] })
          return []
        }
        const party = r.parties.get(h)
        if (party === undefined) return []
        const plaintext = encode({ x: i + 1, seed: seedShares[i].y, key: keyShares[i].y })
        return [{ to: party.hospital, sealed: sealShare(plaintext, share.privateKey, party.shareKey, context, init.hospital, party.hospital) }]
      })
      return signSecAgg<ShareKeys>(init.ledgerId, { kind: 'secagg-shares', ...base, shares }, init.identity)
    },
    maskedInput (sharedMessages, input) {
      phase(roster !== null && shared === null, 'maskedInput')
      const r = roster as Roster
      const from = new Set<string>()
      for (const m of sharedMessages) {
        verifySecAgg(init.ledgerId, m, init.verify)
        const sender = toHex(m.hospital)
        const party = r.parties.get(sender)
        if (party === undefined || m.task !== init.task || m.round !== init.round) throw new SecAggError('SECAGG_UNKNOWN_PARTY', 'shares from a hospital outside the key list')
        if (from.has(sender)) throw new SecAggError('SECAGG_DUPLICATE', 'two share messages from one hospital')
        from.add(sender)
        if (sender === self) continue
        const mine = m.shares.find(s => toHex(s.to) === self)
        if (mine === undefined) throw new SecAggError('SHARE_FORGED', `hospital ${sender.slice(0, 12)} sent no share to this hospital`)
        const plain = openShare(mine.sealed, share.privateKey, party.shareKey, context, party.hospital, init.hospital)
        let f
        try {
          f = expectFields(decode(plain), 'share', ['x', 'seed', 'key'])
        } catch {
          throw new SecAggError('SHARE_FORGED', 'a sealed share does not decode')
        }
        const x = expectUint(f.x, 'share.x', 255)
        if (x !== r.order.indexOf(self) + 1) throw new SecAggError('SHARE_FORGED', 'a share is for another x-coordinate')
        held.set(sender, { seed: { x, y: expectBytes(f.seed, 'share.seed') }, key: { x, y: expectBytes(f.key, 'share.key') } })
      }
      if (!from.has(self)) throw new SecAggError('SECAGG_UNKNOWN_PARTY', 'this hospital is not among those that shared')
      if (from.size < thresholdOf(r.order.length)) throw new SecAggError('SECAGG_TOO_FEW', `${from.size} hospitals shared, fewer than the threshold`)
      shared = from
      const peers = new Map<string, Uint8Array>()
      for (const h of from) if (h !== self) peers.set(h, (r.parties.get(h) as AdvertiseKeys).maskKey)
      const masked = maskInput(input, { self, maskPrivateKey: mask.privateKey, seed, peers, context })
      return signSecAgg<MaskedInput>(init.ledgerId, { kind: 'secagg-masked', ...base, masked: new Uint8Array(masked.buffer, masked.byteOffset, masked.byteLength) }, init.identity)
    },
    unmask (survivors) {
      phase(shared !== null, 'unmask')
      const alive = new Set(survivors.map(toHex))
      const sharedSet = shared as Set<string>
      if (!alive.has(self)) throw new SecAggError('SECAGG_UNKNOWN_PARTY', 'this hospital is not among the survivors')
      for (const h of alive) if (!sharedSet.has(h)) throw new SecAggError('SECAGG_UNKNOWN_PARTY', 'a survivor that never shared')
      if (alive.size < thresholdOf((roster as Roster).order.length)) throw new SecAggError('SECAGG_TOO_FEW', 'fewer survivors than the threshold')
      const seedShares: Unmask['seedShares'] = []
      const keyShares: Unmask['keyShares'] = []
      for (const h of sharedSet) {
        const s = held.get(h)
        const party = (roster as Roster).parties.get(h)
        if (s === undefined || party === undefined) continue
        // One kind of share per hospital, never both (Bonawitz §4 round 4).
        if (alive.has(h)) seedShares.push({ of: party.hospital, ...s.seed })
        else keyShares.push({ of: party.hospital, ...s.key })
      }
      return signSecAgg<Unmask>(init.ledgerId, { kind: 'secagg-unmask', ...base, seedShares, keyShares }, init.identity)
    },
    roster: () => roster
  }
}
