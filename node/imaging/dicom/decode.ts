// DICOM pixel decoding for native little-endian transfer syntaxes, and for JPEG Lossless, JPEG-LS
// and JPEG Baseline through codecs.ts: the first frame of an 8- or 16-bit, signed or unsigned,
// MONOCHROME1/2 (or 8-bit RGB) image, through the Modality LUT
// (rescale) and optionally the VOI window, into one gray plane in [0, 1]. A lookup table indexed
// by the raw sample applies bit masking, sign extension, rescale, window and inversion at once.
import type { DataSet } from 'dicom-parser'
import { COMPRESSED_DECODABLE_TS, NATIVE_LITTLE_ENDIAN_TS, TS } from '../constants.ts'
import { CorruptImageError, UnsupportedPixelFormatError, UnsupportedTransferSyntaxError } from '../errors.ts'
import { checkBudget } from '../limits.ts'
import type { ImageLimits } from '../limits.ts'
import { decodeCompressedFrame } from './codecs.ts'
import { encapsulatedFrame } from './encapsulated.ts'
import { guarded, parseDicomFile, readHeader, readTransferSyntax } from './header.ts'
import type { DicomHeader } from './header.ts'
import { toGray } from '../raster/luma.ts'
import type { DecodedImage } from '../types.ts'

/**
 * How stored values become [0, 1]. 'bits': the full range the stored bits can hold maps to
 * [0, 1] (linear, so it round-trips and keeps every value); 'window': the file's VOI window
 * (PS3.3 §C.11.2.1.2.1), falling back to 'bits' when the file has none.
 */
export type DicomScaling = 'bits' | 'window'

/**
 * The pixel budget of a DICOM header: Rows × Columns × Frames × Samples per Pixel × Bits
 * Allocated, every frame counted (a deflated data set inflates them all). Throws PIXEL_BUDGET or,
 * for nonsense values, CORRUPT_IMAGE.
 */
export function checkDicomBudget (h: DicomHeader, limits: ImageLimits): void {
  if (h.bitsAllocated !== 8 && h.bitsAllocated !== 16) throw new UnsupportedPixelFormatError(`DICOM Bits Allocated ${h.bitsAllocated} is not supported (8 or 16)`)
  if (!Number.isSafeInteger(h.samplesPerPixel) || h.samplesPerPixel < 1 || h.samplesPerPixel > 4) throw new CorruptImageError('DICOM Samples per Pixel must be 1 to 4')
  checkBudget({ width: h.columns, height: h.rows, frames: h.frames, samples: h.samplesPerPixel, bytesPerSample: h.bitsAllocated / 8 }, limits)
}

/** Throws for pixel layouts we do not decode or headers that contradict themselves. */
export function checkLayout (h: DicomHeader, limits: ImageLimits): void {
  checkDicomBudget(h, limits)
  if (h.bitsAllocated !== 8 && h.bitsAllocated !== 16) throw new UnsupportedPixelFormatError(`DICOM Bits Allocated ${h.bitsAllocated} is not supported (8 or 16)`)
  if (h.bitsStored < 1 || h.bitsStored > h.bitsAllocated || h.highBit < h.bitsStored - 1 || h.highBit >= h.bitsAllocated) {
    throw new CorruptImageError(`DICOM Bits Stored ${h.bitsStored} / High Bit ${h.highBit} do not fit Bits Allocated ${h.bitsAllocated}`)
  }
  if (h.pixelRepresentation !== 0 && h.pixelRepresentation !== 1) throw new CorruptImageError('DICOM Pixel Representation must be 0 or 1')
  if (!Number.isInteger(h.frames) || h.frames < 1) throw new CorruptImageError('DICOM Number of Frames must be a positive integer')
  if (h.slope === 0) throw new CorruptImageError('DICOM Rescale Slope is zero')
  const mono = h.photometric === 'MONOCHROME1' || h.photometric === 'MONOCHROME2'
  const rgb = h.photometric === 'RGB' && h.samplesPerPixel === 3 && h.bitsAllocated === 8
  if (!(mono && h.samplesPerPixel === 1) && !rgb) {
    throw new UnsupportedPixelFormatError(`DICOM ${h.photometric} with ${h.samplesPerPixel} samples per pixel is not supported`)
  }
}

