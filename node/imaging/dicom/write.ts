// A small DICOM Part 10 writer (PS3.10 §7.1): preamble, 'DICM', the file meta group in explicit
// VR little endian with its group length, then the data set in explicit or implicit VR little
// endian. It writes one grayscale image with the attributes our loaders and dcmtk need, and the
// synthetic patient tags the no-PHI tests look for. Not a general DICOM toolkit.
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION, SOP_CLASS, TS } from '../constants.ts'
import { InvalidRequestError } from '../../../protocol/errors.ts'

/** Synthetic patient tags (never real PHI in this project; tests look for them). */
export interface DicomPatient {
  /** Patient's Name (0010,0010), PN, e.g. 'SYNTH^PATIENT^0001'. */
  name: string
  /** Patient ID (0010,0020), LO. */
  id: string
  /** Patient's Birth Date (0010,0030), DA as YYYYMMDD. */
  birthDate: string
  /** Patient's Sex (0010,0040): M, F or O. */
  sex?: string
}

/** Synthetic study tags, written when given: what an image card (node/imaging/dicom/card.ts) and the catalogue read. */
export interface DicomStudy {
  /** Study Date (0008,0020), DA as YYYYMMDD, and Study Time (0008,0030), TM as HHMMSS. */
  date?: string
  time?: string
  /** Study Description (0008,1030) and Series Description (0008,103E), LO. */
  description?: string
  seriesDescription?: string
}

/** What encodeDicom writes. `pixels` holds stored values, rows × columns × frames of them. */
export interface DicomWriteInit {
  rows: number
  columns: number
  bitsAllocated: 8 | 16
  /** Defaults to bitsAllocated; High Bit is always bitsStored − 1. */
  bitsStored?: number
  pixels: Uint8Array | Int8Array | Uint16Array | Int16Array
  frames?: number
  photometric?: 'MONOCHROME1' | 'MONOCHROME2'
  rescale?: { slope: number, intercept: number }
  window?: { center: number, width: number }
  modality?: string
  sopClassUid?: string
  sopInstanceUid: string
  studyInstanceUid: string
  seriesInstanceUid: string
  patient?: DicomPatient
  /** Series Number (0020,0011) and Instance Number (0020,0013); 1 when absent. */
  seriesNumber?: number
  instanceNumber?: number
  study?: DicomStudy
  /** 'explicit' (default) or 'implicit' VR little endian. */
  transferSyntax?: 'explicit' | 'implicit'
  /**
   * Writes encapsulated Pixel Data (PS3.5 §A.4) under this compressed transfer syntax instead of
   * `pixels`, e.g. a JPEG baseline frame; used to test that loaders refuse it.
   */
  encapsulated?: { transferSyntaxUid: string, frames: Uint8Array[] }
}

interface Element { tag: number, vr: string, value: Uint8Array }

/** VRs whose explicit encoding has 2 reserved bytes and a 32-bit length (PS3.5 §7.1.2). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV'])
const UNDEFINED_LENGTH = 0xffffffff
const ascii = new TextEncoder()

/** A string value padded to even length: UI with NUL, text with a space (PS3.5 §6.2). */
function str (tag: number, vr: string, value: string): Element {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new InvalidRequestError(`DICOM value for ${tag.toString(16)} must be printable ASCII`)
  const padded = value.length % 2 === 0 ? value : value + (vr === 'UI' ? '\0' : ' ')
  return { tag, vr, value: ascii.encode(padded) }
}

function us (tag: number, value: number): Element {
  const b = new Uint8Array(2)
  new DataView(b.buffer).setUint16(0, value, true)
  return { tag, vr: 'US', value: b }
}

function ul (tag: number, value: number): Element {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, value, true)
  return { tag, vr: 'UL', value: b }
}

