// Groups a patient's image list into what a clinician opens (docs/design.md §5 "Studies and
// series"): every DICOM instance of one series (same record, i.e. study, and series pseudonym)
// is one entry, its slices in InstanceNumber order; any other image is an entry of its own.
import type { ApiImage } from '../../../../protocol/client/client.ts'

/** One entry of the grid: a series of slices, or a single image. */
export interface ImageGroup {
  /** Stable key: `series:<record>:<series>:<custodian>` or the raw CID. */
  key: string
  /** The slices in order (one for a single image). */
  images: ApiImage[]
  /** The image the entry shows and opens: the middle slice of a series. */
  lead: ApiImage
  /** Newest time among its images (the grid sorts by it). */
  time: number
}

/** The series key of an image, or undefined for an image outside a series. */
export function seriesKey (img: ApiImage): string | undefined {
  return img.dicom === null || img.record === null ? undefined : `series:${img.record}:${img.dicom.series}:${img.custodian}`
}

/** Slices in display order: InstanceNumber, then the raw CID for equal numbers (a stable order). */
export function bySlice (a: ApiImage, b: ApiImage): number {
  return (a.dicom?.number ?? 0) - (b.dicom?.number ?? 0) || (a.raw < b.raw ? -1 : a.raw > b.raw ? 1 : 0)
}

/** Groups a listing; newest entry first. */
export function groupImages (images: readonly ApiImage[]): ImageGroup[] {
  const groups = new Map<string, ApiImage[]>()
  for (const img of images) {
    const key = seriesKey(img) ?? img.raw
    const g = groups.get(key)
    if (g === undefined) groups.set(key, [img])
    else g.push(img)
  }
  return [...groups].map(([key, list]) => {
    const sorted = [...list].sort(bySlice)
    return { key, images: sorted, lead: sorted[Math.floor((sorted.length - 1) / 2)], time: Math.max(...sorted.map(i => i.time)) }
  }).sort((a, b) => b.time - a.time)
}

/** The slices of the series `img` belongs to, in order, from a listing (just `img` outside a series). */
export function seriesOf (img: ApiImage, images: readonly ApiImage[]): ApiImage[] {
  const key = seriesKey(img)
  if (key === undefined) return [img]
  return images.filter(i => seriesKey(i) === key).sort(bySlice)
}

/** A DICOM study among a patient's images: what a consent may name (a `record` scope). */
export interface StudyChoice { record: string, images: ApiImage[], label: string }

/** The patient's DICOM studies, newest first, each with its images and a label in plain words. */
export function studiesOf (images: readonly ApiImage[]): StudyChoice[] {
  const studies = new Map<string, ApiImage[]>()
  for (const img of images) {
    if (img.dicom === null || img.record === null) continue
    const list = studies.get(img.record)
    if (list === undefined) studies.set(img.record, [img])
    else list.push(img)
  }
  return [...studies].map(([record, list]) => {
    const modalities = [...new Set(list.map(i => i.modality))].sort().join(', ')
    const series = new Set(list.map(i => i.dicom?.series)).size
    const newest = Math.max(...list.map(i => i.time))
    const label = `${modalities} study, ${series} series, ${list.length} image${list.length === 1 ? '' : 's'}, added ${new Date(newest).toLocaleDateString()}`
    return { record, images: list, label, newest }
  }).sort((a, b) => b.newest - a.newest).map(({ record, images: list, label }) => ({ record, images: list, label }))
}
