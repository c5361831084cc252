// A deterministic ZIP writer (APPNOTE 6.3.10, "stored" entries only): the same entries in the same
// order always give the same bytes, because every timestamp is the fixed DOS date below and no
// field depends on the clock or the platform. Entries are written as they are given, so a
// download streams; the central directory follows the last entry. Zip64 (APPNOTE §4.3.14–4.3.15,
// §4.5.3) is written only where a field would overflow: an entry of 4 GiB or more, one whose
// local header starts at or past 4 GiB, 65,535 entries or more, or a central directory past or
// over 4 GiB. A smaller archive has no Zip64 record at all, byte for byte as before.
import { crc32 } from 'node:zlib'

/** One file of the archive. */
export interface ZipEntry { name: string, data: Uint8Array }

/** 1980-01-01 00:00:00, the earliest DOS date: every entry carries it, so no clock leaks in. */
const DOS_TIME = 0
const DOS_DATE = (0 << 9) | (1 << 5) | 1
/** Version 2.0 (APPNOTE §4.4.3.2: stored files); 4.5 once a Zip64 field is used. */
const VERSION = 20
const VERSION_ZIP64 = 45
/** General purpose flag bit 11: names are UTF-8. Method 0: stored. */
const UTF8_FLAG = 0x0800
/** A 32-bit field holding this says "see the Zip64 field" (APPNOTE §4.4.8, §4.4.16). */
const MAX_U32 = 0xffffffff
/** A 16-bit entry count holding this says "see the Zip64 end record" (APPNOTE §4.4.21). */
const MAX_U16 = 0xffff
/** Header ID of the Zip64 extended information extra field (APPNOTE §4.5.3). */
const ZIP64_EXTRA_ID = 0x0001

/** Entries an archive holds before its end record needs Zip64. */
export const ZIP64_ENTRY_THRESHOLD = MAX_U16

interface Written { name: Uint8Array, crc: number, size: number, offset: number }

/** Node's crc32 takes at most 2^32 - 1 bytes at once (its length is 32-bit): larger data goes in parts. */
const CRC_PART = 2 ** 30

/** CRC-32 (ISO 3309, as APPNOTE §4.4.7 asks) of data of any length. */
function crcOf (data: Uint8Array): number {
  let crc = 0
  for (let at = 0; at < data.length; at += CRC_PART) crc = crc32(data.subarray(at, at + CRC_PART), crc)
  return crc
}

/** Writes a value of up to 2^53 as a little-endian 64-bit field. */
function setU64 (v: DataView, at: number, n: number): void {
  v.setBigUint64(at, BigInt(n), true)
}

/**
 * The local file header. An entry of 4 GiB or more puts 0xFFFFFFFF in both sizes and carries
 * the Zip64 extra field with both (APPNOTE §4.5.3: the local header's field MUST hold both).
 */
function localHeader (w: Written): Uint8Array {
  const zip64 = w.size >= MAX_U32
  const extra = zip64 ? 4 + 16 : 0
  const b = new Uint8Array(30 + w.name.length + extra)
  const v = new DataView(b.buffer)
  v.setUint32(0, 0x04034b50, true)
  v.setUint16(4, zip64 ? VERSION_ZIP64 : VERSION, true)
  v.setUint16(6, UTF8_FLAG, true)
  v.setUint16(8, 0, true)
  v.setUint16(10, DOS_TIME, true)
  v.setUint16(12, DOS_DATE, true)
  v.setUint32(14, w.crc, true)
  v.setUint32(18, zip64 ? MAX_U32 : w.size, true)
  v.setUint32(22, zip64 ? MAX_U32 : w.size, true)
  v.setUint16(26, w.name.length, true)
  v.setUint16(28, extra, true)
  b.set(w.name, 30)
  if (zip64) {
    const at = 30 + w.name.length
    v.setUint16(at, ZIP64_EXTRA_ID, true)
    v.setUint16(at + 2, 16, true)
    setU64(v, at + 4, w.size)
    setU64(v, at + 12, w.size)
  }
  return b
}

