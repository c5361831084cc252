// A tiny DICOM Part 10 reader for the viewer: decryption happens in the browser, so parsing must
// too. It reads only what display needs (PS3.10 §7.1 file meta, then the data set in implicit or
// explicit VR little endian, PS3.5 §7.1) and hands back the first frame's stored samples for
// native 8/16-bit MONOCHROME1/2 images. Everything else is refused with a typed error.
import { MedichainError } from '../../../../protocol/errors.ts'

/** Implicit VR Little Endian (PS3.5 §A.1) and Explicit VR Little Endian (PS3.5 §A.2). */
export const IMPLICIT_LE = '1.2.840.10008.1.2'
export const EXPLICIT_LE = '1.2.840.10008.1.2.1'

/** What the viewer needs from a DICOM file: pixel layout, rescale, default window, first frame. */
export interface DicomImage {
  rows: number
  columns: number
  bitsAllocated: 8 | 16
  bitsStored: number
  highBit: number
  /** Pixel Representation 1: two's complement samples. */
  signed: boolean
  photometric: 'MONOCHROME1' | 'MONOCHROME2'
  /** Modality LUT: value = stored × slope + intercept (PS3.3 §C.11.1). */
  slope: number
  intercept: number
  /** The file's first VOI window (PS3.3 §C.11.2), in modality units, when it has one. */
  window: { center: number, width: number } | null
  modality: string
  /** Stored samples of the first frame, rows × columns, row-major. */
  frame: Uint8Array | Uint16Array
}

/** Thrown for bytes that are not a well-formed DICOM Part 10 file (truncated, bad lengths). */
export class CorruptDicomError extends MedichainError {
  constructor (message: string) {
    super('CORRUPT_IMAGE', message)
    this.name = 'CorruptDicomError'
  }
}

/** Thrown for a valid file this viewer cannot show (compressed, colour, big endian, 32-bit). */
export class UnsupportedDicomError extends MedichainError {
  constructor (code: 'UNSUPPORTED_TRANSFER_SYNTAX' | 'UNSUPPORTED_PIXEL_FORMAT', message: string) {
    super(code, message)
    this.name = 'UnsupportedDicomError'
  }
}

/** VRs with 2 reserved bytes and a 32-bit length in explicit VR (PS3.5 §7.1.2, Table 7.1-1). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'])
const UNDEFINED = 0xffffffff
const ITEM = 0xfffee000
const ITEM_END = 0xfffee00d
const SEQUENCE_END = 0xfffee0dd
const PIXEL_DATA = 0x7fe00010
/** Nesting deeper than this is refused: real files nest a handful of levels. */
const MAX_DEPTH = 32

/** The tags read, as group << 16 | element. */
const TAG = {
  transferSyntax: 0x00020010,
  modality: 0x00080060,
  samplesPerPixel: 0x00280002,
  photometric: 0x00280004,
  rows: 0x00280010,
  columns: 0x00280011,
  bitsAllocated: 0x00280100,
  bitsStored: 0x00280101,
  highBit: 0x00280102,
  pixelRepresentation: 0x00280103,
  windowCenter: 0x00281050,
  windowWidth: 0x00281051,
  intercept: 0x00281052,
  slope: 0x00281053
} as const

interface Element { tag: number, vr: string | null, offset: number, length: number }

/** A little-endian cursor over the file that refuses to read past its end. */
class Cursor {
  readonly bytes: Uint8Array
  readonly view: DataView
  pos: number
  constructor (bytes: Uint8Array, pos: number) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.pos = pos
  }

  need (n: number): void {
    if (this.pos + n > this.bytes.length) throw new CorruptDicomError('the DICOM file is truncated')
  }

  u16 (): number { this.need(2); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v }
  u32 (): number { this.need(4); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v }
  tag (): number { const g = this.u16(); return ((g << 16) | this.u16()) >>> 0 }
  vr (): string { this.need(2); const s = String.fromCharCode(this.bytes[this.pos], this.bytes[this.pos + 1]); this.pos += 2; return s }
}