/** The first frame's bytes, checked to lie inside the Pixel Data element and the file. */
function firstFrame (dataSet: DataSet, h: DicomHeader): Uint8Array {
  const element = dataSet.elements.x7fe00010
  if (element === undefined) throw new CorruptImageError('DICOM has no Pixel Data (7FE0,0010)')
  if (element.encapsulatedPixelData === true || element.hadUndefinedLength === true) {
    throw new CorruptImageError('DICOM Pixel Data is encapsulated under a native transfer syntax')
  }
  const frameBytes = h.rows * h.columns * h.samplesPerPixel * (h.bitsAllocated / 8)
  const bytes = dataSet.byteArray
  if (element.length < frameBytes || element.dataOffset + frameBytes > bytes.length) {
    throw new CorruptImageError('DICOM Pixel Data is shorter than one frame (truncated file?)')
  }
  return bytes.subarray(element.dataOffset, element.dataOffset + frameBytes)
}

/** Modality-unit bounds of the stored range: [lo, hi] after rescale, lo < hi. */
function modalityRange (h: DicomHeader): [number, number] {
  const signed = h.pixelRepresentation === 1
  const storedLo = signed ? -(2 ** (h.bitsStored - 1)) : 0
  const storedHi = signed ? 2 ** (h.bitsStored - 1) - 1 : 2 ** h.bitsStored - 1
  const a = storedLo * h.slope + h.intercept
  const b = storedHi * h.slope + h.intercept
  return a < b ? [a, b] : [b, a]
}

/** Lookup table from every raw sample value to its normalised intensity. */
function buildLut (h: DicomHeader, scaling: DicomScaling): Float32Array {
  const lut = new Float32Array(2 ** h.bitsAllocated)
  const shift = h.highBit - h.bitsStored + 1
  const mask = 2 ** h.bitsStored - 1
  const signBit = 2 ** (h.bitsStored - 1)
  const [lo, hi] = modalityRange(h)
  const win = scaling === 'window' ? h.window : undefined
  const invert = h.photometric === 'MONOCHROME1'
  for (let raw = 0; raw < lut.length; raw++) {
    let v = (raw >>> shift) & mask
    if (h.pixelRepresentation === 1 && v >= signBit) v -= 2 * signBit
    const x = v * h.slope + h.intercept
    let t: number
    if (win === undefined) {
      t = (x - lo) / (hi - lo)
    } else {
      // VOI linear function (PS3.3 §C.11.2.1.2.1), scaled to [0, 1].
      t = (x - (win.center - 0.5)) / Math.max(win.width - 1, 1) + 0.5
    }
    t = Math.min(1, Math.max(0, t))
    lut[raw] = invert ? 1 - t : t
  }
  return lut
}

/** The window in normalised units under 'bits' scaling, inverted for MONOCHROME1. */
function normalisedWindow (h: DicomHeader): { center: number, width: number } | undefined {
  if (h.window === undefined) return undefined
  const [lo, hi] = modalityRange(h)
  const center = (h.window.center - lo) / (hi - lo)
  return { center: h.photometric === 'MONOCHROME1' ? 1 - center : center, width: h.window.width / (hi - lo) }
}

function monochrome (frame: Uint8Array, h: DicomHeader, scaling: DicomScaling): Float32Array {
  const lut = buildLut(h, scaling)
  const count = h.rows * h.columns
  const out = new Float32Array(count)
  if (h.bitsAllocated === 8) {
    for (let i = 0; i < count; i++) out[i] = lut[frame[i]]
    return out
  }
  // Native data is little endian (PS3.5 §A.1, §A.2); DataView reads it on any host.
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  for (let i = 0; i < count; i++) out[i] = lut[view.getUint16(i * 2, true)]
  return out
}

