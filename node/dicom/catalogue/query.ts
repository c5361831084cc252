// Query matching of the Query/Retrieve service class (PS3.4 §C.2.2.2, §C.6): which catalogued
// instances an identifier selects at a level (PATIENT, STUDY, SERIES, IMAGE) of the patient-root
// or study-root model, and the response identifiers for C-FIND. Pure: entries in, data sets out
// (dcmjs "naturalized" keyword objects, as dcmjs-dimse carries them).
import type { CatalogueEntry } from './catalogue.ts'

/** Query/Retrieve levels (0008,0052), top down. */
export const QUERY_LEVELS = ['PATIENT', 'STUDY', 'SERIES', 'IMAGE'] as const
export type QueryLevel = typeof QUERY_LEVELS[number]

/** The information models a Q/R SOP class names (PS3.4 §C.6.1, §C.6.2). */
export type InformationModel = 'patient' | 'study'

/** How a key matches (PS3.4 §C.2.2.2): UID list, wildcard text, person name, date/time range, number. */
type MatchKind = 'uid' | 'text' | 'pn' | 'date' | 'time' | 'number'

interface KeyDef { level: QueryLevel, kind: MatchKind, read: (e: CatalogueEntry) => string | number }

/** The matching and return keys supported, by keyword (PS3.4 tables C.6-1 to C.6-4). */
const KEYS: Record<string, KeyDef> = {
  PatientID: { level: 'PATIENT', kind: 'text', read: e => e.header.patient.mrn },
  PatientName: { level: 'PATIENT', kind: 'pn', read: e => e.header.patient.name },
  PatientBirthDate: { level: 'PATIENT', kind: 'date', read: e => e.header.patient.birthDate },
  PatientSex: { level: 'PATIENT', kind: 'text', read: e => e.header.patient.sex },
  StudyInstanceUID: { level: 'STUDY', kind: 'uid', read: e => e.header.study.uid },
  StudyDate: { level: 'STUDY', kind: 'date', read: e => e.header.study.date },
  StudyTime: { level: 'STUDY', kind: 'time', read: e => e.header.study.time },
  AccessionNumber: { level: 'STUDY', kind: 'text', read: e => e.header.study.accession },
  StudyID: { level: 'STUDY', kind: 'text', read: e => e.header.study.id },
  StudyDescription: { level: 'STUDY', kind: 'text', read: e => e.header.study.description },
  ReferringPhysicianName: { level: 'STUDY', kind: 'pn', read: e => e.header.study.referring },
  SeriesInstanceUID: { level: 'SERIES', kind: 'uid', read: e => e.header.series.uid },
  Modality: { level: 'SERIES', kind: 'text', read: e => e.header.series.modality },
  SeriesNumber: { level: 'SERIES', kind: 'number', read: e => e.header.series.number },
  SeriesDescription: { level: 'SERIES', kind: 'text', read: e => e.header.series.description },
  SOPInstanceUID: { level: 'IMAGE', kind: 'uid', read: e => e.header.instance.uid },
  SOPClassUID: { level: 'IMAGE', kind: 'uid', read: e => e.header.instance.sopClassUid },
  InstanceNumber: { level: 'IMAGE', kind: 'number', read: e => e.header.instance.number },
  Rows: { level: 'IMAGE', kind: 'number', read: e => e.header.instance.rows },
  Columns: { level: 'IMAGE', kind: 'number', read: e => e.header.instance.columns },
  NumberOfFrames: { level: 'IMAGE', kind: 'number', read: e => e.header.instance.frames }
}

/** Return keys computed over a group of instances (PS3.4 §C.6.1.1.3, §C.6.2.1.2). */
const COUNTS: Record<string, { level: QueryLevel, count: (group: CatalogueEntry[]) => string | number }> = {
  NumberOfPatientRelatedStudies: { level: 'PATIENT', count: g => new Set(g.map(e => e.header.study.uid)).size },
  NumberOfPatientRelatedSeries: { level: 'PATIENT', count: g => new Set(g.map(e => e.header.series.uid)).size },
  NumberOfPatientRelatedInstances: { level: 'PATIENT', count: g => g.length },
  ModalitiesInStudy: { level: 'STUDY', count: g => [...new Set(g.map(e => e.header.series.modality).filter(m => m !== ''))].sort().join('\\') },
  NumberOfStudyRelatedSeries: { level: 'STUDY', count: g => new Set(g.map(e => e.header.series.uid)).size },
  NumberOfStudyRelatedInstances: { level: 'STUDY', count: g => g.length },
  NumberOfSeriesRelatedInstances: { level: 'SERIES', count: g => g.length }
}

/** The grouping key of an entry at a level: the unique key of that level (PS3.4 §C.6.1.1). */
function groupKey (e: CatalogueEntry, level: QueryLevel): string {
  if (level === 'PATIENT') return `p:${e.header.patient.mrn}`
  if (level === 'STUDY') return e.header.study.uid
  if (level === 'SERIES') return e.header.series.uid
  return e.header.instance.uid
}

