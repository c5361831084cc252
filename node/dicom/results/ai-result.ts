// The AI result as a DICOM object (issue 13 item 5): detect-strange's result image (the overlay,
// stored encrypted beside each instance as its `result` CID) is served to DICOM callers as a
// Secondary Capture Image (PS3.3 §A.8.1) in the source's study, in a series of its own, that
// references its source instance (Source Image Sequence, PS3.3 §C.7.6.1.1.4) and carries the
// model's CID (Derivation Description). Its UIDs are derived from the source's UIDs and the model
// CID (PS3.5 §B.2, 2.25 UUID-derived form), so every retrieval yields the same object.
import { createHash } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { PNG } from 'pngjs'
import dcmjs from 'dcmjs'
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION } from '../../imaging/constants.ts'
import type { CatalogueEntry, DicomCatalogue } from '../catalogue/catalogue.ts'

/** Secondary Capture Image Storage (PS3.4 §B.5). */
export const SECONDARY_CAPTURE_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.7'

/** Explicit VR Little Endian (PS3.5 §A.2): what the result objects are written in. */
const EXPLICIT_LE = '1.2.840.10008.1.2.1'

/**
 * A Part 10 file (PS3.10 §7.1) of a keyword-keyed data set, in Explicit VR Little Endian, written
 * with dcmjs: the file meta group names the SOP class and instance of the data set.
 */
export function part10Bytes (elements: Record<string, unknown>): Uint8Array {
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: elements.SOPClassUID,
    MediaStorageSOPInstanceUID: elements.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_LE,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION
  }
  const { DicomDict, DicomMetaDictionary } = dcmjs.data
  const file = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta))
  file.dict = DicomMetaDictionary.denaturalizeDataset(elements)
  return new Uint8Array(file.write())
}

/** The patient and study attributes a derived object copies from its source (PS3.3 §C.7.1.1, §C.7.2.1). */
export function patientAndStudy (h: CatalogueEntry['header']): Record<string, unknown> {
  return {
    StudyInstanceUID: h.study.uid,
    StudyDate: h.study.date,
    StudyTime: h.study.time,
    AccessionNumber: h.study.accession,
    StudyID: h.study.id,
    StudyDescription: h.study.description,
    ReferringPhysicianName: [{ Alphabetic: h.study.referring }],
    PatientName: [{ Alphabetic: h.patient.name }],
    PatientID: h.patient.mrn,
    PatientBirthDate: h.patient.birthDate,
    PatientSex: h.patient.sex
  }
}

/** Added to the source's Series Number for the result series, so PACS lists it beside its source. */
export const RESULT_SERIES_NUMBER_OFFSET = 1000

/** The series description of result series (no PHI: the model is named by its CID elsewhere). */
export const RESULT_SERIES_DESCRIPTION = 'detect-strange result'

/**
 * A UID under the 2.25 root from a digest of `parts` (PS3.5 §B.2: 2.25 followed by the decimal
 * form of a 128-bit number), so a derived object has one UID whoever derives it, whenever.
 */
export function derivedUid (...parts: string[]): string {
  const h = createHash('sha256').update(`medichain/dicom/derived/v1\0${parts.join('\0')}`).digest()
  // The top bit cleared keeps the number below 2^127, so the UID stays within 64 characters.
  h[0] &= 0x7f
  return `2.25.${BigInt(`0x${h.subarray(0, 16).toString('hex')}`).toString(10)}`
}

/** How a derived object's series and instance differ from its source's. */
export interface DerivedKind {
  /** Names the object's kind in its derived UIDs. */
  name: string
  sopClassUid: string
  modality: string
  seriesNumberOffset: number
  seriesDescription: string
}