/** Reads one element header and leaves the cursor at its value. */
function readHeader (c: Cursor, explicit: boolean): Element {
  const tag = c.tag()
  // Item and delimitation tags never carry a VR (PS3.5 §7.5).
  if (!explicit || (tag >>> 16) === 0xfffe) return { tag, vr: null, length: c.u32(), offset: c.pos }
  const vr = c.vr()
  if (!/^[A-Z]{2}$/.test(vr)) throw new CorruptDicomError('an element has no valid value representation')
  if (LONG_VRS.has(vr)) {
    c.u16()
    return { tag, vr, length: c.u32(), offset: c.pos }
  }
  return { tag, vr, length: c.u16(), offset: c.pos }
}

/** Skips a value: defined length, or an undefined-length sequence of items (PS3.5 §7.5). */
function skipValue (c: Cursor, el: Element, explicit: boolean, depth: number): void {
  if (el.length !== UNDEFINED) {
    c.need(el.length)
    c.pos += el.length
    return
  }
  if (depth > MAX_DEPTH) throw new CorruptDicomError('the DICOM sequences nest too deeply')
  for (;;) {
    const item = readHeader(c, false)
    if (item.tag === SEQUENCE_END) return
    if (item.tag !== ITEM) throw new CorruptDicomError('an undefined-length sequence holds something other than items')
    if (item.length !== UNDEFINED) {
      c.need(item.length)
      c.pos += item.length
      continue
    }
    for (;;) {
      const nested = readHeader(c, explicit)
      if (nested.tag === ITEM_END) break
      skipValue(c, nested, explicit, depth + 1)
    }
  }
}

function text (bytes: Uint8Array, el: Element): string {
  let s = ''
  for (let i = el.offset; i < el.offset + el.length; i++) s += String.fromCharCode(bytes[i])
  return s.replace(/[\0 ]+$/, '').trim()
}

/** First value of a multi-valued decimal string (DS/IS, PS3.5 §6.2); undefined if not a number. */
function firstNumber (s: string | undefined): number | undefined {
  if (s === undefined) return undefined
  const v = Number(s.split('\\')[0].trim())
  return s.trim() === '' || !Number.isFinite(v) ? undefined : v
}

/** Parses the file meta group (explicit VR LE) and returns the transfer syntax and where the data set starts. */
function readMeta (bytes: Uint8Array): { syntax: string, start: number } {
  if (bytes.length < 132 || bytes[128] !== 0x44 || bytes[129] !== 0x49 || bytes[130] !== 0x43 || bytes[131] !== 0x4d) {
    throw new CorruptDicomError('not a DICOM Part 10 file: no "DICM" at byte 128')
  }
  const c = new Cursor(bytes, 132)
  let syntax: string | undefined
  while (c.pos + 4 <= bytes.length && c.view.getUint16(c.pos, true) === 0x0002) {
    const el = readHeader(c, true)
    if (el.length === UNDEFINED) throw new CorruptDicomError('a file meta element has an undefined length')
    c.need(el.length)
    if (el.tag === TAG.transferSyntax) syntax = text(bytes, el)
    c.pos += el.length
  }
  if (syntax === undefined) throw new CorruptDicomError('the file meta has no Transfer Syntax UID (0002,0010)')
  return { syntax, start: c.pos }
}

/** Reads the data set up to Pixel Data, keeping the values of the tags in TAG. */
function readDataSet (bytes: Uint8Array, start: number, explicit: boolean): { values: Map<number, Element>, pixels: Element } {
  const c = new Cursor(bytes, start)
  const values = new Map<number, Element>()
  const wanted = new Set<number>(Object.values(TAG))
  while (c.pos < bytes.length) {
    const el = readHeader(c, explicit)
    if (el.tag === PIXEL_DATA) {
      if (el.length === UNDEFINED) throw new UnsupportedDicomError('UNSUPPORTED_TRANSFER_SYNTAX', 'encapsulated (compressed) pixel data cannot be shown')
      return { values, pixels: el }
    }
    if (wanted.has(el.tag) && el.length !== UNDEFINED) {
      c.need(el.length)
      values.set(el.tag, el)
    }
    skipValue(c, el, explicit, 0)
  }
  throw new CorruptDicomError('the DICOM file has no Pixel Data (7FE0,0010)')
}

