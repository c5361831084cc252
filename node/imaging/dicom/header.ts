// DICOM Part 10 parsing with dicom-parser behind a safe boundary: the transfer syntax is checked
// from the file meta group before the data set is parsed, every throw (dicom-parser throws strings
// and plain objects) becomes a typed error, and the image pixel module is read into one typed
// header. Only technical attributes are read here; patient tags are never touched.
import dicomParser from 'dicom-parser'
import type { DataSet } from 'dicom-parser'
import { DICOM_PREAMBLE_BYTES, DICOM_PREFIX, NATIVE_LITTLE_ENDIAN_TS, TS } from '../constants.ts'
import { inflateDeclared, inflateHeader } from './inflate.ts'
import { CorruptImageError, describeThrown, UnsupportedFormatError, UnsupportedTransferSyntaxError } from '../errors.ts'
import { toModalityTerm } from '../../../protocol/dicom-modalities.ts'
import { MedichainError } from '../../../protocol/errors.ts'

/** Image Pixel module attributes (PS3.3 §C.7.6.3) plus modality, rescale and window. */
export interface DicomHeader {
  transferSyntax: string
  /** Modality (0008,0060) when it is a DICOM defined term, else 'OT' (protocol/dicom-modalities.ts). */
  modality: string
  rows: number
  columns: number
  samplesPerPixel: number
  /** Photometric Interpretation (0028,0004) when it is a defined term, else 'UNKNOWN'. */
  photometric: string
  planarConfiguration: number
  bitsAllocated: number
  bitsStored: number
  highBit: number
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number
  frames: number
  /** Rescale Slope and Intercept (0028,1053/1052): stored value → modality units. */
  slope: number
  intercept: number
  /** First Window Center/Width (0028,1050/1051) in modality units, when present and valid. */
  window?: { center: number, width: number }
}

/** Photometric interpretations defined in PS3.3 §C.7.6.3.1.2; anything else is reported as UNKNOWN. */
const PHOTOMETRIC = new Set(['MONOCHROME1', 'MONOCHROME2', 'PALETTE COLOR', 'RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_PARTIAL_422', 'YBR_PARTIAL_420', 'YBR_ICT', 'YBR_RCT', 'HSV', 'ARGB', 'CMYK'])
/** A UI value (PS3.5 §9.1): digits and dots, at most 64 characters. */
const UID = /^[0-9.]{1,64}$/

/** dicom-parser exports readPart10Header (the file meta group alone), but its typings omit it. */
type MetaReader = (bytes: Uint8Array) => DataSet
const readPart10Header: MetaReader = (dicomParser as unknown as { readPart10Header: MetaReader }).readPart10Header

/** Runs `fn`, turning anything a third-party parser throws into CORRUPT_IMAGE; our own errors pass. */
export function guarded<T> (what: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof MedichainError) throw err
    // dicom-parser throws { exception, dataSet } from inside the data set.
    const inner = typeof err === 'object' && err !== null && 'exception' in err ? err.exception : err
    throw new CorruptImageError(`${what}: ${describeThrown(inner)}`)
  }
}

/** Throws UNSUPPORTED_FORMAT unless the bytes carry the Part 10 prefix. */
function assertPart10 (bytes: Uint8Array): void {
  const prefix = String.fromCharCode(...bytes.subarray(DICOM_PREAMBLE_BYTES, DICOM_PREAMBLE_BYTES + 4))
  if (prefix !== DICOM_PREFIX) throw new UnsupportedFormatError('not a DICOM Part 10 file')
}

/** The Transfer Syntax UID (0002,0010) of the file meta group; throws CORRUPT_IMAGE when it is missing or malformed. */
export function readTransferSyntax (bytes: Uint8Array): string {
  assertPart10(bytes)
  const meta = guarded('DICOM file meta group does not parse', () => readPart10Header(bytes))
  const ts = guarded('DICOM transfer syntax unreadable', () => meta.string('x00020010'))
  const clean = ts?.replace(/\0+$/, '')
  if (clean === undefined || !UID.test(clean)) throw new CorruptImageError('DICOM file meta group has no valid Transfer Syntax UID')
  return clean
}

export interface ParseOptions {
  /** Stop before Pixel Data (7FE0,0010): enough for the header, and works on a prefix of the file. */
  headerOnly: boolean
  /** Accept only native little-endian transfer syntaxes (for pixel decoding). */
  requireNative: boolean
  /**
   * Called with the header before Pixel Data is read, and for a deflated file before the data set
   * is inflated past its attributes (PS3.5 §A.5): the pixel budget, which throws to refuse.
   */
  checkHeader?: (h: DicomHeader) => void
}

