// PNG decoding (ISO/IEC 15948): a structural walk of the chunks first (signature, IHDR, size
// limits, IEND present), then pngjs for inflate, unfiltering and CRCs. Gray, gray+alpha, RGB,
// RGBA and palette images at 1–16 bits become one gray plane.
import { inflateSync } from 'node:zlib'
import { PNG } from 'pngjs'
import { PNG_SIGNATURE } from '../constants.ts'
import { CorruptImageError, describeThrown, UnsupportedFormatError } from '../errors.ts'
import { checkBudget } from '../limits.ts'
import type { ImageLimits } from '../limits.ts'
import { toGray } from './luma.ts'
import type { DecodedImage } from '../types.ts'

/** The IHDR fields we act on (ISO/IEC 15948 §11.2.2). */
export interface PngHeader {
  width: number
  height: number
  depth: number
  colorType: number
  interlaced: boolean
}

/** Bit depths allowed for each colour type (ISO/IEC 15948 §11.2.2, Table 11.1). */
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] }
/** Samples per pixel for each colour type. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }
const MAX_CHUNK = 0x7fffffff

function u32 (b: Uint8Array, at: number): number {
  return ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3]
}

function parseIhdr (bytes: Uint8Array, at: number): PngHeader {
  const header = {
    width: u32(bytes, at),
    height: u32(bytes, at + 4),
    depth: bytes[at + 8],
    colorType: bytes[at + 9],
    interlaced: bytes[at + 12] === 1
  }
  const depths = DEPTHS[header.colorType]
  if (depths === undefined || !depths.includes(header.depth)) throw new CorruptImageError(`PNG colour type ${header.colorType} with bit depth ${header.depth} is not valid`)
  if (bytes[at + 10] !== 0 || bytes[at + 11] !== 0 || bytes[at + 12] > 1) throw new CorruptImageError('PNG compression, filter or interlace method is not valid')
  return header
}

/**
 * Walks the chunk list without inflating anything: the signature, IHDR first, every chunk inside
 * the file, at least one IDAT and a final IEND (so a truncated file is caught here). Returns the
 * header and the IDAT payloads.
 */
export function readPngStructure (bytes: Uint8Array): { header: PngHeader, idat: Uint8Array[] } {
  for (let i = 0; i < PNG_SIGNATURE.length; i++) {
    if (bytes[i] !== PNG_SIGNATURE[i]) throw new UnsupportedFormatError('not a PNG file')
  }
  let header: PngHeader | null = null
  const idat: Uint8Array[] = []
  let at = PNG_SIGNATURE.length
  while (at + 12 <= bytes.length) {
    const length = u32(bytes, at)
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7])
    if (length > MAX_CHUNK || at + 12 + length > bytes.length) throw new CorruptImageError(`PNG chunk ${JSON.stringify(type)} runs past the end of the file`)
    if (header === null && (type !== 'IHDR' || length !== 13)) throw new CorruptImageError('PNG does not start with a 13-byte IHDR chunk')
    if (type === 'IHDR' && header === null) header = parseIhdr(bytes, at + 8)
    else if (type === 'IDAT') idat.push(bytes.subarray(at + 8, at + 8 + length))
    else if (type === 'IEND') {
      if (idat.length === 0 || header === null) throw new CorruptImageError('PNG has no image data')
      return { header, idat }
    }
    at += 12 + length
  }
  throw new CorruptImageError('PNG is truncated: no IEND chunk')
}

/** An upper bound on an Adam7-interlaced image's inflated size: the plain size plus per-row overhead. */
function interlacedBound (h: PngHeader): number {
  const rowBytes = Math.ceil((h.width * CHANNELS[h.colorType] * h.depth) / 8)
  return rowBytes * h.height + 4 * h.height + 64
}

/**
 * Throws PIXEL_BUDGET when the IHDR declares more than `limits` allow. pngjs always hands back
 * four samples per pixel (RGBA), two bytes each above 8 bits, so that is what the budget counts.
 */
export function checkPngBudget (header: PngHeader, limits: ImageLimits): void {
  checkBudget({ width: header.width, height: header.height, frames: 1, samples: 4, bytesPerSample: header.depth > 8 ? 2 : 1 }, limits)
}

/** Decodes a PNG into one gray frame in [0, 1]; throws CORRUPT_IMAGE or PIXEL_BUDGET. */
export function decodePng (bytes: Uint8Array, limits: ImageLimits): DecodedImage {
  const { header, idat } = readPngStructure(bytes)
  checkPngBudget(header, limits)
  // Inflate once ourselves, bounded by what the IHDR declares, before pngjs does: pngjs inflates interlaced data without an
  // output cap (a deflate bomb), and on some broken streams it returned an image built from
  // uninitialised memory instead of failing (seen intermittently with garbage zlib data).
  try {
    const bound = header.interlaced ? interlacedBound(header) : Math.ceil((header.width * CHANNELS[header.colorType] * header.depth) / 8) * header.height + header.height
    const inflated = inflateSync(Buffer.concat(idat), { maxOutputLength: bound })
    if (!header.interlaced && inflated.length !== bound) throw new Error(`expected ${bound} bytes of image data, got ${inflated.length}`)
  } catch (err) {
    throw new CorruptImageError(`PNG image data does not inflate to its size: ${describeThrown(err)}`)
  }
  let png: ReturnType<typeof PNG.sync.read>
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true })
  } catch (err) {
    throw new CorruptImageError(`PNG does not decode: ${describeThrown(err)}`)
  }
  // pngjs hands back RGBA: 8-bit samples in a Buffer, or 16-bit ones in a Uint16Array with
  // skipRescale. Palette entries are always 8-bit RGB.
  const samples: ArrayLike<number> = png.data
  const max = header.colorType === 3 ? 255 : 2 ** header.depth - 1
  const color = header.colorType === 2 || header.colorType === 3 || header.colorType === 6
  const count = header.width * header.height
  if (samples.length < count * 4) throw new CorruptImageError('PNG decoded to fewer samples than its header declares')
  return {
    format: 'png',
    width: header.width,
    height: header.height,
    bitsStored: header.colorType === 3 ? 8 : header.depth,
    pixels: toGray(samples, count, 4, color, max),
    modality: 'OT'
  }
}
