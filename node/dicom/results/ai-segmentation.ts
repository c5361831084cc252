// The AI result as a DICOM Segmentation (issue 13 item 5; Segmentation IOD, PS3.3 §A.51): the
// abnormal-region mask detect-strange drew for an instance (carried in its result PNG,
// node/imaging/derived/result-mask.ts) as a BINARY segmentation of one segment, in a series of its own in
// the source's study, so that a standard viewer overlays it on the source. Each frame names its
// source (Derivation Image / Source Image Sequence, §C.7.6.16.2.6); the Frame of Reference and
// plane position and orientation are the source's when it has them. The model's CID is in the
// Derivation Description and the Segment Description. UIDs derive from the source's and the model
// CID, as the Secondary Capture's do (ai-result.ts), so every retrieval yields the same object.
//
// Written by hand with dcmjs's data model rather than dcmjs's Segmentation derivation, which
// needs the source's full pixel data normalised to a multi-frame object and stamps random UIDs
// and the current date and time: neither fits an object that must be the same on every retrieval.
import type { CatalogueEntry, DicomCatalogue } from '../catalogue/catalogue.ts'
import type { ResultMask } from '../../imaging/derived/result-mask.ts'
import { CorruptImageError } from '../../imaging/errors.ts'
import { derivedEntry, derivedUid, part10Bytes, patientAndStudy } from './ai-result.ts'

/** Segmentation Storage (PS3.4 §B.5, PS3.3 §A.51). */
export const SEGMENTATION_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4'

/** Added to the source's Series Number for the segmentation series (the Secondary Capture's is +1000). */
export const SEGMENTATION_SERIES_NUMBER_OFFSET = 2000

/** The series description of segmentation series (no PHI). */
export const SEGMENTATION_SERIES_DESCRIPTION = 'detect-strange segmentation'

/** The one segment's label. */
export const SEGMENT_LABEL = 'abnormal region'

/**
 * What the segment is (PS3.16 CID 7150 "Segmentation Property Categories" and CID 7151 "Segmentation
 * Property Types", SNOMED CT): a morphologically altered structure, of type lesion. Detect-strange
 * flags what looks abnormal; it does not say what the lesion is.
 */
