// QIDO-RS (PS3.18 §10.6): search for studies, series and instances among those the caller may see
// (instances.ts), with the matching of the DIMSE C-FIND service (node/dicom/catalogue/query.ts): UID lists,
// wildcards, date ranges. Attributes go by keyword or by tag; `limit` and `offset` page the answer.
import type { Context } from 'koa'
import { MedichainError } from '../../protocol/errors.ts'
import { selectInstances } from '../dicom/catalogue/query.ts'
import type { QueryLevel } from '../dicom/catalogue/query.ts'
import type { CatalogueEntry } from '../dicom/catalogue/catalogue.ts'
import { DICOM_JSON, DICOMWEB_BASE, QIDO_DEFAULT_LIMIT } from './constants.ts'
import { attr, personName, uidAttr } from './json.ts'
import type { DicomJson } from './json.ts'
import type { VisibleInstance } from './instances.ts'

/** Tags a QIDO-RS query may name instead of keywords (PS3.18 §8.3.4.1). */
const KEYWORD_OF_TAG: Record<string, string> = {
  '00100020': 'PatientID',
  '00100010': 'PatientName',
  '00100030': 'PatientBirthDate',
  '0020000D': 'StudyInstanceUID',
  '00080020': 'StudyDate',
  '00080030': 'StudyTime',
  '00080050': 'AccessionNumber',
  '00200010': 'StudyID',
  '00080061': 'ModalitiesInStudy',
  '00081030': 'StudyDescription',
  '0020000E': 'SeriesInstanceUID',
  '00080060': 'Modality',
  '00200011': 'SeriesNumber',
  '00080018': 'SOPInstanceUID',
  '00080016': 'SOPClassUID',
  '00200013': 'InstanceNumber'
}

/** Query parameters that are not matching keys (PS3.18 §8.3.4). */
const CONTROL = new Set(['limit', 'offset', 'includefield', 'fuzzymatching'])

/** The matching identifier of a QIDO-RS query: keyword → value, UID lists joined by backslash. */
export function identifierOf (query: Record<string, string | string[] | undefined>): { identifier: Record<string, string>, limit: number, offset: number } {
  const identifier: Record<string, string> = {}
  for (const [name, raw] of Object.entries(query)) {
    if (raw === undefined || CONTROL.has(name)) continue
    const keyword = KEYWORD_OF_TAG[name.toUpperCase()] ?? name
    identifier[keyword] = (Array.isArray(raw) ? raw : [raw]).flatMap(v => v.split(',')).join('\\')
  }
  const number = (name: string, fallback: number): number => {
    const v = query[name]
    if (v === undefined) return fallback
    const n = Number(Array.isArray(v) ? v[0] : v)
    if (!Number.isSafeInteger(n) || n < 0) throw new MedichainError('INVALID', `${name}: a non-negative integer`)
    return n
  }
  return { identifier, limit: Math.min(number('limit', QIDO_DEFAULT_LIMIT), QIDO_DEFAULT_LIMIT), offset: number('offset', 0) }
}

/** Groups instances by their entity at a level, in a stable order. */
function groupBy (entries: CatalogueEntry[], key: (e: CatalogueEntry) => string): CatalogueEntry[][] {
  const groups = new Map<string, CatalogueEntry[]>()
  for (const e of entries) {
    const k = key(e)
    const g = groups.get(k)
    if (g === undefined) groups.set(k, [e])
    else g.push(e)
  }
  return [...groups.values()]
}

function studyJson (group: CatalogueEntry[], base: string): DicomJson {
  const h = group[0].header
  return {
    '00080020': attr('DA', [h.study.date]),
    '00080030': attr('TM', [h.study.time]),
    '00080050': attr('SH', [h.study.accession]),
    '00080061': attr('CS', [...new Set(group.map(e => e.header.series.modality))].sort()),
    '00080090': personName(h.study.referring),
    '00081030': attr('LO', [h.study.description]),
    '00081190': attr('UR', [`${base}/studies/${h.study.uid}`]),
    '00100010': personName(h.patient.name),
    '00100020': attr('LO', [h.patient.mrn]),
    '00100030': attr('DA', [h.patient.birthDate]),
    '00100040': attr('CS', [h.patient.sex]),
    '0020000D': uidAttr(h.study.uid),
    '00200010': attr('SH', [h.study.id]),
    '00201206': attr('IS', [new Set(group.map(e => e.header.series.uid)).size]),
    '00201208': attr('IS', [group.length])
  }
}

