// The double masking of Bonawitz et al. 2017 §4: a hospital u sends y_u = x_u + PRG(b_u)
// + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv) (mod 2^32), where s_uv is the X25519 agreement of u's and
// v's mask keys and "<" orders hospitals by member key. The pairwise masks cancel in the sum over
// everyone who sent; the self mask b_u hides y_u even when u's pairwise masks are later removed
// because u was (wrongly) thought to have dropped. Unmasking removes each survivor's PRG(b_u) and
// each dropped hospital's uncancelled pairwise masks, rebuilt from its reconstructed mask key.
import { HKDF_INFO } from './constants.ts'
import { agree } from './keys.ts'
import { expand } from './prg.ts'
import { addInto, subtractInto } from './quantise.ts'

/** u's pairwise mask with v: +PRG(s_uv) when u sorts before v, −PRG(s_uv) after (so the two cancel). */
export function pairMask (self: string, other: string, privateKey: Uint8Array, otherPublic: Uint8Array, context: Uint8Array, length: number): { mask: Uint32Array, sign: 1 | -1 } {
  const mask = expand(agree(privateKey, otherPublic), context, HKDF_INFO.pairMask, length)
  return { mask, sign: self < other ? 1 : -1 }
}

/** The self mask PRG(b_u). */
export function selfMask (seed: Uint8Array, context: Uint8Array, length: number): Uint32Array {
  return expand(seed, context, HKDF_INFO.selfMask, length)
}

/** What masking one input needs: who u is, its keys and seed, and the other hospitals' mask public keys. */
export interface MaskInput {
  self: string
  maskPrivateKey: Uint8Array
  seed: Uint8Array
  /** Mask public keys of the other hospitals of the round (hex member key → key), u excluded. */
  peers: ReadonlyMap<string, Uint8Array>
  context: Uint8Array
}

/** y_u from the quantised input x_u (not modified). */
export function maskInput (x: Uint32Array, m: MaskInput): Uint32Array {
  const y = addInto(x.slice(), selfMask(m.seed, m.context, x.length))
  for (const [other, pub] of m.peers) {
    if (other === m.self) continue
    const { mask, sign } = pairMask(m.self, other, m.maskPrivateKey, pub, m.context, x.length)
    if (sign === 1) addInto(y, mask)
    else subtractInto(y, mask)
  }
  return y
}

/**
 * Removes from a sum of masked inputs the masks that do not cancel: every survivor's self mask
 * (from its reconstructed seed) and, for every dropped hospital d, its pairwise masks with each
 * survivor (from d's reconstructed mask private key), in place on `sum`.
 */
export function unmaskSum (sum: Uint32Array, survivorSeeds: ReadonlyMap<string, Uint8Array>, dropped: ReadonlyMap<string, Uint8Array>, maskPublic: ReadonlyMap<string, Uint8Array>, context: Uint8Array): Uint32Array {
  for (const seed of survivorSeeds.values()) subtractInto(sum, selfMask(seed, context, sum.length))
  for (const [d, privateKey] of dropped) {
    for (const u of survivorSeeds.keys()) {
      const pub = maskPublic.get(u)
      if (pub === undefined) continue
      // Survivor u added sign(u, d)·PRG(s_ud); take it back out.
      const { mask, sign } = pairMask(u, d, privateKey, pub, context, sum.length)
      if (sign === 1) subtractInto(sum, mask)
      else addInto(sum, mask)
    }
  }
  return sum
}
