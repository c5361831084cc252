// The DICOM Modality (0008,0060) defined terms, the only values an `image.add` may carry: a
// free-text Modality could hold anything a scanner operator typed, PHI included, and the ledger
// and its gossip are replicated to every member. Data only, shared by the peer, the ledger's
// validation and the browser.

/**
 * Defined terms of Modality, DICOM PS3.3 2024e §C.7.3.1.1.1 (General Series Module), current
 * terms followed by the retired ones the same section still lists (old archives carry them).
 */
export const DICOM_MODALITY_TERMS: readonly string[] = [
  // Current defined terms.
  'ANN', 'AR', 'ASMT', 'AU', 'BDUS', 'BI', 'BMD', 'CFM', 'CR', 'CT', 'CTPROTOCOL', 'DG', 'DMS', 'DOC', 'DX',
  'ECG', 'EEG', 'EMG', 'EOG', 'EPS', 'ES', 'FID', 'GM', 'HC', 'HD', 'IO', 'IOL', 'IVOCT', 'IVUS', 'KER', 'KO',
  'LEN', 'LS', 'M3D', 'MG', 'MR', 'NM', 'OAM', 'OCT', 'OP', 'OPM', 'OPT', 'OPTBSV', 'OPTENF', 'OPV', 'OSS',
  'OT', 'PA', 'PLAN', 'POS', 'PR', 'PT', 'PX', 'REG', 'RESP', 'RF', 'RG', 'RTDOSE', 'RTIMAGE', 'RTINTENT',
  'RTPLAN', 'RTRAD', 'RTRECORD', 'RTSEGANN', 'RTSTRUCT', 'RWV', 'SEG', 'SM', 'SMR', 'SR', 'SRF', 'STAIN',
  'TEXTUREMAP', 'TG', 'US', 'VA', 'XA', 'XAPROTOCOL', 'XC',
  // Retired defined terms.
  'AS', 'CD', 'CF', 'CP', 'CS', 'DD', 'DF', 'DM', 'DS', 'EC', 'FA', 'FS', 'LP', 'MA', 'MS', 'OPR', 'ST', 'VF'
]

/** 'Other' (PS3.3 §C.7.3.1.1.1): what every value outside the defined terms becomes. */
export const OTHER_MODALITY = 'OT'

const TERMS: ReadonlySet<string> = new Set(DICOM_MODALITY_TERMS)

/** True when `value` is exactly one of the defined terms. */
export function isModalityTerm (value: string): boolean {
  return TERMS.has(value)
}

/**
 * The defined term for a Modality value as read from a file: surrounding spaces (CS padding,
 * PS3.5 §6.2) are dropped; anything that is not then exactly a defined term becomes 'OT'.
 */
export function toModalityTerm (value: string | undefined): string {
  const trimmed = value?.trim() ?? ''
  return TERMS.has(trimmed) ? trimmed : OTHER_MODALITY
}