function rgb (frame: Uint8Array, h: DicomHeader): Float32Array {
  const count = h.rows * h.columns
  if (h.planarConfiguration !== 1) return toGray(frame, count, 3, true, 255)
  // Planar: all R, then all G, then all B (PS3.3 §C.7.6.3.1.3); interleave once.
  const interleaved = new Uint8Array(count * 3)
  for (let i = 0; i < count; i++) {
    interleaved[i * 3] = frame[i]
    interleaved[i * 3 + 1] = frame[count + i]
    interleaved[i * 3 + 2] = frame[2 * count + i]
  }
  return toGray(interleaved, count, 3, true, 255)
}

/** Options of decodeDicom. */
export interface DicomDecodeOptions {
  limits: ImageLimits
  scaling: DicomScaling
}

/**
 * The header as the decoded frame is read: JPEG Baseline colour (YBR_FULL or YBR_FULL_422 in the
 * file, PS3.5 §8.2.1) comes out of the codec as RGB.
 */
export function decodedLayout (h: DicomHeader): DicomHeader {
  const ybr = h.photometric === 'YBR_FULL' || h.photometric === 'YBR_FULL_422'
  return h.transferSyntax === TS.jpegBaseline && h.samplesPerPixel === 3 && ybr ? { ...h, photometric: 'RGB', planarConfiguration: 0 } : h
}

/** Throws UNSUPPORTED_TRANSFER_SYNTAX unless decodeDicom reads the file's transfer syntax. */
export function checkDecodable (transferSyntax: string): void {
  if (!NATIVE_LITTLE_ENDIAN_TS.has(transferSyntax) && !COMPRESSED_DECODABLE_TS.has(transferSyntax)) {
    throw new UnsupportedTransferSyntaxError(`DICOM transfer syntax ${transferSyntax} is not supported (uncompressed little endian, JPEG Lossless, JPEG-LS or JPEG Baseline)`)
  }
}

/**
 * Decodes the first frame of a Part 10 file; throws UNSUPPORTED_TRANSFER_SYNTAX,
 * UNSUPPORTED_PIXEL_FORMAT, CORRUPT_IMAGE or PIXEL_BUDGET. A compressed file needs loadCodecs()
 * (codecs.ts) awaited on this thread first.
 */
export function decodeDicom (bytes: Uint8Array, opts: DicomDecodeOptions): DecodedImage {
  checkDecodable(readTransferSyntax(bytes))
  const checkHeader = (h: DicomHeader): void => checkDicomBudget(h, opts.limits)
  const { dataSet, transferSyntax } = parseDicomFile(bytes, { headerOnly: false, requireNative: false, checkHeader })
  let h = decodedLayout(readHeader(dataSet, transferSyntax))
  checkLayout(h, opts.limits)
  let frame: Uint8Array
  if (COMPRESSED_DECODABLE_TS.has(transferSyntax)) {
    const decoded = decodeCompressedFrame(transferSyntax, encapsulatedFrame(dataSet, h, 0), h)
    frame = decoded.bytes
    h = decoded.header
  } else {
    frame = firstFrame(dataSet, h)
  }
  const isRgb = h.photometric === 'RGB'
  const windowed = opts.scaling === 'window' && h.window !== undefined
  const image: DecodedImage = {
    format: 'dicom',
    width: h.columns,
    height: h.rows,
    bitsStored: h.bitsStored,
    pixels: isRgb ? rgb(frame, h) : monochrome(frame, h, opts.scaling),
    modality: h.modality
  }
  const window = isRgb || windowed ? undefined : normalisedWindow(h)
  if (window !== undefined) image.window = window
  return image
}

/**
 * Frame `index` (0-based) of a compressed file, decoded to native little-endian stored values as
 * WADO-RS frames serves them; the budget of that one frame is checked first. Needs loadCodecs().
 */
export function decodeStoredFrame (dataSet: DataSet, transferSyntax: string, index: number, limits: ImageLimits): Uint8Array {
  const h = decodedLayout(readHeader(dataSet, transferSyntax))
  checkLayout({ ...h, frames: 1 }, limits)
  return guarded('DICOM encapsulated frame unreadable', () => decodeCompressedFrame(transferSyntax, encapsulatedFrame(dataSet, h, index), h).bytes)
}
