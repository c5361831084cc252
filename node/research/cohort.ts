// A project's cohort (docs/design.md §10): the images whose custodian hospital approved the
// project, that meet its criteria, and whose patient holds a live research consent to the
// researcher or to the researcher's hospital that names this project or none (research in
// general) and covers the image. Labels of this hospital's images are read here; those of other
// hospitals' images are asked of their custodians, only for images already in the consented
// cohort, before the "labelled" criterion is applied to them. The caller reads the ledger and the
// labels and passes the facts in.
import { compare, equals, toHex } from '../../protocol/bytes.ts'
import { meetsCriteria } from '../../protocol/chain/research.ts'
import type { ConsentRecord, ImageRecord } from '../../ledger/queries/queries.ts'
import type { DecisionRecord, ProjectRecord } from '../../ledger/queries/research.ts'
import { consentCovers } from '../records/access.ts'

/** A count shown to a researcher: "<5" below the small-cell threshold. */
export type SuppressedCount = number | '<5'

/** Counts under this are shown as "<5" (small-cell suppression). */
export const SMALL_CELL = 5

/** One image of the cohort, the consent that lets it in, and its label's lesion pixels (null: unlabelled or not known). */
export interface CohortMember { image: ImageRecord, consent: ConsentRecord, label: number | null }

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
  /** Lesion pixels of this hospital's label of an image (null: unlabelled); undefined for another hospital's image. */
  label: (image: ImageRecord) => number | null | undefined
  /**
   * Asks a custodian for the labels of its images in the consented cohort (lesion pixels by raw
   * CID, null when unlabelled; an image it does not tell of is absent). Without it, or for an
   * image left out of its answer, another hospital's label is not known.
   */
  remoteLabels?: (custodian: Uint8Array, images: ImageRecord[]) => Promise<Map<string, number | null>>
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
  const candidates: Array<CohortMember & { known: boolean }> = []
  const consents = new Map<string, ConsentRecord[]>()
  for (const image of input.images) {
    if (!approved.has(toHex(image.custodian))) { excluded['not-approved']++; continue }
    const label = input.label(image)
    // Another hospital's label is asked for once the image is known to be in the consented cohort.
    const labelled = label === undefined ? input.project.criteria.labelled : label !== null
    if (!meetsCriteria(input.project.criteria, { modality: image.modality, time: image.time, score: image.score, labelled })) { excluded.criteria++; continue }
    const key = toHex(image.patient)
    let held = consents.get(key)
    if (held === undefined) consents.set(key, held = await input.consentsOf(image.patient))
    const consent = researchConsentFor(held, image, input.project, input.exporter, input.now)
    if (consent === undefined) { excluded['no-consent']++; continue }
    candidates.push({ image, consent, label: label ?? null, known: label !== undefined })
  }
  const remote = await remoteLabelsOf(candidates.filter(m => !m.known).map(m => m.image), input)
  const members: CohortMember[] = []
  for (const { image, consent, label, known } of candidates) {
    const told = known ? label : remote.get(image.raw.toString())
    // An unknown label fails a "labelled" or "unlabelled" criterion: nothing is let in on a guess.
    if (!known && input.project.criteria.labelled !== null && (told === undefined || (told !== null) !== input.project.criteria.labelled)) { excluded.criteria++; continue }
    members.push({ image, consent, label: told ?? null })
  }
  return { members, excluded }
}

/** Labels of other hospitals' cohort images, asked of each custodian at once. */
async function remoteLabelsOf (images: ImageRecord[], input: CohortInput): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>()
  if (input.remoteLabels === undefined || images.length === 0) return out
  const byCustodian = new Map<string, ImageRecord[]>()
  for (const image of images) {
    const key = toHex(image.custodian)
    const list = byCustodian.get(key)
    if (list === undefined) byCustodian.set(key, [image])
    else list.push(image)
  }
  const ask = input.remoteLabels
  for (const answer of await Promise.all([...byCustodian.values()].map(async list => await ask(list[0].custodian, list)))) {
    for (const [cid, lesion] of answer) out.set(cid, lesion)
  }
  return out
}
