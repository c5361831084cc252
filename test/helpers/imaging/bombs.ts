// Decompression bombs of issue 11.6, built in memory in milliseconds: deflate streams of zeros are
// made by repeating one fully flushed block (Z_FULL_FLUSH ends byte-aligned with a reset
// dictionary, so copies concatenate into one valid stream), never by compressing gigabytes.
import { constants as zlib, crc32, deflateRawSync } from 'node:zlib'
import { TS } from '../../../node/imaging/constants.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { encodeJpeg, toUint8 } from '../../../node/imaging/raster/encode.ts'

const MIB = 2 ** 20
const ZEROS_MIB = deflateRawSync(new Uint8Array(MIB), { finishFlush: zlib.Z_FULL_FLUSH })
const FINAL_EMPTY = deflateRawSync(new Uint8Array(0))

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** A raw deflate stream of `prefix` followed by `zeros` zero bytes. */
export function deflatedZeros (prefix: Uint8Array, zeros: number): Uint8Array {
  const parts = [deflateRawSync(prefix, { finishFlush: zlib.Z_FULL_FLUSH })]
  for (let left = zeros; left > 0; left -= MIB) {
    parts.push(left >= MIB ? ZEROS_MIB : deflateRawSync(new Uint8Array(left), { finishFlush: zlib.Z_FULL_FLUSH }))
  }
  parts.push(FINAL_EMPTY)
  return concat(parts)
}

function chunk (type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  out.set(new TextEncoder().encode(type), 4)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

/**
 * A valid PNG of `side`² 16-bit RGBA, all zeros: about 0.5 MB on the wire for 8192², 512 MiB of
 * samples once decoded. Its zlib stream carries the right Adler-32, so a decoder inflates it all.
 */
export function pngBomb (side = 8192): Uint8Array {
  const ihdr = new Uint8Array(13)
  const view = new DataView(ihdr.buffer)
  view.setUint32(0, side)
  view.setUint32(4, side)
  ihdr.set([16, 6, 0, 0, 0], 8)
  const raw = (1 + side * 8) * side // a filter byte per row, then 8 bytes per pixel
  const adler = new Uint8Array(4)
  new DataView(adler.buffer).setUint32(0, ((raw % 65521) * 65536 + 1) >>> 0) // Adler-32 of zeros (RFC 1950 §8)
  const zlibStream = concat([Uint8Array.of(0x78, 0x01), deflatedZeros(new Uint8Array(0), raw), adler])
  return concat([Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', zlibStream), chunk('IEND', new Uint8Array(0))])
}

/** A small real JPEG whose SOF is patched to declare `side`² pixels. */
export function jpegBomb (side = 8192): Uint8Array {
  const out = encodeJpeg(toUint8(new Float32Array(16 * 16).fill(0.5)), 16, 16)
  const sof = out.findIndex((b, i) => b === 0xff && (out[i + 1] === 0xc0 || out[i + 1] === 0xc2))
  const view = new DataView(out.buffer, out.byteOffset)
  view.setUint16(sof + 5, side)
  view.setUint16(sof + 7, side)
  return out
}

const UIDS = { sopInstanceUid: '2.25.71', studyInstanceUid: '2.25.72', seriesInstanceUid: '2.25.73' }

function findTag (bytes: Uint8Array, group: number, element: number, vr: string): number {
  const needle = [group & 0xff, group >> 8, element & 0xff, element >> 8, vr.charCodeAt(0), vr.charCodeAt(1)]
  for (let i = 132; i + needle.length <= bytes.length; i++) if (needle.every((b, k) => bytes[i + k] === b)) return i
  throw new Error(`tag (${group.toString(16)},${element.toString(16)}) not found`)
}

/** End of the file meta group: 132 + its group length element (12 bytes) + the length it gives. */
function metaEnd (file: Uint8Array): number {
  return 132 + 12 + new DataView(file.buffer, file.byteOffset).getUint32(140, true)
}

/**
 * A Deflated Explicit VR Little Endian DICOM (PS3.5 §A.5) declaring `side`² × 16 bits × `frames`
 * frames of zeros, Pixel Data included in the stream: 4096² × 12 frames is 384 MiB inflated from
 * under 0.5 MB.
 */
export function dicomBomb (side = 4096, frames = 12): Uint8Array {
  const small = encodeDicom({ rows: 2, columns: 2, frames, bitsAllocated: 16, bitsStored: 16, pixels: new Uint16Array(4 * frames), modality: 'CT', ...UIDS })
  const view = new DataView(small.buffer, small.byteOffset)
  view.setUint16(findTag(small, 0x28, 0x10, 'US') + 8, side, true)
  view.setUint16(findTag(small, 0x28, 0x11, 'US') + 8, side, true)
  const pixel = findTag(small, 0x7fe0, 0x10, 'OW')
  const pixelBytes = side * side * 2 * frames
  view.setUint32(pixel + 8, pixelBytes, true)
  const shell = encodeDicom({ rows: 1, columns: 1, bitsAllocated: 8, pixels: new Uint8Array(1), ...UIDS, encapsulated: { transferSyntaxUid: TS.deflatedExplicitLittle, frames: [] } })
  const meta = shell.subarray(0, metaEnd(shell))
  return concat([meta, deflatedZeros(small.subarray(metaEnd(small), pixel + 12), pixelBytes)])
}