/** Parses a DICOM Part 10 file for display; throws CORRUPT_IMAGE or UNSUPPORTED_* with a clear message. */
export function parseDicom (bytes: Uint8Array): DicomImage {
  const { syntax, start } = readMeta(bytes)
  if (syntax !== IMPLICIT_LE && syntax !== EXPLICIT_LE) {
    throw new UnsupportedDicomError('UNSUPPORTED_TRANSFER_SYNTAX', `transfer syntax ${syntax} cannot be shown here (only uncompressed little endian)`)
  }
  const { values, pixels } = readDataSet(bytes, start, syntax === EXPLICIT_LE)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const us = (tag: number, fallback?: number): number => {
    const el = values.get(tag)
    if (el === undefined || el.length < 2) {
      if (fallback !== undefined) return fallback
      throw new CorruptDicomError(`the DICOM file lacks (${(tag >>> 16).toString(16).padStart(4, '0')},${(tag & 0xffff).toString(16).padStart(4, '0')})`)
    }
    return view.getUint16(el.offset, true)
  }
  const str = (tag: number): string | undefined => {
    const el = values.get(tag)
    return el === undefined ? undefined : text(bytes, el)
  }
  const rows = us(TAG.rows)
  const columns = us(TAG.columns)
  const bitsAllocated = us(TAG.bitsAllocated)
  const bitsStored = us(TAG.bitsStored, bitsAllocated)
  const highBit = us(TAG.highBit, bitsStored - 1)
  const samples = us(TAG.samplesPerPixel, 1)
  const photometric = str(TAG.photometric) ?? 'MONOCHROME2'
  if (rows < 1 || columns < 1) throw new CorruptDicomError('the image has no rows or columns')
  if (bitsAllocated !== 8 && bitsAllocated !== 16) throw new UnsupportedDicomError('UNSUPPORTED_PIXEL_FORMAT', `${bitsAllocated}-bit samples cannot be shown (8 or 16)`)
  if (samples !== 1 || (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2')) {
    throw new UnsupportedDicomError('UNSUPPORTED_PIXEL_FORMAT', `${photometric} with ${samples} samples per pixel cannot be shown (grayscale only)`)
  }
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    throw new CorruptDicomError(`Bits Stored ${bitsStored} and High Bit ${highBit} do not fit ${bitsAllocated}-bit samples`)
  }
  const slope = firstNumber(str(TAG.slope)) ?? 1
  if (slope === 0) throw new CorruptDicomError('Rescale Slope is zero')
  const center = firstNumber(str(TAG.windowCenter))
  const width = firstNumber(str(TAG.windowWidth))
  const frameBytes = rows * columns * (bitsAllocated / 8)
  if (pixels.length < frameBytes || pixels.offset + frameBytes > bytes.length) throw new CorruptDicomError('the pixel data is shorter than one frame')
  return {
    rows,
    columns,
    bitsAllocated,
    bitsStored,
    highBit,
    signed: us(TAG.pixelRepresentation, 0) === 1,
    photometric,
    slope,
    intercept: firstNumber(str(TAG.intercept)) ?? 0,
    window: center !== undefined && width !== undefined && width >= 1 ? { center, width } : null,
    modality: str(TAG.modality) ?? 'OT',
    frame: frameOf(bytes, pixels.offset, rows * columns, bitsAllocated)
  }
}

/**
 * The frame's samples; 16-bit data is copied when its offset is odd, since typed arrays need
 * alignment. A Uint16Array reads in platform order, which is little endian on every platform a
 * browser ships for, matching the transfer syntaxes accepted above.
 */
function frameOf (bytes: Uint8Array, offset: number, count: number, bits: 8 | 16): Uint8Array | Uint16Array {
  if (bits === 8) return bytes.subarray(offset, offset + count)
  const at = bytes.byteOffset + offset
  if (at % 2 === 0) return new Uint16Array(bytes.buffer, at, count)
  const copy = new Uint8Array(count * 2)
  copy.set(bytes.subarray(offset, offset + count * 2))
  return new Uint16Array(copy.buffer)
}
