// Synthetic DICOM studies for the DICOM tests and bench:dicom-qr: a patient (synthetic PHI probes),
// a Study Instance UID and series of phantom slices, written as Part 10 files with their
// InstanceNumber, Series Number, study date and description.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { SOP_CLASS } from '../../node/imaging/constants.ts'
import { encodeDicom } from '../../node/imaging/dicom/write.ts'
import { toUint16 } from '../../node/imaging/raster/encode.ts'
import { generatePhantom } from './phantom.ts'

/** One series of a synthetic study: its UID, modality and number of slices. */
export interface SeriesSpec { uid: string, modality: string, slices: number, number?: number }

/** A synthetic study: a patient (PHI probes), a Study Instance UID, and its series. */
export interface StudySpec { mrn: string, name: string, birthDate: string, uid: string, date?: string, description?: string, series: SeriesSpec[], size?: number }

/**
 * Writes a study's instances as Part 10 files under `dir` (one per slice, InstanceNumber 1..n,
 * SOP Instance UID `<series uid>.<n>`); returns their paths in series and slice order.
 */
export async function writeStudy (dir: string, spec: StudySpec): Promise<string[]> {
  const size = spec.size ?? 64
  await mkdir(dir, { recursive: true })
  const paths: string[] = []
  for (const [si, series] of spec.series.entries()) {
    for (let n = 1; n <= series.slices; n++) {
      const p = generatePhantom(si * 1000 + n, { size, lesionCount: 1 })
      const bytes = encodeDicom({
        rows: size, columns: size, bitsAllocated: 16, bitsStored: 12, pixels: toUint16(p.pixels, 12), modality: series.modality,
        sopClassUid: series.modality === 'MR' ? '1.2.840.10008.5.1.4.1.1.4' : SOP_CLASS.ct,
        sopInstanceUid: `${series.uid}.${n}`, studyInstanceUid: spec.uid, seriesInstanceUid: series.uid,
        seriesNumber: series.number ?? si + 1, instanceNumber: n,
        study: { date: spec.date ?? '20261201', description: spec.description ?? 'SYNTH STUDY' },
        patient: { name: spec.name, id: spec.mrn, birthDate: spec.birthDate }
      })
      const path = join(dir, `${series.uid}.${n}.dcm`)
      await writeFile(path, bytes)
      paths.push(path)
    }
  }
  return paths
}
