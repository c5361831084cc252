// The JSON shapes of the peer's API answers as the client SDK reads them (docs/api.md): images,
// labels, study keys, membership proposals, the directory and the patient's audit. Keys and ids are
// hex, wrapped keys base64.
import type { AccessBasis, AccessUse, Purpose } from '../chain/tx.ts'

/** What a ground-truth label is used for. */
export type LabelUse = 'train' | 'validation'

/** A ground-truth label as the peer describes it (the mask itself stays at the hospital). */
export interface ApiLabel {
  cid: string
  patientId: string
  record: string | null
  use: LabelUse
  width: number
  height: number
  lesionPixels: number
  /** Signing key of the clinician who labelled it (hex). */
  author: string
  /** That clinician's username at this hospital, or null when the account no longer exists. */
  authorName: string | null
  time: number
}

/** Labelled images and what the training consents let federated learning use now. */
export interface ApiTrainingSummary {
  labelled: Record<LabelUse, number>
  eligible: Record<LabelUse, { total: number, kept: number, excluded: number, reasons: Record<string, number> }>
}

/** An image as listed for the reader, with the reader's own wrapped keys (base64). */
export interface ApiImage {
  raw: string
  result: string | null
  /** CID of the sealed card (file name, date, description, thumbnail), or null for images from before cards. */
  meta: string | null
  patientId: string
  modality: string
  size: number
  score: number | null
  model: string | null
  custodian: string
  custodianName: string | null
  time: number
  basis: string
  keys: { raw: string, result: string | null }
  /** The record the image belongs to (hex), or null; for a DICOM instance, its study. */
  record: string | null
  /**
   * A DICOM instance's place in its series (docs/design.md §5 "Studies and series"): the
   * pseudonymous series and instance ids (hex) and its InstanceNumber; null for other images.
   */
  dicom: { series: string, instance: string, number: number } | null
  /** The study key (its id, hex) the image's data keys are also sealed under, or null (older images, non-DICOM). */
  study: { kid: string } | null
}

/** One of the patient's study keys as `GET /api/me/study-keys` gives it (hex, the key in base64, wrapped for the patient). */
export interface ApiStudyKey { patientId: string, record: string, custodian: string, kid: string, key: string }

/** A membership proposal as `GET /api/members/proposals` lists it (keys and ids in hex). */
export interface ApiProposal {
  id: string
  action: 'add' | 'remove' | 'resolve'
  member: string
  name: string
  addrs: string[]
  /** For a 'resolve': the height of the equivocation and the hash of the block kept (hex); else null. */
  height: number | null
  keep: string | null
  proposer: string
  proposerName: string | null
  time: number
  /** Hospitals that approved, besides the proposer (whose vote is implied). */
  approvers: string[]
  /** True once the member's status is what the proposal asked for. */
  enacted: boolean
}

/** One entry of the consortium directory, as `GET /api/directory` answers it. */
export interface DirectoryEntryJson { key: string, name: string, department: string, hospital: string, hospitalName: string | null, kind: 'hospital' | 'staff' }

/** A key's display name, as `GET /api/directory?keys=` answers it: "Dr Lee", "Radiology", and the hospital. */
export interface DisplayNameJson { name: string, department: string, hospital: string, hospitalName: string | null }

/** One access entry as `GET /api/me/audit` answers it (docs/api.md "Access entries"). */
export interface AuditEntryJson {
  id: string
  time: number
  /** The raw CID read; null for a listing, which names no image. */
  image: string | null
  use: AccessUse
  /** True for an entry written before uses existed, whose use is inferred. */
  inferred: boolean
  accessor: string
  /** The accessor's directory name and department, and their hospital's name; null where there is none. */
  accessorName: string | null
  department: string | null
  hospital: string
  hospitalName: string | null
  basis: AccessBasis
  consent: string | null
  /** The purpose and grantee of the consent the read relied on (null without one). */
  purpose: Purpose | null
  consentTo: string | null
  consentToName: string | null
  emergency: boolean
}

/** One group of `GET /api/me/audit/groups`: the entries of one person, local day, use, basis and consent. */
export interface AuditGroupJson extends Omit<AuditEntryJson, 'id' | 'time' | 'image' | 'inferred'> {
  key: string
  /** The local day, YYYY-MM-DD, in the offset the page asked for. */
  day: string
  first: number
  last: number
  /** Ledger entries in the group, and the distinct images they name (0 for listings). */
  entries: number
  images: number
}

/** Which page of the patient's audit: `tz` is the page's offset from UTC in minutes (east positive), which sets the day of a group. */
export interface AuditPageOptions { cursor?: string, limit?: number, tz?: number }
