// "Who viewed my images" in sentences (issue 12): one group of access entries — one person or
// hospital, one day, one use, one basis — as "Dr Lee (Radiology, South Hospital) opened 3 of your
// images on 6 Dec, under your treatment consent to South Hospital". Listing, opening, training,
// validation and emergency each read differently. Pure, so the wording is tested once.
import type { AuditGroupJson } from '../../../../protocol/client/client.ts'
import { shortHex } from './format.ts'

/** A group as `GET /api/me/audit/groups` answers it. */
export type AuditGroup = AuditGroupJson

const USES = ['list', 'open', 'train', 'validate'] as const
const BASES = ['custodian', 'consent', 'emergency'] as const
const PURPOSES = ['treatment', 'research', 'training'] as const

/** Checks one group from the peer's answer; null for a shape this page does not know. */
export function asAuditGroup (v: Record<string, unknown>): AuditGroup | null {
  const s = (k: string): string | null => typeof v[k] === 'string' ? v[k] as string : null
  const n = (k: string): number | null => typeof v[k] === 'number' ? v[k] as number : null
  const [key, day, accessor, hospital, use, basis] = ['key', 'day', 'accessor', 'hospital', 'use', 'basis'].map(s)
  const [first, last, entries, images] = ['first', 'last', 'entries', 'images'].map(n)
  if (key === null || day === null || accessor === null || hospital === null || first === null || last === null || entries === null || images === null) return null
  if (!(USES as readonly unknown[]).includes(use) || !(BASES as readonly unknown[]).includes(basis)) return null
  const purpose = s('purpose')
  if (purpose !== null && !(PURPOSES as readonly string[]).includes(purpose)) return null
  return {
    key, day, first, last, entries, images, use: use as AuditGroup['use'], accessor, accessorName: s('accessorName'), department: s('department'),
    hospital, hospitalName: s('hospitalName'), basis: basis as AuditGroup['basis'], consent: s('consent'), purpose: purpose as AuditGroup['purpose'],
    consentTo: s('consentTo'), consentToName: s('consentToName'), emergency: basis === 'emergency'
  }
}

/** The hospital's name, or a short key when the directory has none. */
function hospitalOf (g: AuditGroup): string {
  return g.hospitalName ?? `the hospital ${shortHex(g.hospital)}`
}

/** Who read: "Dr Lee (Radiology, South Hospital)", or the hospital itself for its training and validation. */
export function whoOf (g: AuditGroup): string {
  if (g.use === 'train' || g.use === 'validate') return hospitalOf(g)
  // A hospital opens an image itself when its DICOM network (a PACS, a workstation) retrieves it.
  if (g.accessor === g.hospital) return `${hospitalOf(g)}'s imaging network (DICOM)`
  if (g.accessorName === null) return `someone at ${hospitalOf(g)} (key ${shortHex(g.accessor)})`
  const about = [g.department, g.hospitalName].filter((x): x is string => x !== null && x !== '')
  return about.length === 0 ? g.accessorName : `${g.accessorName} (${about.join(', ')})`
}

/** "6 Dec", with the year when it is not `thisYear`. */
export function dayWords (day: string, thisYear: number): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  if (m === null) return day
  const date = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  return date.toLocaleDateString('en-GB', Number(m[1]) === thisYear ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' })
}

function count (n: number, one: string, many: string): string {
  return n === 1 ? one : many.replace('#', String(n))
}

/** What was done: "opened 3 of your images", "saw the list of your images twice". */
export function actWords (g: AuditGroup): string {
  switch (g.use) {
    case 'list': return `saw the list of your images${g.entries === 1 ? '' : g.entries === 2 ? ' twice' : ` ${g.entries} times`}`
    case 'open': return `opened ${count(g.images, 'one of your images', '# of your images')}`
    case 'train': return `used ${count(g.images, 'one of your images', '# of your images')} to train the detect-strange model`
    case 'validate': return `used ${count(g.images, 'one of your images', '# of your images')}, held out of training, to check (validate) the detect-strange model`
  }
}

const PURPOSE: Record<string, string> = { treatment: 'treatment', research: 'research', training: 'training' }

/** What allowed it: "under your treatment consent to South Hospital", custody, or an emergency. */
export function basisWords (g: AuditGroup): string {
  if (g.basis === 'emergency') return 'in an EMERGENCY the clinician declared, without your consent'
  if (g.basis === 'custodian') return g.accessor === g.hospital ? 'as the hospital that holds your images' : `as a clinician of ${hospitalOf(g)}, the hospital that holds your images`
  const to = g.consentToName ?? (g.consentTo === null ? 'someone' : shortHex(g.consentTo))
  const purpose = g.purpose === null ? '' : `${PURPOSE[g.purpose] ?? g.purpose} `
  return `under your ${purpose}consent to ${to}`
}

/** The whole sentence of one group. */
export function groupSentence (g: AuditGroup, thisYear: number): string {
  const text = `${whoOf(g)} ${actWords(g)} on ${dayWords(g.day, thisYear)}, ${basisWords(g)}.`
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** The entry's use in a word, for the expanded ledger entries. */
export const USE_WORDS: Record<string, string> = { list: 'listed your images', open: 'opened', train: 'trained on', validate: 'validated on' }
