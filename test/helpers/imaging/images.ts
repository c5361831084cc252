// Test images: a synthetic CT-like DICOM carrying a known fake name and birth date, the probes
// of the no-PHI tests, plus PNG and JPEG of the same phantom.
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { encodeJpeg, encodePng, toUint16, toUint8 } from '../../../node/imaging/raster/encode.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'

/** Values that must never leave the encrypted file. */
export const PHI_NAME = 'SYNTH^SECRET^NAME'
export const PHI_BIRTH_DATE = '19700101'
/** The synthetic study's date, time and descriptions: sealed into the image card, never in clear. */
export const STUDY_DATE = '20261206'
export const STUDY_TIME = '141503'
export const STUDY_DESCRIPTION = 'SYNTH STUDY KNEE LEFT'
export const SERIES_DESCRIPTION = 'SYNTH SERIES AXIAL'

/** A 64×64 12-bit CT-like DICOM of `pixels` with the PHI probes in its patient module. */
export function syntheticDicom (pixels: Uint16Array): Uint8Array {
  return encodeDicom({
    rows: 64, columns: 64, bitsAllocated: 16, bitsStored: 12, pixels, modality: 'CT',
    sopInstanceUid: '2.25.1001', studyInstanceUid: '2.25.1002', seriesInstanceUid: '2.25.1003',
    patient: { name: PHI_NAME, id: 'MRN-0042', birthDate: PHI_BIRTH_DATE },
    study: { date: STUDY_DATE, time: STUDY_TIME, description: STUDY_DESCRIPTION, seriesDescription: SERIES_DESCRIPTION }
  })
}

/** One 64×64 phantom as DICOM, PNG and JPEG. */
export function testImages (seed = 7, lesions = 1): { dicom: Uint8Array, png: Uint8Array, jpeg: Uint8Array } {
  const p = generatePhantom(seed, { size: 64, lesionCount: lesions })
  return {
    dicom: syntheticDicom(toUint16(p.pixels, 12)),
    png: encodePng(toUint8(p.pixels), 64, 64),
    jpeg: encodeJpeg(toUint8(p.pixels), 64, 64)
  }
}
