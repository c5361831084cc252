// The generator's only source of randomness: a seeded PRNG, so a seed always gives the same
// images, byte for byte, under the same Node version (no Math.random anywhere in scripts/synth).
// sfc32 (Doty-Humphrey's Small Fast Chaotic generator, passes PractRand) seeded by splitmix32.
import { InvalidRequestError } from '../../protocol/errors.ts'

/** A deterministic random stream. */
export interface Rng {
  /** Next 32-bit unsigned integer. */
  u32: () => number
  /** Uniform in [0, 1). */
  float: () => number
  /** Uniform in [lo, hi). */
  range: (lo: number, hi: number) => number
  /** Uniform integer in [lo, hi], both inclusive. */
  int: (lo: number, hi: number) => number
  /** Standard normal (Box–Muller). */
  normal: () => number
  /** True with probability p. */
  chance: (p: number) => boolean
}

/** splitmix32 step: a well-mixed 32-bit value from a 32-bit state (Steele, Lea, Flood 2014). */
function mix32 (x: number): number {
  let t = (x + 0x9e3779b9) | 0
  t = Math.imul(t ^ (t >>> 16), 0x21f0aaad)
  t = Math.imul(t ^ (t >>> 15), 0x735a2d97)
  return (t ^ (t >>> 15)) >>> 0
}

/** Throws unless `seed` is a non-negative safe integer (the CLI's --seed). */
export function checkSeed (seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new InvalidRequestError(`seed must be a non-negative integer, got ${seed}`)
}

/**
 * A child seed for (`seed`, ...`labels`): independent streams for the anatomy, the lesions and the
 * noise of image `i`, so changing one part (say the lesion count) leaves the others identical.
 */
export function deriveSeed (seed: number, ...labels: number[]): number {
  checkSeed(seed)
  let h = mix32(mix32(seed >>> 0) ^ mix32(Math.floor(seed / 2 ** 32) + 0x5bd1e995))
  for (const label of labels) h = mix32(h ^ mix32(label >>> 0))
  return h
}

/** A PRNG seeded from any non-negative safe integer. */
export function createRng (seed: number): Rng {
  checkSeed(seed)
  let a = mix32(seed >>> 0)
  let b = mix32(a ^ Math.floor(seed / 2 ** 32))
  let c = mix32(b)
  let d = mix32(c)
  const u32 = (): number => {
    const t = (((a + b) | 0) + d) | 0
    d = (d + 1) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) | 0
    return t >>> 0
  }
  // Discard the first outputs: sfc32 needs a few rounds to decorrelate nearby seeds.
  for (let i = 0; i < 12; i++) u32()
  const float = (): number => u32() / 2 ** 32
  let spare: number | null = null
  return {
    u32,
    float,
    range: (lo, hi) => lo + (hi - lo) * float(),
    int: (lo, hi) => lo + Math.floor(float() * (hi - lo + 1)),
    normal: () => {
      if (spare !== null) { const s = spare; spare = null; return s }
      const u = 1 - float() // (0, 1]: log is finite
      const r = Math.sqrt(-2 * Math.log(u))
      const phi = 2 * Math.PI * float()
      spare = r * Math.sin(phi)
      return r * Math.cos(phi)
    },
    chance: p => float() < p
  }
}
