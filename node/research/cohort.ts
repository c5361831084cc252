// A project's cohort (docs/design.md §10): the images whose custodian hospital approved the
// project, that meet its criteria, and whose patient holds a live research consent to the
// researcher or to the researcher's hospital that names this project or none (research in
// general) and covers the image. Pure: the caller reads the ledger and passes the facts in.
import { compare, equals, toHex } from '../../protocol/bytes.ts'
import { meetsCriteria } from '../../protocol/research.ts'
import type { ConsentRecord, ImageRecord } from '../../ledger/queries.ts'
import type { DecisionRecord, ProjectRecord } from '../../ledger/research-queries.ts'
import { consentCovers } from '../records/access.ts'

/** A count shown to a researcher: "<5" below the small-cell threshold. */
export type SuppressedCount = number | '<5'

/** Counts under this are shown as "<5" (small-cell suppression). */
export const SMALL_CELL = 5

/** One image of the cohort and the consent that lets it in. */
export interface CohortMember { image: ImageRecord, consent: ConsentRecord }

/** Why an image is left out; only administrators and tests see these. */
export type Exclusion = 'not-approved' | 'criteria' | 'no-consent'

/** What the cohort computation needs to know. */
export interface CohortInput {
  project: ProjectRecord
  decisions: DecisionRecord[]
  images: ImageRecord[]
  consentsOf: (patient: Uint8Array) => Promise<ConsentRecord[]>
  /** The researcher's home hospital: the exporter, whose peer the consent keys are sealed for. */
  exporter: Uint8Array
  /** Whether an image is labelled; null when this peer cannot know (another hospital's image). */
  labelled: (image: ImageRecord) => boolean | null
  now: number
}

/** The cohort, in (raw CID, custodian) order, with the excluded counts by reason. */
export interface Cohort { members: CohortMember[], excluded: Record<Exclusion, number> }

/** Hides a count under SMALL_CELL. */
export function suppress (n: number): SuppressedCount {
  return n < SMALL_CELL ? '<5' : n
}

/**
 * The consent that lets `image` into `project`: a live research grant to the researcher or the
 * exporting hospital, naming this project or none, covering the image. The lowest consent id
 * wins when several do, so the choice does not depend on the order they are read in.
 */
export function researchConsentFor (consents: ConsentRecord[], image: ImageRecord, project: ProjectRecord, exporter: Uint8Array, now: number): ConsentRecord | undefined {
  return consents
    .filter(c => equals(c.grantee, project.researcher) || equals(c.grantee, exporter))
    .filter(c => c.project === undefined || equals(c.project, project.id))
    .filter(c => consentCovers(c, image, 'research', now))
    .sort((a, b) => compare(a.tx, b.tx))[0]
}

/** Computes the cohort of a project now. */
export async function cohortOf (input: CohortInput): Promise<Cohort> {
  const approved = new Set(input.decisions.filter(d => d.approve).map(d => toHex(d.hospital)))
  const excluded: Record<Exclusion, number> = { 'not-approved': 0, criteria: 0, 'no-consent': 0 }
  const members: CohortMember[] = []
  const consents = new Map<string, ConsentRecord[]>()
  for (const image of input.images) {
    if (!approved.has(toHex(image.custodian))) { excluded['not-approved']++; continue }
    if (!meetsCriteria(input.project.criteria, { modality: image.modality, time: image.time, score: image.score, labelled: input.labelled(image) })) { excluded.criteria++; continue }
    const key = toHex(image.patient)
    let held = consents.get(key)
    if (held === undefined) consents.set(key, held = await input.consentsOf(image.patient))
    const consent = researchConsentFor(held, image, input.project, input.exporter, input.now)
    if (consent === undefined) { excluded['no-consent']++; continue }
    members.push({ image, consent })
  }
  return { members, excluded }
}
