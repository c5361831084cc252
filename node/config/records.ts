// The `records` block of the config file: upload limits, hospital access policy and how many
// other members pin each image. Kept beside index.ts so that file stays one concept.
import { MedichainError } from '../../protocol/errors.ts'
import { COLLECT_GRACE_MS, COLLECT_INTERVAL_MS } from '../storage/constants.ts'

/** Tunables of image storage and access (issue 3). */
export interface RecordsConfig {
  /** Largest accepted upload in bytes (default 1 GiB); larger answers 413 TOO_LARGE. */
  maxUploadBytes: number
  /** Clinicians of the custodian hospital read its images without a consent (default true). */
  custodianRead: boolean
  /** Clinicians may declare an emergency (break-glass), logged and shown to the patient (default true). */
  breakGlass: boolean
  /** Members besides the custodian that pin each image (default 1, docs/design.md §5). */
  replicas: number
  /** Orphan image blocks younger than this are never collected (ms; default 1 h). */
  collectGraceMs: number
  /** Period of the orphan-block collector (ms; default 1 h; 0: only the pass at start). */
  collectIntervalMs: number
  /** Sliding window of the write rate limits (node/http/middleware/write-limits.ts), ms (default one minute). */
  writeWindowMs: number
  /** Writes per window of one patient account (default 30: a patient files a few consents at a time). */
  writesPerPatient: number
  /** Writes per window of one admin, clinician or researcher (default 600: ten a second, a batch upload with labels). */
  writesPerStaff: number
  /** Writes per window of all users of this peer (default 3000: fifty a second, twice a busy hospital's staff). */
  writesPerPeer: number
  /** How long keys released in an emergency declared at another hospital open images (ms; default 1 h). */
  emergencyWindowMs: number
  /** Sliding window of the emergency limits below (ms; default 24 h). */
  emergencyLimitWindowMs: number
  /** Emergency releases per window to one clinician of another hospital (default 3). */
  emergenciesPerClinician: number
  /** Emergency releases per window to all clinicians of one other hospital together (default 20). */
  emergenciesPerHospital: number
}

/** Defaults of the records block. */
export const RECORDS_DEFAULTS: Readonly<RecordsConfig> = {
  maxUploadBytes: 1024 ** 3,
  custodianRead: true,
  breakGlass: true,
  replicas: 1,
  collectGraceMs: COLLECT_GRACE_MS,
  collectIntervalMs: COLLECT_INTERVAL_MS,
  writeWindowMs: 60_000,
  writesPerPatient: 30,
  writesPerStaff: 600,
  writesPerPeer: 3000,
  emergencyWindowMs: 60 * 60_000,
  emergencyLimitWindowMs: 24 * 60 * 60_000,
  emergenciesPerClinician: 3,
  emergenciesPerHospital: 20
}

/** Checks a config file's `records` block; absent fields take the defaults. */
export function parseRecordsConfig (v: unknown, source: string): RecordsConfig {
  const bad = (message: string): MedichainError => new MedichainError('INVALID_CONFIG', `${source}${message}`)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(': expected an object')
  const o = v as Record<string, unknown>
  for (const key of Object.keys(o)) if (!Object.hasOwn(RECORDS_DEFAULTS, key)) throw bad(`.${key}: unknown setting`)
  const out: RecordsConfig = { ...RECORDS_DEFAULTS }
  const int = (key: 'maxUploadBytes' | 'replicas' | 'collectGraceMs' | 'collectIntervalMs' | 'writeWindowMs' | 'writesPerPatient' | 'writesPerStaff' | 'writesPerPeer' | 'emergencyWindowMs' | 'emergencyLimitWindowMs' | 'emergenciesPerClinician' | 'emergenciesPerHospital', min: number, max: number): void => {
    const x = o[key]
    if (x === undefined) return
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max) throw bad(`.${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(x)}`)
    out[key] = x
  }
  const bool = (key: 'custodianRead' | 'breakGlass'): void => {
    const x = o[key]
    if (x === undefined) return
    if (typeof x !== 'boolean') throw bad(`.${key}: expected true or false`)
    out[key] = x
  }
  int('maxUploadBytes', 1024, 16 * 1024 ** 3)
  int('replicas', 0, 16)
  int('collectGraceMs', 0, 365 * 24 * 3600 * 1000)
  int('collectIntervalMs', 0, 365 * 24 * 3600 * 1000)
  int('writeWindowMs', 1000, 3_600_000)
  int('writesPerPatient', 1, 1_000_000)
  int('writesPerStaff', 1, 1_000_000)
  int('writesPerPeer', 1, 10_000_000)
  int('emergencyWindowMs', 1000, 24 * 3_600_000)
  int('emergencyLimitWindowMs', 1000, 30 * 24 * 3_600_000)
  int('emergenciesPerClinician', 1, 1000)
  int('emergenciesPerHospital', 1, 100_000)
  bool('custodianRead')
  bool('breakGlass')
  return out
}
