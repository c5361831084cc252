// Reading an uploaded DICOM file from disk without reading all of its Pixel Data. decodeDicom
// needs the attributes before Pixel Data, the first frame and, to check the data set's structure,
// whatever follows Pixel Data: those three pieces are spliced into one buffer that decodes,
// previews and fails exactly as the whole file would. A 105 MB multi-frame CT is then about half
// a megabyte read after the upload's last byte, where the whole file was copied into a fresh
// buffer (docs/benchmarks.md, upload). Anything unusual (a deflated data set, Pixel Data without
// a length, shorter than one frame or running past the end of the file, attributes that do not
// parse) is read whole, so the loader's verdict on it is the one it always gave.
import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import type { DataSet } from 'dicom-parser'
import { COMPRESSED_DECODABLE_TS, DICOM_PREAMBLE_BYTES, DICOM_PREFIX, NATIVE_LITTLE_ENDIAN_TS, TS } from '../constants.ts'
import { parseDicomFile, readHeader, readTransferSyntax } from './header.ts'
import type { DicomHeader } from './header.ts'

/** Files up to this size are read whole: splicing saves nothing worth a second code path. */
const WHOLE_BELOW_BYTES = 4 * 2 ** 20
/** The first read; doubled while the attributes before Pixel Data are not all in it. */
const FIRST_READ_BYTES = 64 * 2 ** 10
/** Past this many bytes of attributes without Pixel Data, the file is read whole. */
const MAX_HEAD_BYTES = 16 * 2 ** 20

/** Sizes of the reads (the defaults above); tests make them small to splice small files. */
export interface DicomReadOptions { wholeBelow?: number, firstRead?: number }

/** Reads exactly `length` bytes at `position` into `into` at `offset`; throws if the file is shorter. */
async function readExactly (fh: FileHandle, into: Uint8Array, offset: number, length: number, position: number): Promise<void> {
  for (let at = 0; at < length;) {
    const { bytesRead } = await fh.read(into, offset + at, length - at, position + at)
    if (bytesRead === 0) throw new Error('the file is shorter than its size said')
    at += bytesRead
  }
}

async function readWhole (fh: FileHandle): Promise<Uint8Array> {
  return new Uint8Array(await fh.readFile())
}

/** A file's first bytes through Pixel Data's element header, parsed; 'whole' when it must be read whole. */
type Head = { bytes: Uint8Array, dataSet: DataSet, transferSyntax: string } | 'whole'

const isPart10 = (bytes: Uint8Array): boolean =>
  String.fromCharCode(...bytes.subarray(DICOM_PREAMBLE_BYTES, DICOM_PREAMBLE_BYTES + 4)) === DICOM_PREFIX

/**
 * The prefix that holds every attribute before Pixel Data. dicom-parser reads elements in order,
 * so a parse of a prefix that reaches Pixel Data's tag saw the very elements the whole file's
 * parse sees before it; one that throws or stops short needs more bytes.
 */
async function readHead (fh: FileHandle, size: number, firstRead: number): Promise<Head> {
  let bytes = new Uint8Array(0)
  for (let want = Math.min(size, firstRead); ; want = Math.min(size, want * 2)) {
    const more = new Uint8Array(want)
    more.set(bytes)
    await readExactly(fh, more, bytes.length, want - bytes.length, bytes.length)
    bytes = more
    if (!isPart10(bytes)) return 'whole'
    try {
      // A deflated data set inflates as one stream: only the whole file says what it holds.
      if (readTransferSyntax(bytes) === TS.deflatedExplicitLittle) return 'whole'
      const { dataSet, transferSyntax } = parseDicomFile(bytes, { headerOnly: true, requireNative: false })
      if (dataSet.elements.x7fe00010 !== undefined) return { bytes, dataSet, transferSyntax }
    } catch {
      // Cut inside an attribute (or not a valid file): read on.
    }
    if (want >= size || want >= MAX_HEAD_BYTES) return 'whole'
  }
}

/** Bytes of one frame as decodeDicom reads it. */
const frameBytesOf = (h: DicomHeader): number => h.rows * h.columns * h.samplesPerPixel * (h.bitsAllocated / 8)

