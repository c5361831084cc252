// A deterministic ZIP writer (APPNOTE 6.3.10, "stored" entries only): the same entries in the same
// order always give the same bytes, because every timestamp is the fixed DOS date below and no
// field depends on the clock or the platform. Entries are written as they are given, so a
// download streams; the central directory follows the last entry. Zip64 is not written: an
// archive stays under 4 GiB and 65,535 entries (ZIP_TOO_LARGE).
import { crc32 } from 'node:zlib'
import { MedichainError } from '../../protocol/errors.ts'

/** One file of the archive. */
export interface ZipEntry { name: string, data: Uint8Array }

/** Thrown when an archive would need Zip64. */
export class ZipTooLargeError extends MedichainError {
  constructor (what: string) {
    super('ZIP_TOO_LARGE', `the export is too large for one archive: ${what}`)
    this.name = 'ZipTooLargeError'
  }
}

/** 1980-01-01 00:00:00, the earliest DOS date: every entry carries it, so no clock leaks in. */
const DOS_TIME = 0
const DOS_DATE = (0 << 9) | (1 << 5) | 1
/** Version 2.0, general purpose flag bit 11 (names are UTF-8), method 0 (stored). */
const VERSION = 20
const UTF8_FLAG = 0x0800
const MAX_U32 = 0xffffffff
/** The most entries an archive without Zip64 holds. */
export const MAX_ZIP_ENTRIES = 0xffff

interface Written { name: Uint8Array, crc: number, size: number, offset: number }

function localHeader (w: Written): Uint8Array {
  const b = new Uint8Array(30 + w.name.length)
  const v = new DataView(b.buffer)
  v.setUint32(0, 0x04034b50, true)
  v.setUint16(4, VERSION, true)
  v.setUint16(6, UTF8_FLAG, true)
  v.setUint16(8, 0, true)
  v.setUint16(10, DOS_TIME, true)
  v.setUint16(12, DOS_DATE, true)
  v.setUint32(14, w.crc, true)
  v.setUint32(18, w.size, true)
  v.setUint32(22, w.size, true)
  v.setUint16(26, w.name.length, true)
  v.setUint16(28, 0, true)
  b.set(w.name, 30)
  return b
}

function centralHeader (w: Written): Uint8Array {
  const b = new Uint8Array(46 + w.name.length)
  const v = new DataView(b.buffer)
  v.setUint32(0, 0x02014b50, true)
  v.setUint16(4, VERSION, true)
  v.setUint16(6, VERSION, true)
  v.setUint16(8, UTF8_FLAG, true)
  v.setUint16(10, 0, true)
  v.setUint16(12, DOS_TIME, true)
  v.setUint16(14, DOS_DATE, true)
  v.setUint32(16, w.crc, true)
  v.setUint32(20, w.size, true)
  v.setUint32(24, w.size, true)
  v.setUint16(28, w.name.length, true)
  // Extra, comment, disk number, internal and external attributes: all zero.
  v.setUint32(42, w.offset, true)
  b.set(w.name, 46)
  return b
}

function endRecord (count: number, size: number, offset: number): Uint8Array {
  const b = new Uint8Array(22)
  const v = new DataView(b.buffer)
  v.setUint32(0, 0x06054b50, true)
  v.setUint16(8, count, true)
  v.setUint16(10, count, true)
  v.setUint32(12, size, true)
  v.setUint32(16, offset, true)
  return b
}

/** Yields the archive of `entries`, in their order, piece by piece. */
export async function * zipStream (entries: Iterable<ZipEntry> | AsyncIterable<ZipEntry>): AsyncGenerator<Uint8Array> {
  const written: Written[] = []
  let offset = 0
  for await (const e of entries) {
    if (written.length === MAX_ZIP_ENTRIES) throw new ZipTooLargeError(`more than ${MAX_ZIP_ENTRIES} files`)
    const w: Written = { name: new TextEncoder().encode(e.name), crc: crc32(e.data), size: e.data.length, offset }
    if (offset + 30 + w.name.length + w.size > MAX_U32) throw new ZipTooLargeError('over 4 GiB')
    const header = localHeader(w)
    yield header
    yield e.data
    offset += header.length + e.data.length
    written.push(w)
  }
  let size = 0
  for (const w of written) {
    const c = centralHeader(w)
    size += c.length
    yield c
  }
  yield endRecord(written.length, size, offset)
}
