// A small seeded pseudo-random generator for everything in the model that must be reproducible:
// weight initialisation, shuffling and augmentation. Math.random cannot be seeded, and tfjs's own
// seeded ops differ between backends, so the same seed must give the same numbers everywhere.

/** A seeded source of uniform and normal deviates. */
export interface Prng {
  /** Uniform in [0, 1). */
  next: () => number
  /** Standard normal (mean 0, variance 1). */
  normal: () => number
  /** Uniform integer in [0, n). */
  int: (n: number) => number
}

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, as in PractRand), seeded through
 * splitmix32 so that nearby seeds give unrelated streams. Normals come from Box–Muller.
 */
export function createPrng (seed: number): Prng {
  let s = seed >>> 0
  const splitmix = (): number => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = splitmix()
  let b = splitmix()
  let c = splitmix()
  let d = splitmix()
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t / 4294967296
  }
  for (let i = 0; i < 12; i++) next()
  let spare: number | null = null
  const normal = (): number => {
    if (spare !== null) {
      const v = spare
      spare = null
      return v
    }
    const u = 1 - next()
    const v = next()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
  return { next, normal, int: (n: number) => Math.floor(next() * n) }
}

/** Fisher–Yates shuffle of `0 … n-1` driven by `prng`. */
export function shuffledIndices (n: number, prng: Prng): number[] {
  const out = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = prng.int(i + 1)
    const t = out[i]
    out[i] = out[j]
    out[j] = t
  }
  return out
}
