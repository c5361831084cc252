// Small display formats shared by the pages: shortened keys, sizes, times and waits. Pure, so the
// wording is tested once rather than in every page.

/** First and last few hex digits of a key or hash, for tables (the full value goes in a title). */
export function shortHex (hex: string, keep = 8): string {
  return hex.length <= keep * 2 + 1 ? hex : `${hex.slice(0, keep)}…${hex.slice(-4)}`
}

/** Bytes in B, KB, MB or GB (powers of 1024, one decimal above 1 KB). */
export function formatBytes (n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++ }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`
}

/** A wait in words: "45 seconds", "1 minute", "15 minutes" (rounded up to whole minutes past 90 s). */
export function formatWait (seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds))
  if (s < 90) return s === 1 ? '1 second' : `${s} seconds`
  const m = Math.ceil(s / 60)
  return m === 1 ? '1 minute' : `${m} minutes`
}

/** A time as the reader's locale shows date and time. */
export function formatTime (ms: number): string {
  return new Date(ms).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

/**
 * An image card's date (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`, local time as the source gave it,
 * protocol/image-meta.ts) as the reader's locale shows it; the text itself if it does not parse.
 */
export function formatCardDate (date: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/.exec(date)
  if (m === null) return date
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0))
  return m[4] === undefined ? d.toLocaleDateString(undefined, { dateStyle: 'medium' }) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

/** A date (no time) as YYYY-MM-DD in local time, the value format of <input type=date>. */
export function isoDate (ms: number): string {
  const d = new Date(ms)
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
}

/** A score in [0, 1] as a percentage with one decimal, or "not analysed". */
export function formatScore (score: number | null): string {
  return score === null || !Number.isFinite(score) ? 'not analysed' : `${(score * 100).toFixed(1)} %`
}
