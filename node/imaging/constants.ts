// Constants of the image codecs: magic numbers, DICOM UIDs and tags, and the default size limits.
// Each value names the standard it comes from.

/** PNG signature (ISO/IEC 15948 §5.2). */
export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)

/** JPEG SOI marker followed by the first byte of the next marker (ITU-T T.81 §B.1.1.3). */
export const JPEG_SOI = Uint8Array.of(0xff, 0xd8, 0xff)

/** DICOM Part 10: a 128-byte preamble, then the prefix 'DICM' (PS3.10 §7.1). */
export const DICOM_PREAMBLE_BYTES = 128
export const DICOM_PREFIX = 'DICM'

/** Bytes detectFormat needs to recognise every format (the DICOM prefix ends at byte 132). */
export const MIN_DETECT_BYTES = DICOM_PREAMBLE_BYTES + 4

/** Transfer syntaxes (PS3.5 §10 and Annex A; PS3.6 Annex A registry). */
export const TS = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflatedExplicitLittle: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegLosslessP14: '1.2.840.10008.1.2.4.57',
  jpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  jpegLsLossless: '1.2.840.10008.1.2.4.80',
  jpegLsNearLossless: '1.2.840.10008.1.2.4.81'
} as const

/** Transfer syntaxes whose pixel data is native little-endian and that we therefore decode. */
export const NATIVE_LITTLE_ENDIAN_TS: ReadonlySet<string> = new Set([TS.implicitLittle, TS.explicitLittle, TS.deflatedExplicitLittle])

/**
 * Encapsulated transfer syntaxes whose first frame we decode (dicom/codecs.ts): JPEG Lossless
 * (Process 14 and its Selection Value 1), JPEG-LS lossless and near-lossless, JPEG Baseline 8-bit.
 * JPEG 2000, RLE and big endian stay refused.
 */
export const COMPRESSED_DECODABLE_TS: ReadonlySet<string> = new Set([TS.jpegLosslessP14, TS.jpegLosslessSV1, TS.jpegLsLossless, TS.jpegLsNearLossless, TS.jpegBaseline])

/** SOP classes (PS3.4 Annex B.5): Secondary Capture, and CT for CT-like phantoms. */
export const SOP_CLASS = {
  secondaryCapture: '1.2.840.10008.5.1.4.1.1.7',
  ct: '1.2.840.10008.5.1.4.1.1.2'
} as const

/** Our DICOM implementation class UID: UUID b7221595-0e00-4cd2-bd8f-763a7a21b276 as a 2.25 UID (PS3.5 §B.2). */
export const IMPLEMENTATION_CLASS_UID = '2.25.243425699061760833116058983959378375286'
/** Implementation version name (SH, at most 16 characters; PS3.10 §7.1). */
export const IMPLEMENTATION_VERSION = 'MEDICHAIN_1'

/**
 * Default pixel budget (node/imaging/limits.ts), checked from the header before any allocation.
 * 8192 per side, and 2^25 pixels (33.5 Mpx) per frame: above the largest single radiographs (a
 * 4096 × 5625 full-field mammogram is 23 Mpx), below the 8192² (67 Mpx) headers of issue 11.6.
 */
export const DEFAULT_MAX_SIDE = 8192
export const DEFAULT_MAX_PIXELS = 2 ** 25
/**
 * Default budget of decoded bytes (width × height × frames × samples × bytes per sample): 128 MiB,
 * e.g. a 16-bit 4096² RGBA PNG, a 16-bit mammogram three times over, or 256 frames of a 512² CT.
 * A decode holds a few times this at its peak (PNG: inflated rows, RGBA, gray), so a worker stays
 * within a few hundred MB.
 */
export const DEFAULT_MAX_DECODED_BYTES = 128 * 2 ** 20

/** Cap on the inflated size of a deflated DICOM's attributes before Pixel Data (the header read first). */
export const MAX_DICOM_HEADER_INFLATE = 4 * 2 ** 20

/** Bytes allowed after Pixel Data in a deflated DICOM (trailing attributes, padding), beyond what the header declares. */
export const DICOM_TRAILER_BYTES = 2 ** 20

/** ITU-R BT.601 luma weights: the Y of JPEG/JFIF, used for every RGB → gray conversion. */
export const LUMA = { r: 0.299, g: 0.587, b: 0.114 } as const