/** A decimal string (DS, at most 16 characters; PS3.5 §6.2). */
function ds (tag: number, value: number): Element {
  if (!Number.isFinite(value)) throw new InvalidRequestError(`DICOM DS value for ${tag.toString(16)} must be finite`)
  let text = String(value)
  for (let digits = 12; text.length > 16 && digits > 1; digits--) text = String(Number(value.toPrecision(digits)))
  return str(tag, 'DS', text)
}

function header (tag: number, vr: string, length: number, explicit: boolean): Uint8Array {
  const long = !explicit || LONG_VRS.has(vr)
  const out = new Uint8Array(long ? (explicit ? 12 : 8) : 8)
  const view = new DataView(out.buffer)
  view.setUint16(0, tag >>> 16, true)
  view.setUint16(2, tag & 0xffff, true)
  if (!explicit) {
    view.setUint32(4, length, true)
  } else {
    out[4] = vr.charCodeAt(0)
    out[5] = vr.charCodeAt(1)
    if (long) view.setUint32(8, length, true)
    else view.setUint16(6, length, true)
  }
  return out
}

function encodeElements (elements: Element[], explicit: boolean): Uint8Array[] {
  const parts: Uint8Array[] = []
  for (const e of [...elements].sort((a, b) => a.tag - b.tag)) {
    parts.push(header(e.tag, e.vr, e.value.length, explicit), e.value)
  }
  return parts
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** Encapsulated Pixel Data: an empty Basic Offset Table item, one item per frame, a sequence delimiter. */
function encapsulatedPixelData (frames: Uint8Array[]): Uint8Array[] {
  const item = (tag: number, body: Uint8Array): Uint8Array[] => {
    const padded = body.length % 2 === 0 ? body : concat([body, new Uint8Array(1)])
    return [header(tag, '', padded.length, false), padded]
  }
  return [
    header(0x7fe00010, 'OB', UNDEFINED_LENGTH, true),
    ...item(0xfffee000, new Uint8Array(0)),
    ...frames.flatMap(f => item(0xfffee000, f)),
    header(0xfffee0dd, '', 0, false)
  ]
}

/** The file meta group (PS3.10 §7.1), always explicit VR little endian, led by its group length. */
function fileMeta (init: DicomWriteInit, transferSyntaxUid: string): Uint8Array {
  const body = concat(encodeElements([
    { tag: 0x00020001, vr: 'OB', value: Uint8Array.of(0, 1) },
    str(0x00020002, 'UI', init.sopClassUid ?? SOP_CLASS.secondaryCapture),
    str(0x00020003, 'UI', init.sopInstanceUid),
    str(0x00020010, 'UI', transferSyntaxUid),
    str(0x00020012, 'UI', IMPLEMENTATION_CLASS_UID),
    str(0x00020013, 'SH', IMPLEMENTATION_VERSION)
  ], true))
  return concat([...encodeElements([ul(0x00020000, body.length)], true), body])
}

function checkInit (init: DicomWriteInit, bitsStored: number, frames: number): void {
  const { rows, columns, bitsAllocated } = init
  for (const [name, v] of [['rows', rows], ['columns', columns], ['frames', frames]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffff) throw new InvalidRequestError(`DICOM ${name} must be an integer in 1..65535`)
  }
  if (!Number.isInteger(bitsStored) || bitsStored < 1 || bitsStored > bitsAllocated) throw new InvalidRequestError('DICOM bitsStored must be in 1..bitsAllocated')
  if (init.encapsulated === undefined) {
    const perSample = init.pixels.BYTES_PER_ELEMENT * 8
    if (perSample !== bitsAllocated) throw new InvalidRequestError(`DICOM pixels are ${perSample}-bit but bitsAllocated is ${bitsAllocated}`)
    if (init.pixels.length !== rows * columns * frames) throw new InvalidRequestError('DICOM pixels must hold rows × columns × frames values')
  }
}

/** Encodes one DICOM Part 10 file. Throws INVALID on inconsistent input. */
export function encodeDicom (init: DicomWriteInit): Uint8Array {
  const bitsStored = init.bitsStored ?? init.bitsAllocated
  const frames = init.frames ?? 1
  checkInit(init, bitsStored, frames)
  const explicit = init.encapsulated !== undefined || init.transferSyntax !== 'implicit'
  const tsUid = init.encapsulated?.transferSyntaxUid ?? (explicit ? TS.explicitLittle : TS.implicitLittle)
  const signed = init.pixels instanceof Int8Array || init.pixels instanceof Int16Array
  const elements: Element[] = [
    str(0x00080008, 'CS', 'DERIVED\\SECONDARY'),
    str(0x00080016, 'UI', init.sopClassUid ?? SOP_CLASS.secondaryCapture),
    str(0x00080018, 'UI', init.sopInstanceUid),
    str(0x00080060, 'CS', init.modality ?? 'OT'),
    str(0x00080064, 'CS', 'SYN'), // Conversion Type: synthetic image (PS3.3 §C.8.6.1)
    str(0x0020000d, 'UI', init.studyInstanceUid),
    str(0x0020000e, 'UI', init.seriesInstanceUid),
    str(0x00200011, 'IS', String(init.seriesNumber ?? 1)),
    str(0x00200013, 'IS', String(init.instanceNumber ?? 1)),
    us(0x00280002, 1),
    str(0x00280004, 'CS', init.photometric ?? 'MONOCHROME2'),
    us(0x00280010, init.rows),
    us(0x00280011, init.columns),
    us(0x00280100, init.bitsAllocated),
    us(0x00280101, bitsStored),
    us(0x00280102, bitsStored - 1),
    us(0x00280103, signed ? 1 : 0)
  ]
  if (frames > 1) elements.push(str(0x00280008, 'IS', String(frames)))
  if (init.patient !== undefined) {
    elements.push(str(0x00100010, 'PN', init.patient.name), str(0x00100020, 'LO', init.patient.id), str(0x00100030, 'DA', init.patient.birthDate))
    if (init.patient.sex !== undefined) elements.push(str(0x00100040, 'CS', init.patient.sex))
  }
  const study = init.study ?? {}
  if (study.date !== undefined) elements.push(str(0x00080020, 'DA', study.date))
  if (study.time !== undefined) elements.push(str(0x00080030, 'TM', study.time))
  if (study.description !== undefined) elements.push(str(0x00081030, 'LO', study.description))
  if (study.seriesDescription !== undefined) elements.push(str(0x0008103e, 'LO', study.seriesDescription))
  if (init.window !== undefined) elements.push(ds(0x00281050, init.window.center), ds(0x00281051, init.window.width))
  if (init.rescale !== undefined) elements.push(ds(0x00281052, init.rescale.intercept), ds(0x00281053, init.rescale.slope), str(0x00281054, 'LO', 'US'))
  const parts = [new Uint8Array(128), ascii.encode('DICM'), fileMeta(init, tsUid), ...encodeElements(elements, explicit)]
  if (init.encapsulated !== undefined) {
    parts.push(...encapsulatedPixelData(init.encapsulated.frames))
  } else {
    const p = init.pixels
    const raw = new Uint8Array(p.buffer, p.byteOffset, p.byteLength)
    const body = raw.length % 2 === 0 ? raw : concat([raw, new Uint8Array(1)])
    // Native pixel data is little endian (PS3.5 §A.1); typed arrays are host order, so swap on a big-endian host.
    parts.push(...encodeElements([{ tag: 0x7fe00010, vr: init.bitsAllocated === 16 ? 'OW' : 'OB', value: littleEndian(body, init.bitsAllocated) }], explicit))
  }
  return concat(parts)
}

const HOST_LITTLE = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1

function littleEndian (bytes: Uint8Array, bits: number): Uint8Array {
  if (HOST_LITTLE || bits === 8) return bytes
  const out = bytes.slice()
  for (let i = 0; i + 1 < out.length; i += 2) { out[i] = bytes[i + 1]; out[i + 1] = bytes[i] }
  return out
}
