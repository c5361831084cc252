// The abnormal-region mask of a detect-strange result, carried inside the result PNG itself as a
// private ancillary chunk (ISO/IEC 15948 §5.4: lower-case first and second letters, so every PNG
// reader skips it), so the mask is stored, encrypted and shared exactly as the result image is,
// under the same key and CID. The DICOM Segmentation object (node/dicom/results/ai-segmentation.ts) is
// made from it: the mask the model drew, never one guessed back from the overlay's colours.
import { crc32, deflateSync, inflateSync } from 'node:zlib'
import { CorruptImageError } from '../errors.ts'

/**
 * The chunk type: ancillary (m), private (c), reserved bit clear (S), safe to copy (g). "mcSg":
 * Medichain segmentation.
 */
export const RESULT_MASK_CHUNK = 'mcSg'

/** Version byte of the chunk's layout: 1 = width u32, height u32, deflated packed bits. */
const MASK_VERSION = 1

/** Bytes before the first chunk: the PNG signature (ISO/IEC 15948 §5.2). */
const SIGNATURE_BYTES = 8

/** A binary mask at the source image's size: `bits` row-major, first pixel in bit 0 of byte 0 (PS3.5 §8.1.1). */
export interface ResultMask { width: number, height: number, bits: Uint8Array }

/** Packs a label image (non-zero = in the mask) into bits, least significant bit first (PS3.5 §8.1.1). */
export function packMask (labels: ArrayLike<number>, width: number, height: number): ResultMask {
  if (labels.length !== width * height) throw new CorruptImageError(`mask of ${labels.length} pixels for ${width}×${height}`)
  const bits = new Uint8Array(Math.ceil(labels.length / 8))
  for (let i = 0; i < labels.length; i++) if (labels[i] !== 0) bits[i >> 3] |= 1 << (i & 7)
  return { width, height, bits }
}

/** Whether pixel `i` (row-major) of a mask is set. */
export function maskBit (mask: ResultMask, i: number): boolean {
  return (mask.bits[i >> 3] & (1 << (i & 7))) !== 0
}

/** The chunks of a PNG: type, data offset and length; CORRUPT_IMAGE when a length runs past the end. */
function * chunks (png: Uint8Array): Generator<{ type: string, at: number, length: number }> {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  let at = SIGNATURE_BYTES
  while (at + 12 <= png.length) {
    const length = view.getUint32(at)
    const type = String.fromCharCode(png[at + 4], png[at + 5], png[at + 6], png[at + 7])
    if (at + 12 + length > png.length) throw new CorruptImageError('a PNG chunk runs past the end of the file')
    yield { type, at: at + 8, length }
    if (type === 'IEND') return
    at += 12 + length
  }
}

/** One PNG chunk: length, type, data, CRC-32 of type and data (ISO/IEC 15948 §5.3). */
function chunk (type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

/** The PNG `png` with `mask` in a chunk just before IEND. */
export function withResultMask (png: Uint8Array, mask: ResultMask): Uint8Array {
  const end = [...chunks(png)].find(c => c.type === 'IEND')
  if (end === undefined) throw new CorruptImageError('the PNG has no IEND chunk')
  const packed = new Uint8Array(deflateSync(mask.bits))
  const body = new Uint8Array(9 + packed.length)
  const head = new DataView(body.buffer)
  body[0] = MASK_VERSION
  head.setUint32(1, mask.width)
  head.setUint32(5, mask.height)
  body.set(packed, 9)
  const iend = end.at - 8
  const out = new Uint8Array(png.length + 12 + body.length)
  out.set(png.subarray(0, iend))
  out.set(chunk(RESULT_MASK_CHUNK, body), iend)
  out.set(png.subarray(iend), iend + 12 + body.length)
  return out
}

/** Whether a result PNG carries its mask (a walk over the chunk headers, nothing decoded). */
export function hasResultMask (png: Uint8Array): boolean {
  for (const c of chunks(png)) if (c.type === RESULT_MASK_CHUNK) return true
  return false
}

/**
 * The mask a result PNG carries, or undefined when it carries none (a result made before masks
 * were kept, or by another analyser). CORRUPT_IMAGE when the chunk's CRC, version or size is wrong.
 */
export function readResultMask (png: Uint8Array): ResultMask | undefined {
  for (const c of chunks(png)) {
    if (c.type !== RESULT_MASK_CHUNK) continue
    const stored = new DataView(png.buffer, png.byteOffset + c.at + c.length, 4).getUint32(0)
    if (crc32(png.subarray(c.at - 4, c.at + c.length)) !== stored) throw new CorruptImageError('the result mask chunk fails its CRC')
    const data = png.subarray(c.at, c.at + c.length)
    if (data.length < 9 || data[0] !== MASK_VERSION) throw new CorruptImageError('the result mask chunk has an unknown layout')
    const head = new DataView(data.buffer, data.byteOffset, 9)
    const width = head.getUint32(1)
    const height = head.getUint32(5)
    const want = Math.ceil((width * height) / 8)
    let bits: Uint8Array
    try {
      bits = new Uint8Array(inflateSync(data.subarray(9), { maxOutputLength: Math.max(want, 1) }))
    } catch {
      throw new CorruptImageError('the result mask chunk does not inflate to its size')
    }
    if (width < 1 || height < 1 || bits.length !== want) throw new CorruptImageError('the result mask chunk does not match its size')
    return { width, height, bits }
  }
  return undefined
}
