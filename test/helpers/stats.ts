// Two-sample statistics for timing tests: Welch's t on trimmed samples. Timing tests compare
// interleaved samples, so load on a shared machine falls on both groups alike.

/** Mean and unbiased variance of a sample. */
function moments (xs: readonly number[]): { mean: number, variance: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)
  return { mean, variance }
}

/** The sample without its slowest `fraction` (GC pauses and scheduler stalls are one-sided). */
export function trimSlowest (xs: readonly number[], fraction: number): number[] {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted.slice(0, Math.max(2, Math.ceil(sorted.length * (1 - fraction))))
}

/** Welch's t statistic of two samples (B. L. Welch, Biometrika 34, 1947): (mean a − mean b) / SE. */
export function welchT (a: readonly number[], b: readonly number[]): number {
  const x = moments(a)
  const y = moments(b)
  const se = Math.sqrt(x.variance / a.length + y.variance / b.length)
  return se === 0 ? 0 : (x.mean - y.mean) / se
}

/** The median of a sample. */
export function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** The sample without its `fraction` most extreme values, half from each end. */
export function trimTails (xs: readonly number[], fraction: number): number[] {
  const sorted = [...xs].sort((a, b) => a - b)
  const cut = Math.floor(sorted.length * fraction / 2)
  return sorted.slice(cut, sorted.length - cut)
}

/** Student's one-sample t of paired differences against a mean of 0: mean / (sd / √n). */
export function pairedT (diffs: readonly number[]): number {
  const { mean, variance } = moments(diffs)
  const se = Math.sqrt(variance / diffs.length)
  return se === 0 ? 0 : mean / se
}