function seriesJson (group: CatalogueEntry[], base: string): DicomJson {
  const h = group[0].header
  return {
    '00080060': attr('CS', [h.series.modality]),
    '0008103E': attr('LO', [h.series.description]),
    '00081190': attr('UR', [`${base}/studies/${h.study.uid}/series/${h.series.uid}`]),
    '0020000D': uidAttr(h.study.uid),
    '0020000E': uidAttr(h.series.uid),
    '00200011': attr('IS', [h.series.number]),
    '00201209': attr('IS', [group.length])
  }
}

function instanceJson (e: CatalogueEntry, base: string): DicomJson {
  const h = e.header
  return {
    '00080016': uidAttr(h.instance.sopClassUid),
    '00080018': uidAttr(h.instance.uid),
    '00080060': attr('CS', [h.series.modality]),
    '00081190': attr('UR', [`${base}/studies/${h.study.uid}/series/${h.series.uid}/instances/${h.instance.uid}`]),
    '0020000D': uidAttr(h.study.uid),
    '0020000E': uidAttr(h.series.uid),
    '00200013': attr('IS', [h.instance.number]),
    '00280008': attr('IS', [h.instance.frames]),
    '00280010': attr('US', [h.instance.rows]),
    '00280011': attr('US', [h.instance.columns])
  }
}

/**
 * Answers one QIDO-RS search at `level` over `visible`, narrowed by the path's study and series;
 * RetrieveURLs start at `base` (this peer's /dicomweb unless given, as for a research export).
 * Returns the instances the answer's page stands for (none when nothing matched), for its access log.
 */
export function answerSearch<T extends Pick<VisibleInstance, 'entry'>> (ctx: Context, visible: T[], level: Exclude<QueryLevel, 'PATIENT'>, base = `${ctx.origin}${DICOMWEB_BASE}`): T[] {
  const { identifier, limit, offset } = identifierOf(ctx.query)
  if (typeof ctx.params.study === 'string') identifier.StudyInstanceUID = ctx.params.study
  if (typeof ctx.params.series === 'string') identifier.SeriesInstanceUID = ctx.params.series
  const modalities = identifier.ModalitiesInStudy
  delete identifier.ModalitiesInStudy
  let entries = selectInstances(visible.map(v => v.entry), level, identifier)
  if (modalities !== undefined && modalities !== '' && level === 'STUDY') {
    const wanted = new Set(modalities.split('\\'))
    const studies = new Set(entries.filter(e => wanted.has(e.header.series.modality)).map(e => e.header.study.uid))
    entries = entries.filter(e => studies.has(e.header.study.uid))
  }
  const groups = level === 'STUDY'
    ? groupBy(entries, e => e.header.study.uid)
    : level === 'SERIES'
      ? groupBy(entries, e => `${e.header.study.uid}/${e.header.series.uid}`)
      : [...entries].sort((a, b) => a.header.instance.number - b.header.instance.number).map(e => [e])
  const json = level === 'STUDY' ? studyJson : level === 'SERIES' ? seriesJson : (g: CatalogueEntry[], b: string) => instanceJson(g[0], b)
  const page = groups.slice(offset, offset + limit)
  // PS3.18 §8.3.4.4: no match is 204 No Content; a cut list warns with 299.
  if (page.length === 0) {
    ctx.status = 204
    return []
  }
  if (offset + limit < groups.length) ctx.set('Warning', '299 medichain "There are additional results that can be requested"')
  ctx.type = DICOM_JSON
  ctx.body = page.map(g => json(g, base))
  const byEntry = new Map(visible.map(v => [v.entry, v]))
  return page.flat().flatMap(e => byEntry.get(e) ?? [])
}
