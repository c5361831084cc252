// What an image card (protocol/image-meta.ts) takes from a DICOM header: when the image was made,
// what the study and series were called, and the Modality as the file wrote it. These are
// free-text and dates, so PHI by the house rules: they are read only to be sealed into the card,
// and never reach the ledger, gossip or a log line. summary.ts keeps the technical facts.
import type { DataSet } from 'dicom-parser'
import { cleanMetaText, MAX_META_DESCRIPTION, MAX_META_MODALITY, toMetaDate } from '../../../protocol/image-meta.ts'
import type { ImageMeta } from '../../../protocol/image-meta.ts'
import { guarded, parseDicomFile } from './header.ts'

/** Date and time attribute pairs, most telling first (PS3.3 §C.7.2.1, §C.7.3.1, §C.7.6.1). */
const DATES: ReadonlyArray<[date: string, time: string]> = [
  ['x00080020', 'x00080030'], // Study Date, Study Time
  ['x00080021', 'x00080031'], // Series Date, Series Time
  ['x00080022', 'x00080032'], // Acquisition Date, Acquisition Time
  ['x00080023', 'x00080033'] // Content Date, Content Time
]
const STUDY_DESCRIPTION = 'x00081030'
const SERIES_DESCRIPTION = 'x0008103e'
const MODALITY = 'x00080060'

/** The card fields of a parsed data set; a missing or malformed attribute is simply left out. */
export function cardFieldsOf (dataSet: DataSet): Pick<ImageMeta, 'date' | 'description' | 'modality'> {
  const text = (tag: string): string | undefined => guarded('DICOM attribute unreadable', () => dataSet.string(tag))
  const out: Pick<ImageMeta, 'date' | 'description' | 'modality'> = {}
  for (const [date, time] of DATES) {
    const d = toMetaDate(text(date), text(time))
    if (d !== undefined) { out.date = d; break }
  }
  const study = cleanMetaText(text(STUDY_DESCRIPTION), MAX_META_DESCRIPTION)
  const series = cleanMetaText(text(SERIES_DESCRIPTION), MAX_META_DESCRIPTION)
  const description = study !== undefined && series !== undefined && study !== series ? `${study} — ${series}` : study ?? series
  if (description !== undefined) out.description = cleanMetaText(description, MAX_META_DESCRIPTION)
  const modality = cleanMetaText(text(MODALITY), MAX_META_MODALITY)
  if (modality !== undefined) out.modality = modality
  return out
}

/** The card fields of a Part 10 file (its header only). Throws what parseDicomFile throws. */
export function dicomCardFields (bytes: Uint8Array): Pick<ImageMeta, 'date' | 'description' | 'modality'> {
  const { dataSet } = parseDicomFile(bytes, { headerOnly: true, requireNative: false })
  return cardFieldsOf(dataSet)
}
