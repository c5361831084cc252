// Format detection by magic bytes (docs/design.md §5 step 1). It only looks: a real parse by the loader
// follows, so a file that merely starts right is still rejected later if it is not an image.
import { DICOM_PREAMBLE_BYTES, DICOM_PREFIX, JPEG_SOI, PNG_SIGNATURE } from './constants.ts'
import { UnsupportedFormatError } from './errors.ts'
import type { ImageFormat } from './types.ts'

function startsWith (bytes: Uint8Array, magic: Uint8Array, at = 0): boolean {
  if (bytes.length < at + magic.length) return false
  for (let i = 0; i < magic.length; i++) {
    if (bytes[at + i] !== magic[i]) return false
  }
  return true
}

const DICM = new TextEncoder().encode(DICOM_PREFIX)

/**
 * The format of a file from its first bytes (pass at least MIN_DETECT_BYTES when available):
 * 'DICM' at offset 128 (PS3.10 §7.1), the PNG signature, or a JPEG SOI marker. DICOM is tested
 * first because its 128-byte preamble may legally hold another format's header (PS3.10 §7.5).
 * Throws UNSUPPORTED_FORMAT for anything else, including empty input.
 */
export function detectFormat (firstBytes: Uint8Array): ImageFormat {
  if (startsWith(firstBytes, DICM, DICOM_PREAMBLE_BYTES)) return 'dicom'
  if (startsWith(firstBytes, PNG_SIGNATURE)) return 'png'
  if (startsWith(firstBytes, JPEG_SOI)) return 'jpeg'
  throw new UnsupportedFormatError(firstBytes.length === 0 ? 'the file is empty' : 'not a PNG, JPEG or DICOM Part 10 file')
}
