// Recognises a decrypted image by its magic bytes, as the peer's upload pipeline does, so the
// viewer picks the right decoder: PNG (RFC 2083 §3.1), JPEG (SOI marker, ITU T.81 §B.1.1.2) or
// DICOM Part 10 ('DICM' after the 128-byte preamble, PS3.10 §7.1).

/** The formats the viewer shows. */
export type ImageFormat = 'png' | 'jpeg' | 'dicom'

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

/** The format of `bytes`, or null when it is none of the three. */
export function sniffFormat (bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png'
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg'
  if (bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d) return 'dicom'
  return null
}

/** MIME type for a Blob of that format (createImageBitmap sniffs anyway; this keeps it honest). */
export function mimeOf (format: ImageFormat): string {
  return format === 'png' ? 'image/png' : format === 'jpeg' ? 'image/jpeg' : 'application/dicom'
}
