// What every image loader returns and every analyser consumes: one grayscale frame, normalised,
// plus the little metadata the pipeline needs. DICOM tags other than these never leave the
// encrypted file (docs/design.md §5).

/** The formats the upload pipeline accepts, recognised by magic bytes and a real parse. */
export type ImageFormat = 'dicom' | 'png' | 'jpeg'

/** One decoded grayscale frame. */
export interface DecodedImage {
  format: ImageFormat
  width: number
  height: number
  /** Bits per sample in the source: usually 8 or 16; PNG bit depth 1–16, DICOM Bits Stored 1–16. */
  bitsStored: number
  /** Row-major intensities scaled to [0, 1] (after DICOM rescale slope/intercept), length width × height. */
  pixels: Float32Array
  /** DICOM modality (CT, MR, CR, DX, …) or 'OT' for PNG/JPEG. Not PHI. */
  modality: string
  /** Default display window in normalised units, from the DICOM header when present. */
  window?: { center: number, width: number }
}
