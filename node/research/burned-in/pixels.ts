// The pixel data of a DICOM data set as the burned-in text detector reads it (an 8-bit grayscale
// frame scaled to the frame's own range) and as the de-identifier redacts it (boxes set to the
// frame's lowest stored value). Only what this project writes and takes in: one frame, one sample
// per pixel, native (uncompressed) 8- or 16-bit data; anything else (a JPEG or JPEG-LS instance
// received over DIMSE among them: its pixels are not decoded here, and redacting them would mean
// encoding them again) cannot be checked and returns null, so the caller holds the image for a person.
import type { DicomDataset } from 'dcmjs'
import type { PixelBox } from './text-detector.ts'

/** One frame's geometry and stored values. */
export interface Frame { rows: number, columns: number, values: Uint8Array | Uint16Array | Int16Array }

function num (ds: DicomDataset, tag: string): number | null {
  const v = ds[tag]?.Value?.[0]
  return typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : null
}

/** Native little-endian transfer syntaxes (PS3.5 §A.1, §A.2, §A.5): dcmjs gives their pixel data as stored values. */
const NATIVE = new Set(['1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.1.99'])

/**
 * The single grayscale frame of `ds`, or null when it is not one this project can check; with the
 * file's `transferSyntax`, a compressed one is null too (its Pixel Data is a bit stream, not values).
 */
export function frameOf (ds: DicomDataset, transferSyntax?: unknown): Frame | null {
  if (transferSyntax !== undefined && !(typeof transferSyntax === 'string' && NATIVE.has(transferSyntax.replace(/\0+$/, '').trim()))) return null
  const rows = num(ds, '00280010')
  const columns = num(ds, '00280011')
  const bits = num(ds, '00280100')
  const samples = num(ds, '00280002') ?? 1
  const frames = num(ds, '00280008') ?? 1
  const signed = num(ds, '00280103') === 1
  const data = ds['7FE00010']?.Value?.[0]
  if (rows === null || columns === null || samples !== 1 || frames !== 1 || !(data instanceof ArrayBuffer)) return null
  const n = rows * columns
  if (bits === 8 && data.byteLength >= n) return { rows, columns, values: new Uint8Array(data, 0, n) }
  if (bits === 16 && data.byteLength >= 2 * n && data.byteLength % 2 === 0) return { rows, columns, values: signed ? new Int16Array(data, 0, n) : new Uint16Array(data, 0, n) }
  return null
}

/** The frame as 8-bit grayscale, its range stretched to 0..255. */
export function grayOf (f: Frame): Uint8Array {
  let lo = Infinity
  let hi = -Infinity
  for (const v of f.values) { if (v < lo) lo = v; if (v > hi) hi = v }
  const span = hi > lo ? hi - lo : 1
  return Uint8Array.from(f.values, v => Math.round(((v - lo) / span) * 255))
}

/** Sets every pixel inside `boxes` to the frame's lowest stored value (black), in place. */
export function blackOut (f: Frame, boxes: PixelBox[]): void {
  if (boxes.length === 0) return
  let lo = Infinity
  for (const v of f.values) if (v < lo) lo = v
  for (const b of boxes) {
    for (let y = b.y; y < Math.min(f.rows, b.y + b.height); y++) f.values.fill(lo, y * f.columns + b.x, y * f.columns + Math.min(f.columns, b.x + b.width))
  }
}
