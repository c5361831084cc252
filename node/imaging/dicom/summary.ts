// The DICOM facts the upload pipeline may keep in clear (docs/design.md §5: "DICOM tags stay inside the
// encrypted file"): technical attributes only. Patient, study and institution tags are never read.
import { parseDicomFile, readHeader } from './header.ts'

/** Non-PHI facts about a DICOM file: safe for the ledger, logs and the image list. */
export interface DicomSummary {
  /** Modality defined term (CT, MR, CR, DX, …), or 'OT' when absent or not a defined term. */
  modality: string
  rows: number
  columns: number
  bitsAllocated: number
  bitsStored: number
  samplesPerPixel: number
  /** A defined Photometric Interpretation term, or 'UNKNOWN'. */
  photometric: string
  frames: number
  /** Transfer Syntax UID: tells whether the pixel data can be decoded here. */
  transferSyntax: string
}

/**
 * Reads the summary from the whole file or from a prefix that holds every attribute before
 * Pixel Data. Works for compressed transfer syntaxes too (it does not decode pixels). Throws
 * UNSUPPORTED_FORMAT without the Part 10 prefix and CORRUPT_IMAGE when the header does not parse.
 */
export function dicomSummary (bytes: Uint8Array): DicomSummary {
  const { dataSet, transferSyntax } = parseDicomFile(bytes, { headerOnly: true, requireNative: false })
  const h = readHeader(dataSet, transferSyntax)
  return {
    modality: h.modality,
    rows: h.rows,
    columns: h.columns,
    bitsAllocated: h.bitsAllocated,
    bitsStored: h.bitsStored,
    samplesPerPixel: h.samplesPerPixel,
    photometric: h.photometric,
    frames: h.frames,
    transferSyntax
  }
}
