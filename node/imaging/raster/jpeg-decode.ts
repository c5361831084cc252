// JPEG decoding (ITU-T T.81): a walk of the marker segments up to the first scan to read the frame
// header and check the size limits, then jpeg-js for the entropy decoding. Baseline, extended and
// progressive 8-bit images with one or three components become one gray plane.
import jpeg from 'jpeg-js'
import { JPEG_SOI } from '../constants.ts'
import { CorruptImageError, describeThrown, UnsupportedFormatError, UnsupportedPixelFormatError } from '../errors.ts'
import { checkBudget } from '../limits.ts'
import type { ImageLimits } from '../limits.ts'
import { toGray } from './luma.ts'
import type { DecodedImage } from '../types.ts'

/** The frame header fields we act on (T.81 §B.2.2). */
export interface JpegFrame {
  /** SOF marker code: 0xc0 baseline, 0xc1 extended, 0xc2 progressive, … */
  sof: number
  precision: number
  width: number
  height: number
  components: number
}

/** SOFn markers are 0xc0–0xcf except DHT (c4), JPG (c8) and DAC (cc) (T.81 Table B.1). */
function isSof (marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
}

/** Markers without a length field: TEM and RST0–7 (T.81 §B.1.1.3). */
function isStandalone (marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)
}

/**
 * Reads the frame header by walking marker segments from SOI to the first SOS. Every step moves
 * forward by at least two bytes, so corrupt input cannot loop. Throws CORRUPT_IMAGE when a segment
 * runs past the end or no frame header precedes the scan.
 */
export function readJpegFrame (bytes: Uint8Array): JpegFrame {
  for (let i = 0; i < JPEG_SOI.length; i++) {
    if (bytes[i] !== JPEG_SOI[i]) throw new UnsupportedFormatError('not a JPEG file')
  }
  let frame: JpegFrame | null = null
  let at = 2
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw new CorruptImageError('JPEG marker expected between segments')
    const marker = bytes[at + 1]
    if (marker === 0xff) { at += 1; continue } // fill byte (T.81 §B.1.1.2)
    if (isStandalone(marker)) { at += 2; continue }
    if (marker === 0xd9 || marker === 0xd8) throw new CorruptImageError('JPEG ends or restarts before its first scan')
    const length = (bytes[at + 2] << 8) | bytes[at + 3]
    if (length < 2 || at + 2 + length > bytes.length) throw new CorruptImageError('JPEG segment runs past the end of the file')
    if (isSof(marker)) {
      if (length < 8) throw new CorruptImageError('JPEG frame header is too short')
      frame = {
        sof: marker,
        precision: bytes[at + 4],
        height: (bytes[at + 5] << 8) | bytes[at + 6],
        width: (bytes[at + 7] << 8) | bytes[at + 8],
        components: bytes[at + 9]
      }
    }
    if (marker === 0xda) {
      if (frame === null) throw new CorruptImageError('JPEG scan starts before any frame header')
      return frame
    }
    at += 2 + length
  }
  throw new CorruptImageError('JPEG is truncated before its first scan')
}

/** Decodes a JPEG into one gray frame in [0, 1]; throws CORRUPT_IMAGE, PIXEL_BUDGET or UNSUPPORTED_PIXEL_FORMAT. */
export function decodeJpeg (bytes: Uint8Array, limits: ImageLimits): DecodedImage {
  const frame = readJpegFrame(bytes)
  // A zero height means it is given later in a DNL segment (T.81 §B.2.5); jpeg-js does not do that.
  // jpeg-js hands back three 8-bit samples per pixel (formatAsRGBA false), gray or colour, so
  // that is what the budget counts.
  checkBudget({ width: frame.width, height: frame.height, frames: 1, samples: 3, bytesPerSample: 1 }, limits)
  if (frame.sof > 0xc2) throw new UnsupportedPixelFormatError('only baseline, extended and progressive Huffman JPEG is supported')
  if (frame.precision !== 8) throw new UnsupportedPixelFormatError(`JPEG sample precision ${frame.precision} is not supported (8 only)`)
  if (frame.components !== 1 && frame.components !== 3) throw new UnsupportedPixelFormatError(`JPEG with ${frame.components} components is not supported`)
  let decoded: { width: number, height: number, data: Uint8Array }
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: Math.ceil(limits.maxPixels / 1e6),
      // This frame's RGB output plus per-component block buffers, with headroom.
      maxMemoryUsageInMB: Math.ceil((frame.width * frame.height * 8) / 2 ** 20) + 64
    })
  } catch (err) {
    throw new CorruptImageError(`JPEG does not decode: ${describeThrown(err)}`)
  }
  if (decoded.width !== frame.width || decoded.height !== frame.height) throw new CorruptImageError('JPEG decoded to other dimensions than its frame header')
  return {
    format: 'jpeg',
    width: decoded.width,
    height: decoded.height,
    bitsStored: 8,
    pixels: toGray(decoded.data, decoded.width * decoded.height, 3, frame.components === 3, 255),
    modality: 'OT'
  }
}