/**
 * The spliced file: attributes, Pixel Data's header with its length set to one frame, the first
 * frame, then the bytes after Pixel Data. null when the file is read whole instead.
 */
async function splice (fh: FileHandle, size: number, head: Exclude<Head, 'whole'>): Promise<Uint8Array | null> {
  const { bytes, dataSet, transferSyntax } = head
  // Compressed frames we decode are read whole (the instance cap bounds them); a transfer syntax
  // we do not read refuses the file alone: the prefix gives the same error.
  if (COMPRESSED_DECODABLE_TS.has(transferSyntax)) return null
  if (!NATIVE_LITTLE_ENDIAN_TS.has(transferSyntax)) return bytes
  let h: DicomHeader
  try {
    h = readHeader(dataSet, transferSyntax)
  } catch {
    return null
  }
  const pixel = dataSet.elements.x7fe00010
  if (pixel === undefined || pixel.hadUndefinedLength === true) return null
  const frame = frameBytesOf(h)
  const end = pixel.dataOffset + pixel.length
  if (!Number.isSafeInteger(frame) || frame < 1 || frame > pixel.length || end > size) return null
  // The value's length is the 4 bytes before it, in explicit VR (OB, OW) and in implicit VR alike.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (pixel.dataOffset < 4 || view.getUint32(pixel.dataOffset - 4, true) !== pixel.length) return null
  const tail = size - end
  const out = new Uint8Array(pixel.dataOffset + frame + tail)
  out.set(bytes.subarray(0, pixel.dataOffset))
  await readExactly(fh, out, pixel.dataOffset, frame, pixel.dataOffset)
  await readExactly(fh, out, pixel.dataOffset + frame, tail, end)
  new DataView(out.buffer).setUint32(pixel.dataOffset - 4, frame, true)
  // Attributes after Pixel Data override those before it in a full parse: if they change the
  // frame's geometry, the spliced frame is not the one the whole file would decode.
  if (tail > 0 && !sameFrame(out, transferSyntax, h)) return null
  return out
}

function sameFrame (spliced: Uint8Array, transferSyntax: string, h: DicomHeader): boolean {
  try {
    const full = readHeader(parseDicomFile(spliced, { headerOnly: false, requireNative: true }).dataSet, transferSyntax)
    return frameBytesOf(full) === frameBytesOf(h) && full.rows === h.rows && full.columns === h.columns && full.samplesPerPixel === h.samplesPerPixel && full.bitsAllocated === h.bitsAllocated
  } catch {
    // The structure after Pixel Data does not parse: the splice fails the same way.
    return true
  }
}

/**
 * The bytes of the file at `path` for loadImage: the whole file, or for a large native DICOM its
 * attributes, first frame and trailing attributes spliced together, which loadImage and the card
 * preview treat exactly as the whole file. Throws what the file system throws.
 */
export async function readImageFile (path: string, opts: DicomReadOptions = {}): Promise<Uint8Array> {
  const fh = await open(path, 'r')
  try {
    const { size } = await fh.stat()
    if (size <= (opts.wholeBelow ?? WHOLE_BELOW_BYTES)) return await readWhole(fh)
    const head = await readHead(fh, size, opts.firstRead ?? FIRST_READ_BYTES)
    if (head === 'whole') return await readWhole(fh)
    return await splice(fh, size, head) ?? await readWhole(fh)
  } finally {
    await fh.close()
  }
}

/**
 * The first bytes of a DICOM file through Pixel Data's element header, which a header-only parse
 * reads exactly as it reads the whole file; the whole file when that cannot be told (deflated,
 * no Pixel Data, not Part 10).
 */
export async function readDicomHead (path: string, opts: DicomReadOptions = {}): Promise<Uint8Array> {
  const fh = await open(path, 'r')
  try {
    const { size } = await fh.stat()
    if (size <= (opts.wholeBelow ?? WHOLE_BELOW_BYTES)) return await readWhole(fh)
    const head = await readHead(fh, size, opts.firstRead ?? FIRST_READ_BYTES)
    return head === 'whole' ? await readWhole(fh) : head.bytes
  } finally {
    await fh.close()
  }
}