/** The catalogue entry of the one-frame object of `kind` derived from `source` by `model`. */
export function derivedEntry (source: CatalogueEntry, model: string, catalogue: Pick<DicomCatalogue, 'pseudonym'>, kind: DerivedKind): CatalogueEntry {
  const seriesUid = derivedUid(`${kind.name}-series`, source.header.series.uid, model)
  const instanceUid = derivedUid(`${kind.name}-instance`, source.header.instance.uid, model)
  const h = source.header
  return {
    ...source,
    series: catalogue.pseudonym('series', seriesUid),
    instance: catalogue.pseudonym('instance', instanceUid),
    header: {
      ...h,
      series: { uid: seriesUid, number: h.series.number + kind.seriesNumberOffset, modality: kind.modality, description: kind.seriesDescription },
      instance: { ...h.instance, uid: instanceUid, sopClassUid: kind.sopClassUid, frames: 1 }
    }
  }
}

/** The catalogue entry of the result object derived from `source` by `model`. */
export function resultEntry (source: CatalogueEntry, model: string, catalogue: Pick<DicomCatalogue, 'pseudonym'>): CatalogueEntry {
  return derivedEntry(source, model, catalogue, { name: 'result', sopClassUid: SECONDARY_CAPTURE_SOP_CLASS, modality: 'OT', seriesNumberOffset: RESULT_SERIES_NUMBER_OFFSET, seriesDescription: RESULT_SERIES_DESCRIPTION })
}

/** RGB samples (PlanarConfiguration 0) of a PNG, alpha dropped. */
function rgbOf (png: Uint8Array): { rows: number, columns: number, rgb: Uint8Array } {
  const image = PNG.sync.read(Buffer.from(png.buffer, png.byteOffset, png.byteLength))
  const rgb = new Uint8Array(image.width * image.height * 3)
  for (let i = 0, j = 0; i < image.data.length; i += 4, j += 3) {
    rgb[j] = image.data[i]
    rgb[j + 1] = image.data[i + 1]
    rgb[j + 2] = image.data[i + 2]
  }
  return { rows: image.height, columns: image.width, rgb }
}

/**
 * The Secondary Capture of a result image (`png`, decrypted) as a Part 10 file: the source's
 * patient and study attributes, the result series, the reference to the source instance and the
 * model CID.
 */
export function resultObjectBytes (png: Uint8Array, result: CatalogueEntry, source: CatalogueEntry, model: string): Uint8Array {
  const { rows, columns, rgb } = rgbOf(png)
  const h = result.header
  return part10Bytes({
    ...patientAndStudy(h),
    SOPClassUID: SECONDARY_CAPTURE_SOP_CLASS,
    SOPInstanceUID: h.instance.uid,
    ImageType: ['DERIVED', 'SECONDARY'],
    SeriesInstanceUID: h.series.uid,
    Modality: 'OT',
    ConversionType: 'WSD', // workstation: made by software (PS3.3 §C.8.6.1)
    SeriesNumber: String(h.series.number),
    SeriesDescription: h.series.description,
    InstanceNumber: String(h.instance.number),
    DerivationDescription: `detect-strange overlay by model ${model}`,
    ImageComments: `model CID ${model}`,
    SourceImageSequence: [{ ReferencedSOPClassUID: source.header.instance.sopClassUid, ReferencedSOPInstanceUID: source.header.instance.uid }],
    ReferencedImageSequence: [{ ReferencedSOPClassUID: source.header.instance.sopClassUid, ReferencedSOPInstanceUID: source.header.instance.uid }],
    SamplesPerPixel: 3,
    PhotometricInterpretation: 'RGB',
    PlanarConfiguration: 0,
    Rows: rows,
    Columns: columns,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: [rgb.buffer],
    _vrMap: { PixelData: 'OB' }
  })
}

/** Writes the Secondary Capture of a result image to `path` (resultObjectBytes), readable by its owner only. */
export async function writeResultObject (path: string, png: Uint8Array, result: CatalogueEntry, source: CatalogueEntry, model: string): Promise<void> {
  await writeFile(path, resultObjectBytes(png, result, source, model), { mode: 0o600 })
}
