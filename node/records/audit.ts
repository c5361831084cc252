// "Who viewed my images" as the patient reads it (docs/design.md §5 "Access"): each
// `access.log` with what it was (listed, opened, trained on, validated on), the person or
// hospital by name, and the consent it relied on; and the same entries grouped by person, day, use
// and basis, so "Dr Lee opened 3 of your images on 6 Dec, under your treatment consent to South
// Hospital" is one line that expands to its ledger entries. Pure: the caller supplies the names.
import { toHex } from '../../protocol/bytes.ts'
import { InvalidRequestError } from '../../protocol/errors.ts'
import type { AuditEntryJson, AuditGroupJson, DisplayNameJson } from '../../protocol/client/client.ts'
import type { AccessUse, Purpose } from '../../protocol/chain/tx.ts'
import type { AccessRecord } from '../../ledger/queries/queries.ts'

/** A display name from the consortium directory (node/http/routes/routes-directory.ts directoryNames). */
export type DisplayName = DisplayNameJson

/** The consent an entry relied on: its purpose and to whom the patient gave it. */
export interface ConsentFacts { purpose: Purpose, grantee: Uint8Array }

/** One entry as the patient's page reads it (the JSON of `GET /api/me/audit`). */
export type AuditEntryView = AuditEntryJson

/** One group: the entries of one person, day, use, basis and consent. */
export type AuditGroupView = AuditGroupJson

/**
 * The use of an entry. One written before uses existed names none: the hospital naming itself as
 * accessor under a consent was its training use (validation was not told apart then), anything
 * else an opening (listings were then logged image by image).
 */
export function useOf (r: AccessRecord): { use: AccessUse, inferred: boolean } {
  if (r.use !== undefined) return { use: r.use, inferred: false }
  return { use: toHex(r.accessor) === toHex(r.hospital) && r.basis === 'consent' ? 'train' : 'open', inferred: true }
}

/** Most minutes a local offset may be from UTC (UTC−14 … UTC+14). */
const MAX_OFFSET_MINUTES = 14 * 60

/** Reads `tz`, the page's offset from UTC in minutes (east positive), 0 when absent. */
export function parseOffset (v: string | undefined): number {
  if (v === undefined) return 0
  const n = Number(v)
  if (!/^-?\d{1,3}$/.test(v) || Math.abs(n) > MAX_OFFSET_MINUTES) throw new InvalidRequestError(`tz: expected minutes from UTC, −${MAX_OFFSET_MINUTES} to ${MAX_OFFSET_MINUTES}`)
  return n
}

/** The local day of `time` at `offset` minutes from UTC, as YYYY-MM-DD. */
export function dayOf (time: number, offset: number): string {
  return new Date(time + offset * 60_000).toISOString().slice(0, 10)
}

/** Builds the patient's view of one entry from the names and consents looked up for its page. */
export function entryView (r: AccessRecord, names: ReadonlyMap<string, DisplayName>, consents: ReadonlyMap<string, ConsentFacts>): AuditEntryView {
  const accessor = toHex(r.accessor)
  const hospital = toHex(r.hospital)
  const consent = r.consent === null ? null : toHex(r.consent)
  const facts = consent === null ? undefined : consents.get(consent)
  const who = names.get(accessor)
  const to = facts === undefined ? null : toHex(facts.grantee)
  const { use, inferred } = useOf(r)
  return {
    id: toHex(r.tx),
    time: r.time,
    image: r.image === null ? null : r.image.toString(),
    use,
    inferred,
    accessor,
    accessorName: who?.name ?? null,
    department: who === undefined || who.department === '' ? null : who.department,
    hospital,
    hospitalName: names.get(hospital)?.name ?? null,
    basis: r.basis,
    consent,
    purpose: facts?.purpose ?? null,
    consentTo: to,
    consentToName: to === null ? null : names.get(to)?.name ?? null,
    emergency: r.basis === 'emergency'
  }
}

/** The key of an entry's group: day, accessor, hospital, use, basis and consent. */
export function groupKeyOf (e: AuditEntryView, offset: number): string {
  return [dayOf(e.time, offset), e.accessor, e.hospital, e.use, e.basis, e.consent ?? '-'].join('.')
}

const GROUP_KEY = /^\d{4}-\d{2}-\d{2}\.[0-9a-f]{64}\.[0-9a-f]{64}\.(list|open|train|validate)\.(custodian|consent|emergency)\.([0-9a-f]{64}|-)$/

/** Checks a group key from a query (`group`), or INVALID. */
export function parseGroupKey (v: string | undefined): string | undefined {
  if (v === undefined) return undefined
  if (!GROUP_KEY.test(v)) throw new InvalidRequestError('group: not a group key this peer returned')
  return v
}

/** Groups entries (newest first in, newest group first out) by person, local day, use, basis and consent. */
export function groupEntries (entries: readonly AuditEntryView[], offset: number): AuditGroupView[] {
  const groups = new Map<string, { view: AuditGroupView, images: Set<string> }>()
  for (const e of entries) {
    const key = groupKeyOf(e, offset)
    let g = groups.get(key)
    if (g === undefined) {
      const { id: _id, time: _time, image: _image, inferred: _inferred, ...rest } = e
      g = { view: { ...rest, key, day: dayOf(e.time, offset), first: e.time, last: e.time, entries: 0, images: 0 }, images: new Set() }
      groups.set(key, g)
    }
    g.view.entries++
    g.view.first = Math.min(g.view.first, e.time)
    g.view.last = Math.max(g.view.last, e.time)
    if (e.image !== null) g.images.add(e.image)
  }
  return [...groups.values()]
    .map(g => ({ ...g.view, images: g.images.size }))
    .sort((a, b) => b.last - a.last || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0))
}