const depth = (level: QueryLevel): number => QUERY_LEVELS.indexOf(level)

/** The levels a model allows: the study-root model has no PATIENT level (PS3.4 §C.6.2). */
export function levelAllowed (model: InformationModel, level: string): level is QueryLevel {
  return (QUERY_LEVELS as readonly string[]).includes(level) && !(model === 'study' && level === 'PATIENT')
}

/** A key's value as text: dcmjs gives strings, numbers, arrays (multi-valued) or PN objects. */
function asText (v: unknown): string {
  if (v === undefined || v === null) return ''
  if (Array.isArray(v)) return v.map(asText).join('\\')
  if (typeof v === 'object') {
    const pn = v as { Alphabetic?: unknown }
    return typeof pn.Alphabetic === 'string' ? pn.Alphabetic : ''
  }
  return String(v).replace(/[\0 ]+$/, '')
}

/** Wildcard matching of PS3.4 §C.2.2.2.4: `*` any run, `?` one character. */
function wildcard (pattern: string, value: string, fold: boolean): boolean {
  const p = fold ? pattern.toLowerCase() : pattern
  const v = fold ? value.toLowerCase() : value
  const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's')
  return re.test(v)
}

/** Range matching of PS3.4 §C.2.2.2.5 on DA/TM values (lexical order of fixed-width digits). */
function inRange (pattern: string, value: string): boolean {
  const dash = pattern.indexOf('-')
  if (dash === -1) return value === pattern
  const from = pattern.slice(0, dash)
  const to = pattern.slice(dash + 1)
  if (value === '') return false
  return (from === '' || value >= from) && (to === '' || value.slice(0, to.length) <= to)
}

/** Whether one key's query value matches an entry (an empty value matches everything: universal matching). */
function keyMatches (def: KeyDef, query: unknown, entry: CatalogueEntry): boolean {
  const q = asText(query)
  if (q === '' || q === '*') return true
  const value = String(def.read(entry))
  switch (def.kind) {
    case 'uid': return q.split('\\').includes(value)
    case 'pn': return wildcard(q, value, true) || wildcard(q.replace(/\^+$/, ''), value.replace(/\^+$/, ''), true)
    case 'date':
    case 'time': return inRange(q, value)
    case 'number': return q === value
    case 'text': return q.split('\\').some(alt => wildcard(alt, value, false))
  }
}

/** The keys of `identifier` that take part at `level`: those of that level and the levels above it. */
function activeKeys (identifier: Record<string, unknown>, level: QueryLevel): Array<[string, KeyDef]> {
  return Object.keys(identifier).flatMap(k => {
    const def = KEYS[k]
    return def !== undefined && depth(def.level) <= depth(level) ? [[k, def] as [string, KeyDef]] : []
  })
}

/** The instances an identifier selects at a level (every key of that level or above must match). */
export function selectInstances (entries: Iterable<CatalogueEntry>, level: QueryLevel, identifier: Record<string, unknown>): CatalogueEntry[] {
  const keys = activeKeys(identifier, level)
  const out: CatalogueEntry[] = []
  for (const e of entries) if (keys.every(([k, def]) => keyMatches(def, identifier[k], e))) out.push(e)
  return out
}

/**
 * The C-FIND response identifiers: one per distinct entity at `level` among the matches, with
 * every requested key of that level or above filled in, and QueryRetrieveLevel, each with the
 * entries it stands for (what the answer lists, for its access log). A study-level
 * ModalitiesInStudy matches when any series of the study has one of the listed modalities.
 */
export function findMatches (entries: CatalogueEntry[], level: QueryLevel, identifier: Record<string, unknown>): Array<{ response: Record<string, unknown>, group: CatalogueEntry[] }> {
  const groups = new Map<string, CatalogueEntry[]>()
  for (const e of entries) {
    const key = groupKey(e, level)
    const g = groups.get(key)
    if (g === undefined) groups.set(key, [e])
    else g.push(e)
  }
  const wanted = Object.keys(identifier)
  const modalities = asText(identifier.ModalitiesInStudy)
  const out: Array<{ response: Record<string, unknown>, group: CatalogueEntry[] }> = []
  for (const group of groups.values()) {
    if (modalities !== '' && level === 'STUDY') {
      const present = new Set(group.map(e => e.header.series.modality))
      if (!modalities.split('\\').some(m => present.has(m))) continue
    }
    const first = group[0]
    const response: Record<string, unknown> = { QueryRetrieveLevel: level }
    for (const k of wanted) {
      const def = KEYS[k]
      if (def !== undefined && depth(def.level) <= depth(level)) {
        const v = def.read(first)
        response[k] = def.kind === 'pn' ? [{ Alphabetic: String(v) }] : typeof v === 'number' ? String(v) : v
        continue
      }
      const count = COUNTS[k]
      if (count !== undefined && depth(count.level) <= depth(level)) response[k] = String(count.count(group))
    }
    out.push({ response, group })
  }
  return out
}
