// Turns decrypted image bytes into something a canvas can draw: PNG and JPEG through the
// browser's own decoder (createImageBitmap on a Blob: no URL, so no CSP img-src needed), DICOM
// through web/src/lib/images/dicom.ts and a window/level lookup table.
import { MedichainError } from '../../../protocol/errors.ts'
import { parseDicom } from '../lib/images/dicom.ts'
import type { DicomImage } from '../lib/images/dicom.ts'
import { mimeOf, sniffFormat } from '../lib/images/image-format.ts'
import { defaultWindow, renderGray, windowLut } from '../lib/images/window-level.ts'
import type { Window } from '../lib/images/window-level.ts'

/** A decoded image, ready to draw. */
export type Displayable =
  | { kind: 'dicom', width: number, height: number, dicom: DicomImage, window: Window }
  | { kind: 'bitmap', width: number, height: number, bitmap: ImageBitmap }

/** Decodes bytes by their magic; UNSUPPORTED_FORMAT for anything else. */
export async function decodeForDisplay (bytes: Uint8Array): Promise<Displayable> {
  const format = sniffFormat(bytes)
  if (format === null) throw new MedichainError('UNSUPPORTED_FORMAT', 'the image is not DICOM, PNG or JPEG')
  if (format === 'dicom') {
    const dicom = parseDicom(bytes)
    return { kind: 'dicom', width: dicom.columns, height: dicom.rows, dicom, window: defaultWindow(dicom) }
  }
  try {
    const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mimeOf(format) }))
    return { kind: 'bitmap', width: bitmap.width, height: bitmap.height, bitmap }
  } catch (err) {
    throw new MedichainError('CORRUPT_IMAGE', 'the browser could not decode this image', { cause: err })
  }
}

/**
 * A drawable source at the image's own size. DICOM is rendered under `window` (default: the
 * file's) into `reuse` when given, so dragging the window sliders does not allocate each time.
 */
export function drawable (d: Displayable, window?: Window, reuse?: HTMLCanvasElement): CanvasImageSource {
  if (d.kind === 'bitmap') return d.bitmap
  const canvas = reuse ?? document.createElement('canvas')
  if (canvas.width !== d.width || canvas.height !== d.height) {
    canvas.width = d.width
    canvas.height = d.height
  }
  const ctx = canvas.getContext('2d')
  if (ctx === null) throw new MedichainError('UNAVAILABLE', 'this browser cannot draw on a canvas')
  const pixels = ctx.createImageData(d.width, d.height)
  renderGray(d.dicom.frame, windowLut(d.dicom, window ?? d.window), pixels.data)
  ctx.putImageData(pixels, 0, 0)
  return canvas
}

/** Releases what a decoded image holds outside the JS heap. */
export function release (d: Displayable | null): void {
  if (d?.kind === 'bitmap') d.bitmap.close()
}