export const SEGMENT_CATEGORY = { CodeValue: '49755003', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Morphologically Altered Structure' }
export const SEGMENT_TYPE = { CodeValue: '52988006', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Lesion' }

/** PS3.16 CID 7202 "Source Image Purposes of Reference" and CID 7203 "Image Derivation". */
const SOURCE_PURPOSE = { CodeValue: '121322', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Source image for image processing operation' }
const SEGMENTATION_DERIVATION = { CodeValue: '113076', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Segmentation' }

/** Tags of the dimension index (PS3.3 §C.7.6.17): Referenced Segment Number in Segment Identification, Image Position in Plane Position. */
const TAG = { referencedSegmentNumber: 0x0062000b, segmentIdentification: 0x0062000a, imagePosition: 0x00200032, planePosition: 0x00209113 }

/** The catalogue entry of the Segmentation derived from `source` by `model`. */
export function segmentationEntry (source: CatalogueEntry, model: string, catalogue: Pick<DicomCatalogue, 'pseudonym'>): CatalogueEntry {
  return derivedEntry(source, model, catalogue, { name: 'segmentation', sopClassUid: SEGMENTATION_SOP_CLASS, modality: 'SEG', seriesNumberOffset: SEGMENTATION_SERIES_NUMBER_OFFSET, seriesDescription: SEGMENTATION_SERIES_DESCRIPTION })
}

/** DICOM DA and TM of a time (UTC): the Segmentation's content date is when its source was analysed. */
function dateTime (ms: number): { date: string, time: string } {
  const iso = new Date(ms).toISOString()
  return { date: iso.slice(0, 10).replaceAll('-', ''), time: iso.slice(11, 19).replaceAll(':', '') }
}

/** The mask's bits as one frame of Pixel Data, padded to an even length (PS3.5 §8.1.1, §7.1.1). */
function pixelData (mask: ResultMask): ArrayBuffer {
  const out = new Uint8Array(mask.bits.length + (mask.bits.length % 2))
  out.set(mask.bits)
  return out.buffer
}

/** The functional groups of the one frame (PS3.3 §C.8.20.3), and the shared ones (plane orientation, pixel measures). */
function functionalGroups (source: CatalogueEntry, hasPosition: boolean): { shared: Record<string, unknown>, frame: Record<string, unknown> } {
  const h = source.header
  const g = h.geometry ?? {}
  // One segment for every frame: its identification is shared (readers look per frame, then shared),
  // which also keeps the shared item non-empty for a source with no geometry (Type 1 sequence).
  const shared: Record<string, unknown> = { SegmentIdentificationSequence: [{ ReferencedSegmentNumber: 1 }] }
  if (g.orientation !== undefined) shared.PlaneOrientationSequence = [{ ImageOrientationPatient: g.orientation }]
  // Pixel Measures need Pixel Spacing, and in a frame of reference Slice Thickness too (PS3.3
  // §C.7.6.16.2.1, Type 1C): with either missing they are left out rather than made up.
  if (g.spacing !== undefined && (g.thickness !== undefined || g.frameOfReference === undefined)) {
    shared.PixelMeasuresSequence = [{ PixelSpacing: g.spacing, ...(g.thickness === undefined ? {} : { SliceThickness: g.thickness }) }]
  }
  // A multi-frame source was analysed on its first frame: that is the frame referenced.
  const reference = { ReferencedSOPClassUID: h.instance.sopClassUid, ReferencedSOPInstanceUID: h.instance.uid, ...(h.instance.frames > 1 ? { ReferencedFrameNumber: 1 } : {}) }
  const frame: Record<string, unknown> = {
    DerivationImageSequence: [{ SourceImageSequence: [{ ...reference, PurposeOfReferenceCodeSequence: [SOURCE_PURPOSE] }], DerivationCodeSequence: [SEGMENTATION_DERIVATION] }],
    FrameContentSequence: [{ DimensionIndexValues: hasPosition ? [1, 1] : [1] }],
    ...(hasPosition ? { PlanePositionSequence: [{ ImagePositionPatient: g.position }] } : {})
  }
  return { shared, frame }
}

/**
 * The Segmentation of `mask` (the result's, decrypted) as a Part 10 file. `segmentation` is
 * segmentationEntry(source, model); CORRUPT_IMAGE when the mask is not the source's size.
 */
export function segmentationBytes (mask: ResultMask, segmentation: CatalogueEntry, source: CatalogueEntry, model: string): Uint8Array {
  const src = source.header
  if (mask.width !== src.instance.columns || mask.height !== src.instance.rows) {
    throw new CorruptImageError(`the result mask is ${mask.width}×${mask.height}, its source ${src.instance.columns}×${src.instance.rows}`)
  }
  const h = segmentation.header
  const g = src.geometry ?? {}
  const hasPosition = g.position !== undefined
  const { shared, frame } = functionalGroups(source, hasPosition)
  const dimensions = derivedUid('segmentation-dimensions', src.instance.uid, model)
  const when = dateTime(source.stored)
  const index = (pointer: number, group: number, label: string): Record<string, unknown> =>
    ({ DimensionOrganizationUID: dimensions, DimensionIndexPointer: pointer, FunctionalGroupPointer: group, DimensionDescriptionLabel: label })
  return part10Bytes({
    SpecificCharacterSet: 'ISO_IR 192',
    ...patientAndStudy(h),
    SOPClassUID: SEGMENTATION_SOP_CLASS,
    SOPInstanceUID: h.instance.uid,
    ImageType: ['DERIVED', 'PRIMARY'],
    SeriesInstanceUID: h.series.uid,
    Modality: 'SEG',
    SeriesNumber: String(h.series.number),
    SeriesDescription: h.series.description,
    InstanceNumber: String(h.instance.number),
    // Without an orientation of its own, Patient Orientation is present and empty (PS3.3 §C.7.6.1, Type 2C).
    ...(g.orientation === undefined ? { PatientOrientation: [] } : {}),
    ContentDate: when.date,
    ContentTime: when.time,
    ...(g.frameOfReference === undefined ? {} : { FrameOfReferenceUID: g.frameOfReference, PositionReferenceIndicator: '' }),
    Manufacturer: 'Medichain',
    ManufacturerModelName: 'detect-strange',
    DeviceSerialNumber: model, // the device is the weights: their CID names them
    SoftwareVersions: 'medichain-seg-1',
    ContentLabel: 'ABNORMAL',
    ContentDescription: 'detect-strange abnormal regions',
    ContentCreatorName: [],
    DerivationDescription: `abnormal-region mask of detect-strange by model ${model}`,
    ReferencedSeriesSequence: [{ SeriesInstanceUID: src.series.uid, ReferencedInstanceSequence: [{ ReferencedSOPClassUID: src.instance.sopClassUid, ReferencedSOPInstanceUID: src.instance.uid }] }],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: src.instance.rows,
    Columns: src.instance.columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    SegmentSequence: [{
      SegmentNumber: 1,
      SegmentLabel: SEGMENT_LABEL,
      SegmentDescription: `regions detect-strange model ${model} flagged`,
      SegmentAlgorithmType: 'AUTOMATIC',
      SegmentAlgorithmName: 'detect-strange',
      SegmentedPropertyCategoryCodeSequence: [SEGMENT_CATEGORY],
      SegmentedPropertyTypeCodeSequence: [SEGMENT_TYPE]
    }],
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensions }],
    DimensionIndexSequence: [
      index(TAG.referencedSegmentNumber, TAG.segmentIdentification, 'ReferencedSegmentNumber'),
      ...(hasPosition ? [index(TAG.imagePosition, TAG.planePosition, 'ImagePositionPatient')] : [])
    ],
    SharedFunctionalGroupsSequence: [shared],
    PerFrameFunctionalGroupsSequence: [frame],
    NumberOfFrames: '1',
    PixelData: [pixelData(mask)],
    _vrMap: { PixelData: 'OB' }
  })
}
