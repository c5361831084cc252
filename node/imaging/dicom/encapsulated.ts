// Encapsulated Pixel Data (PS3.5 §A.4): one frame's compressed bit stream, gathered from its
// fragments with dicom-parser's helpers, and the frame header of that stream (ITU T.81 §B.2.2,
// T.87 §5.2.2), read before any codec runs so that what a codec allocates is what the DICOM
// header declared and the pixel budget allowed.
import dicomParser from 'dicom-parser'
import type { DataSet } from 'dicom-parser'
import { CorruptImageError } from '../errors.ts'
import type { DicomHeader } from './header.ts'

/** The bit stream of frame `index` (0-based) of encapsulated Pixel Data; throws CORRUPT_IMAGE. */
export function encapsulatedFrame (dataSet: DataSet, h: DicomHeader, index: number): Uint8Array {
  const element = dataSet.elements.x7fe00010
  if (element === undefined) throw new CorruptImageError('DICOM has no Pixel Data (7FE0,0010)')
  const fragments = element.fragments ?? []
  if (element.encapsulatedPixelData !== true || fragments.length === 0) throw new CorruptImageError('DICOM Pixel Data is not encapsulated under a compressed transfer syntax')
  const table = element.basicOffsetTable ?? []
  // One frame: every fragment is part of it (PS3.5 §A.4, the offset table may be empty).
  if (h.frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length)
  if (table.length > 0) return dicomParser.readEncapsulatedImageFrame(dataSet, element, index)
  if (fragments.length === h.frames) return dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, index, 1)
  // No offset table and frames across fragments: frames end at an EOI marker.
  return dicomParser.readEncapsulatedImageFrame(dataSet, element, index, dicomParser.createJPEGBasicOffsetTable(dataSet, element))
}

/** The frame header of a JPEG or JPEG-LS stream: sample precision, lines, samples per line, components. */
export interface StreamFrame { precision: number, rows: number, columns: number, components: number, marker: number }

/** SOFn markers (T.81 Table B.1: C0–CF but DHT C4, JPG C8, DAC CC) and JPEG-LS SOF55 (F7). */
const isSof = (m: number): boolean => (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7

/** Reads the frame header of `stream` without decoding it; throws CORRUPT_IMAGE when there is none. */
export function streamFrame (stream: Uint8Array): StreamFrame {
  if (stream.length < 4 || stream[0] !== 0xff || stream[1] !== 0xd8) throw new CorruptImageError('the compressed frame does not start with an SOI marker')
  let at = 2
  while (at + 4 <= stream.length) {
    if (stream[at] !== 0xff) throw new CorruptImageError('the compressed frame has a malformed marker segment')
    const marker = stream[at + 1]
    if (marker === 0xff) { at++; continue } // fill byte (T.81 §B.1.1.2)
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9)) { at += 2; continue }
    if (marker === 0xda) break
    const length = (stream[at + 2] << 8) | stream[at + 3]
    if (length < 2) throw new CorruptImageError('the compressed frame has a malformed marker segment')
    if (isSof(marker)) {
      if (length < 8 || at + 10 > stream.length) break
      return {
        marker,
        precision: stream[at + 4],
        rows: (stream[at + 5] << 8) | stream[at + 6],
        columns: (stream[at + 7] << 8) | stream[at + 8],
        components: stream[at + 9]
      }
    }
    at += 2 + length
  }
  throw new CorruptImageError('the compressed frame has no frame header')
}

/** Throws CORRUPT_IMAGE unless the stream's frame header agrees with the DICOM header. */
export function checkStreamFrame (f: StreamFrame, h: DicomHeader): void {
  if (f.rows !== h.rows || f.columns !== h.columns || f.components !== h.samplesPerPixel) {
    throw new CorruptImageError(`the compressed frame is ${f.columns}×${f.rows}×${f.components}, the DICOM header says ${h.columns}×${h.rows}×${h.samplesPerPixel}`)
  }
  if (f.precision < 2 || f.precision > h.bitsAllocated) throw new CorruptImageError(`the compressed frame's precision ${f.precision} does not fit Bits Allocated ${h.bitsAllocated}`)
}
