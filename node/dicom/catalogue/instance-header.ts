// What the DICOM node reads from an instance's header (PS3.3): the identifying and descriptive
// attributes a query/retrieve SCP matches and answers with (patient, study, series, instance
// levels of PS3.4 §C.6). They are PHI: they live only in the hospital's sealed catalogue
// (catalogue.ts) and in the encrypted file, never on the ledger, in gossip or in logs.
import { readDicomHead } from '../../imaging/dicom/file.ts'
import { parseDicomFile } from '../../imaging/dicom/header.ts'
import { CorruptImageError } from '../../imaging/errors.ts'

/** The patient-level attributes (PS3.4 §C.6.1.1.2). */
export interface PatientAttributes {
  /** Patient ID (0010,0020): the hospital's MRN. */
  mrn: string
  /** Patient's Name (0010,0010), as stored (PN with ^ separators). */
  name: string
  /** Patient's Birth Date (0010,0030), YYYYMMDD or ''. */
  birthDate: string
  /** Patient's Sex (0010,0040) or ''. */
  sex: string
}

/**
 * Where an instance's first frame lies in the patient (PS3.3 §C.7.4.1 Frame of Reference,
 * §C.7.6.2 Image Plane), as the file writes them (DS values as text): what a Segmentation derived
 * from it copies. Each is present only when the file has it.
 */
export interface InstanceGeometry {
  /** Frame of Reference UID (0020,0052). */
  frameOfReference?: string
  /** Image Position (Patient) (0020,0032), three DS values. */
  position?: string[]
  /** Image Orientation (Patient) (0020,0037), six DS values. */
  orientation?: string[]
  /** Pixel Spacing (0028,0030), two DS values. */
  spacing?: string[]
  /** Slice Thickness (0018,0050), one DS value. */
  thickness?: string
}

/** The attributes of one instance the catalogue keeps, by level. */
export interface InstanceHeader {
  patient: PatientAttributes
  study: { uid: string, date: string, time: string, description: string, accession: string, id: string, referring: string }
  series: { uid: string, number: number, modality: string, description: string }
  instance: { uid: string, sopClassUid: string, number: number, rows: number, columns: number, frames: number }
  /** Absent for an instance with no geometry, and in entries catalogued before it was kept. */
  geometry?: InstanceGeometry
}

/** The UID grammar of PS3.5 §9.1: digits and dots, at most 64 characters. */
const UID = /^[0-9]+(\.[0-9]+)*$/

/** A string attribute without padding (NUL or space), or ''. */
function text (read: (tag: string) => string | undefined, tag: string): string {
  return (read(tag) ?? '').replace(/[\0 ]+$/, '').trim()
}

/** A non-negative IS value, or 0 when absent or not a number. */
function integer (read: (tag: string) => string | undefined, tag: string): number {
  const n = Number.parseInt(text(read, tag), 10)
  return Number.isSafeInteger(n) && n >= 0 && n < 2 ** 31 ? n : 0
}

function uid (read: (tag: string) => string | undefined, tag: string, name: string): string {
  const v = text(read, tag)
  if (v.length === 0 || v.length > 64 || !UID.test(v)) throw new CorruptImageError(`DICOM ${name} is missing or not a UID`)
  return v
}

/** A DS value of `count` numbers as its texts, or undefined when absent or of another shape. */
function decimals (read: (tag: string) => string | undefined, tag: string, count: number): string[] | undefined {
  const v = text(read, tag)
  if (v === '') return undefined
  const parts = v.split('\\').map(p => p.trim())
  return parts.length === count && parts.every(p => p !== '' && p.length <= 16 && Number.isFinite(Number(p))) ? parts : undefined
}

/** The geometry of the first frame (PS3.3 §C.7.6.2), or undefined when the file has none of it. */
function geometryOf (read: (tag: string) => string | undefined): InstanceGeometry | undefined {
  const frame = text(read, 'x00200052')
  const found: Array<[keyof InstanceGeometry, string | string[] | undefined]> = [
    ['frameOfReference', frame.length > 0 && frame.length <= 64 && UID.test(frame) ? frame : undefined],
    ['position', decimals(read, 'x00200032', 3)],
    ['orientation', decimals(read, 'x00200037', 6)],
    ['spacing', decimals(read, 'x00280030', 2)],
    ['thickness', decimals(read, 'x00180050', 1)?.[0]]
  ]
  // Absent attributes are left out, not undefined: the catalogue's encoding (dag-cbor) has no undefined.
  const present = found.filter(([, v]) => v !== undefined)
  return present.length === 0 ? undefined : Object.fromEntries(present) as InstanceGeometry
}

/**
 * Reads the catalogue attributes of a Part 10 file (header only). Throws CORRUPT_IMAGE when a
 * Study, Series or SOP Instance UID is missing: an instance that cannot be placed is not stored.
 */
export function readInstanceHeader (bytes: Uint8Array): InstanceHeader {
  const { dataSet } = parseDicomFile(bytes, { headerOnly: true, requireNative: false })
  const read = (tag: string): string | undefined => dataSet.string(tag)
  const num = (tag: string): number => dataSet.uint16(tag) ?? 0
  return {
    patient: { mrn: text(read, 'x00100020'), name: text(read, 'x00100010'), birthDate: text(read, 'x00100030'), sex: text(read, 'x00100040') },
    study: {
      uid: uid(read, 'x0020000d', 'Study Instance UID'),
      date: text(read, 'x00080020'),
      time: text(read, 'x00080030'),
      description: text(read, 'x00081030'),
      accession: text(read, 'x00080050'),
      id: text(read, 'x00200010'),
      referring: text(read, 'x00080090')
    },
    series: { uid: uid(read, 'x0020000e', 'Series Instance UID'), number: integer(read, 'x00200011'), modality: text(read, 'x00080060'), description: text(read, 'x0008103e') },
    instance: {
      uid: uid(read, 'x00080018', 'SOP Instance UID'),
      sopClassUid: uid(read, 'x00080016', 'SOP Class UID'),
      number: integer(read, 'x00200013'),
      rows: num('x00280010'),
      columns: num('x00280011'),
      frames: integer(read, 'x00280008') || 1
    },
    ...geometryEntry(geometryOf(read))
  }
}

const geometryEntry = (g: InstanceGeometry | undefined): { geometry?: InstanceGeometry } => g === undefined ? {} : { geometry: g }

/** Reads a Part 10 file's attributes before Pixel Data (readDicomHead) and returns its catalogue attributes. */
export async function readInstanceHeaderFile (path: string): Promise<InstanceHeader> {
  return readInstanceHeader(await readDicomHead(path))
}