/**
 * The central directory header. Each field that overflows holds 0xFFFFFFFF and its value goes
 * in the Zip64 extra field, in APPNOTE §4.5.3's order (original size, compressed size, local
 * header offset), and only those fields.
 */
function centralHeader (w: Written): Uint8Array {
  const bigSize = w.size >= MAX_U32
  const bigOffset = w.offset >= MAX_U32
  const fields = (bigSize ? 2 : 0) + (bigOffset ? 1 : 0)
  const extra = fields === 0 ? 0 : 4 + 8 * fields
  const b = new Uint8Array(46 + w.name.length + extra)
  const v = new DataView(b.buffer)
  const version = fields === 0 ? VERSION : VERSION_ZIP64
  v.setUint32(0, 0x02014b50, true)
  v.setUint16(4, version, true)
  v.setUint16(6, version, true)
  v.setUint16(8, UTF8_FLAG, true)
  v.setUint16(10, 0, true)
  v.setUint16(12, DOS_TIME, true)
  v.setUint16(14, DOS_DATE, true)
  v.setUint32(16, w.crc, true)
  v.setUint32(20, bigSize ? MAX_U32 : w.size, true)
  v.setUint32(24, bigSize ? MAX_U32 : w.size, true)
  v.setUint16(28, w.name.length, true)
  v.setUint16(30, extra, true)
  // Comment, disk number, internal and external attributes: all zero.
  v.setUint32(42, bigOffset ? MAX_U32 : w.offset, true)
  b.set(w.name, 46)
  if (fields > 0) {
    let at = 46 + w.name.length
    v.setUint16(at, ZIP64_EXTRA_ID, true)
    v.setUint16(at + 2, 8 * fields, true)
    at += 4
    if (bigSize) { setU64(v, at, w.size); setU64(v, at + 8, w.size); at += 16 }
    if (bigOffset) setU64(v, at, w.offset)
  }
  return b
}

/**
 * The end of the archive: the end of central directory record, preceded when a count, size or
 * offset overflows it by the Zip64 end of central directory record (APPNOTE §4.3.14) and its
 * locator (§4.3.15), at `offset + size`. The classic record then holds 0xFFFF / 0xFFFFFFFF in
 * exactly the fields that overflow, as Info-ZIP writes it.
 */
function endRecords (count: number, size: number, offset: number): Uint8Array {
  const zip64 = count >= MAX_U16 || size >= MAX_U32 || offset >= MAX_U32
  const b = new Uint8Array((zip64 ? 56 + 20 : 0) + 22)
  const v = new DataView(b.buffer)
  let at = 0
  if (zip64) {
    v.setUint32(0, 0x06064b50, true)
    // Size of the rest of this record (APPNOTE §4.3.14.1: not counting these first 12 bytes).
    setU64(v, 4, 56 - 12)
    v.setUint16(12, VERSION_ZIP64, true)
    v.setUint16(14, VERSION_ZIP64, true)
    // This disk and the central directory's: both 0.
    setU64(v, 24, count)
    setU64(v, 32, count)
    setU64(v, 40, size)
    setU64(v, 48, offset)
    v.setUint32(56, 0x07064b50, true)
    // Disk of the Zip64 end record 0; its offset; one disk in all.
    setU64(v, 64, offset + size)
    v.setUint32(72, 1, true)
    at = 76
  }
  v.setUint32(at, 0x06054b50, true)
  v.setUint16(at + 8, Math.min(count, MAX_U16), true)
  v.setUint16(at + 10, Math.min(count, MAX_U16), true)
  v.setUint32(at + 12, Math.min(size, MAX_U32), true)
  v.setUint32(at + 16, Math.min(offset, MAX_U32), true)
  return b
}

/** Yields the archive of `entries`, in their order, piece by piece. */
export async function * zipStream (entries: Iterable<ZipEntry> | AsyncIterable<ZipEntry>): AsyncGenerator<Uint8Array> {
  const written: Written[] = []
  let offset = 0
  for await (const e of entries) {
    const w: Written = { name: new TextEncoder().encode(e.name), crc: crcOf(e.data), size: e.data.length, offset }
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
  yield endRecords(written.length, size, offset)
}
