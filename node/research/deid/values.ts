// The value transformations of the de-identifier: consistent UID replacement, date shifting that
// keeps intervals, dummy values by VR, and descriptor cleaning. Pure functions of their inputs and
// the project's secret keys, so an export is reproducible byte for byte.
import { createHmac } from 'node:crypto'

/**
 * A replacement UID for `uid`: the first 128 bits of HMAC-SHA256(key, uid) shaped as an RFC 9562
 * version-8 UUID and written as a 2.25 UID (PS3.5 §B.2). The same source UID under the same
 * project key always gives the same UID; another project's key gives an unrelated one, and
 * without the key the source cannot be recovered or even tested.
 */
export function remapUid (key: Uint8Array, uid: string): string {
  const b = createHmac('sha256', key).update('medichain/deid/uid\0').update(uid).digest().subarray(0, 16)
  b[6] = (b[6] & 0x0f) | 0x80
  b[8] = (b[8] & 0x3f) | 0x80
  return `2.25.${BigInt('0x' + b.toString('hex')).toString(10)}`
}

const DAY_MS = 86_400_000

/** Shifts a DA value (YYYYMMDD) by `days`; anything that is not a full date becomes empty. */
export function shiftDate (value: string, days: number): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(value.trim())
  if (m === null) return ''
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  const d = new Date(t + days * DAY_MS)
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999) return ''
  return `${String(d.getUTCFullYear()).padStart(4, '0')}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`
}

/** Shifts the date part of a DT value (YYYYMMDD then time and offset), keeping the rest. */
export function shiftDateTime (value: string, days: number): string {
  const v = value.trim()
  if (v.length < 8) return ''
  const date = shiftDate(v.slice(0, 8), days)
  return date === '' ? '' : date + v.slice(8)
}

/** A dummy value for a VR (PS3.15 §E.1.1 action D: "non-zero length, consistent with the VR"). */
export function dummyValue (vr: string): unknown[] {
  switch (vr) {
    case 'PN': return [{ Alphabetic: 'ANONYMOUS' }]
    case 'DA': return ['19000101']
    case 'TM': return ['000000']
    case 'DT': return ['19000101000000']
    case 'AS': return ['000Y']
    case 'IS': case 'DS': return ['0']
    case 'US': case 'SS': case 'UL': case 'SL': case 'FL': case 'FD': case 'UV': case 'SV': return [0]
    case 'AE': case 'CS': case 'SH': case 'LO': case 'LT': case 'ST': case 'UT': case 'UC': return ['ANONYMIZED']
    default: return []
  }
}

/**
 * Words a descriptor may keep under the Clean Descriptors option: modality, anatomy, view and
 * technique terms that cannot name a person. Everything else (names, numbers, dates, free text)
 * is dropped, so "CT CHEST SMITH 12/03" becomes "CT CHEST".
 */
const SAFE_WORDS = new Set([
  'ABDOMEN', 'ANKLE', 'AP', 'ARM', 'AXIAL', 'BONE', 'BRAIN', 'BREAST', 'CARDIAC', 'CHEST', 'CONTRAST', 'CORONAL',
  'CR', 'CT', 'DWI', 'DX', 'ELBOW', 'FLAIR', 'FOOT', 'HAND', 'HEAD', 'HEART', 'HIP', 'KNEE', 'LAT', 'LATERAL',
  'LEFT', 'LIVER', 'LUNG', 'MG', 'MR', 'MRI', 'NECK', 'NM', 'OT', 'PA', 'PELVIS', 'PET', 'PHANTOM', 'PLAIN',
  'PORTABLE', 'RIGHT', 'SAGITTAL', 'SC', 'SCOUT', 'SECONDARY', 'CAPTURE', 'SHOULDER', 'SKULL', 'SPINE',
  'SYNTHETIC', 'T1', 'T2', 'THORAX', 'US', 'VIEW', 'WITH', 'WITHOUT', 'WRIST', 'XA', 'LOCALIZER', 'SERIES', 'STUDY'
])

/** Cleans one descriptor string: keeps only the safe words, in order, upper-cased. */
export function cleanText (value: string): string {
  return value.toUpperCase().split(/[^A-Z0-9]+/).filter(w => SAFE_WORDS.has(w)).join(' ')
}
