// A synthetic DICOM file carrying every kind of identifier the profile must handle: patient name,
// id and birth date, instance UIDs (also inside a reference sequence and the file meta), dates and
// times, an accession number, institution and physician names, descriptors with a name and a date
// in them, and private attributes. Built with dcmjs; dcmdump judges the de-identified result.
import dcmjs from 'dcmjs'
import type { DicomDataset } from 'dcmjs'

/** The identifying values the fixture carries, so tests can look for each in the output. */
export const PHI = {
  name: 'DOE^JANE^Q',
  mrn: 'MRN0048213',
  birthDate: '19610417',
  studyDate: '20240312',
  seriesDate: '20240315',
  acquisitionDateTime: '20240316101530',
  accession: 'ACC99120',
  institution: 'Saint Elsewhere Hospital',
  physician: 'HOUSE^GREGORY',
  studyDescription: 'CT CHEST DOE 2024-03-12',
  seriesDescription: 'AXIAL JANE MRN0048213',
  privateText: 'PRIVATE JANE DOE',
  studyUid: '1.2.826.0.1.3680043.8.498.1001',
  seriesUid: '1.2.826.0.1.3680043.8.498.1002',
  sopUid: '1.2.826.0.1.3680043.8.498.1003',
  frameUid: '1.2.826.0.1.3680043.8.498.1004',
  referencedUid: '1.2.826.0.1.3680043.8.498.1005'
} as const

/** Options of the fixture: another patient or instance for the consistency tests. */
export interface FixtureInit { sopUid?: string, name?: string, mrn?: string, burnedIn?: 'YES' | 'NO', pixels?: Uint8Array, rows?: number, columns?: number }

/** A DICOM Part 10 file (Secondary Capture, explicit VR little endian, 8-bit monochrome). */
export function phiDicom (init: FixtureInit = {}): Uint8Array {
  const rows = init.rows ?? 8
  const columns = init.columns ?? 8
  const pixels = init.pixels ?? new Uint8Array(rows * columns).map((_, i) => i % 256)
  const sop = init.sopUid ?? PHI.sopUid
  const s = (vr: string, v: string) => ({ vr, Value: [v] })
  const dict: DicomDataset = {
    '00080008': { vr: 'CS', Value: ['ORIGINAL', 'PRIMARY'] },
    '00080016': s('UI', '1.2.840.10008.5.1.4.1.1.7'),
    '00080018': s('UI', sop),
    '00080020': s('DA', PHI.studyDate),
    '00080021': s('DA', PHI.seriesDate),
    '00080030': s('TM', '101500'),
    '0008002A': s('DT', PHI.acquisitionDateTime),
    '00080050': s('SH', PHI.accession),
    '00080060': s('CS', 'OT'),
    '00080080': s('LO', PHI.institution),
    '00080090': { vr: 'PN', Value: [{ Alphabetic: PHI.physician }] },
    '00081030': s('LO', PHI.studyDescription),
    '0008103E': s('LO', PHI.seriesDescription),
    '00081140': { vr: 'SQ', Value: [{ '00081150': s('UI', '1.2.840.10008.5.1.4.1.1.7'), '00081155': s('UI', PHI.referencedUid) }] },
    '00090010': s('LO', 'ACME PRIVATE'),
    '00091001': s('LO', PHI.privateText),
    '00100010': { vr: 'PN', Value: [{ Alphabetic: init.name ?? PHI.name }] },
    '00100020': s('LO', init.mrn ?? PHI.mrn),
    '00100030': s('DA', PHI.birthDate),
    '00100040': s('CS', 'F'),
    '00101010': s('AS', '062Y'),
    '0020000D': s('UI', PHI.studyUid),
    '0020000E': s('UI', PHI.seriesUid),
    '00200010': s('SH', 'STUDY7'),
    '00200011': s('IS', '1'),
    '00200013': s('IS', '1'),
    '00200052': s('UI', PHI.frameUid),
    '00280002': { vr: 'US', Value: [1] },
    '00280004': s('CS', 'MONOCHROME2'),
    '00280010': { vr: 'US', Value: [rows] },
    '00280011': { vr: 'US', Value: [columns] },
    '00280100': { vr: 'US', Value: [8] },
    '00280101': { vr: 'US', Value: [8] },
    '00280102': { vr: 'US', Value: [7] },
    '00280103': { vr: 'US', Value: [0] },
    '00280301': s('CS', init.burnedIn ?? 'NO'),
    '7FE00010': { vr: 'OB', Value: [pixels.slice().buffer] }
  }
  const meta: DicomDataset = {
    '00020001': { vr: 'OB', Value: [Uint8Array.of(0, 1).buffer] },
    '00020002': s('UI', '1.2.840.10008.5.1.4.1.1.7'),
    '00020003': s('UI', sop),
    '00020010': s('UI', '1.2.840.10008.1.2.1'),
    '00020012': s('UI', '1.2.826.0.1.3680043.8.498.1'),
    '00020016': s('AE', 'JANESWORKSTATION')
  }
  const out = new dcmjs.data.DicomDict(meta)
  out.dict = dict
  return new Uint8Array(out.write())
}