/** Bytes of Pixel Data the header declares: Rows × Columns × Frames × Samples × Bits Allocated / 8. */
export function declaredPixelBytes (h: DicomHeader): number {
  return h.rows * h.columns * h.frames * h.samplesPerPixel * (h.bitsAllocated / 8)
}

/** Parses a Part 10 file; throws UNSUPPORTED_TRANSFER_SYNTAX (when `requireNative`), CORRUPT_IMAGE or what `checkHeader` throws. */
export function parseDicomFile (bytes: Uint8Array, opts: ParseOptions): { dataSet: DataSet, transferSyntax: string } {
  const transferSyntax = readTransferSyntax(bytes)
  if (opts.requireNative && !NATIVE_LITTLE_ENDIAN_TS.has(transferSyntax)) {
    throw new UnsupportedTransferSyntaxError(`DICOM transfer syntax ${transferSyntax} is not supported (uncompressed little endian only)`)
  }
  // Deflated files: the attributes first, the budget from them, then a bounded inflate of the rest.
  const inflater = (arr: Uint8Array, position: number): Uint8Array => {
    const meta = arr.subarray(0, position)
    const deflated = arr.subarray(position)
    const { full, dataSet } = inflateHeader(meta, deflated)
    if (opts.headerOnly || dataSet === undefined) return full
    const h = readHeader(dataSet, transferSyntax)
    opts.checkHeader?.(h)
    const pixelOffset = (dataSet.elements.x7fe00010?.dataOffset ?? full.length) - position
    return inflateDeclared(meta, deflated, pixelOffset, declaredPixelBytes(h))
  }
  const dataSet = guarded('DICOM data set does not parse', () => dicomParser.parseDicom(bytes, {
    ...(opts.headerOnly ? { untilTag: 'x7fe00010' } : {}),
    inflater
  }))
  if (!opts.headerOnly && transferSyntax !== TS.deflatedExplicitLittle) opts.checkHeader?.(readHeader(dataSet, transferSyntax))
  return { dataSet, transferSyntax }
}

function required (value: number | undefined, name: string): number {
  if (value === undefined || !Number.isFinite(value)) throw new CorruptImageError(`DICOM attribute ${name} is missing`)
  return value
}

function finiteOr (value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? value : fallback
}

/** Reads the typed header from a parsed data set; throws CORRUPT_IMAGE on missing or inconsistent attributes. */
export function readHeader (dataSet: DataSet, transferSyntax: string): DicomHeader {
  return guarded('DICOM attributes unreadable', () => {
    const modality = dataSet.string('x00080060')
    const photometric = dataSet.string('x00280004') ?? 'MONOCHROME2'
    const bitsAllocated = required(dataSet.uint16('x00280100'), 'Bits Allocated (0028,0100)')
    const bitsStored = finiteOr(dataSet.uint16('x00280101'), bitsAllocated)
    const center = dataSet.floatString('x00281050')
    const width = dataSet.floatString('x00281051')
    const header: DicomHeader = {
      transferSyntax,
      modality: toModalityTerm(modality),
      rows: required(dataSet.uint16('x00280010'), 'Rows (0028,0010)'),
      columns: required(dataSet.uint16('x00280011'), 'Columns (0028,0011)'),
      samplesPerPixel: finiteOr(dataSet.uint16('x00280002'), 1),
      photometric: PHOTOMETRIC.has(photometric) ? photometric : 'UNKNOWN',
      planarConfiguration: finiteOr(dataSet.uint16('x00280006'), 0),
      bitsAllocated,
      bitsStored,
      highBit: finiteOr(dataSet.uint16('x00280102'), bitsStored - 1),
      pixelRepresentation: finiteOr(dataSet.uint16('x00280103'), 0),
      frames: finiteOr(dataSet.intString('x00280008'), 1),
      slope: finiteOr(dataSet.floatString('x00281053'), 1),
      intercept: finiteOr(dataSet.floatString('x00281052'), 0)
    }
    // Window Width must be at least 1 (PS3.3 §C.11.2.1.2.1); otherwise the window is ignored.
    if (center !== undefined && width !== undefined && Number.isFinite(center) && Number.isFinite(width) && width >= 1) {
      header.window = { center, width }
    }
    return header
  })
}
