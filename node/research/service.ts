// The research service of a peer (docs/design.md §10): projects and decisions signed in the
// researcher's and admins' own clients, cohort counts with small-cell suppression, exports of the
// projects of this hospital's researchers, and each patient's record of research uses.
import { equals, toHex } from '../../protocol/bytes.ts'
import { MedichainError, NotFoundError } from '../../protocol/errors.ts'
import type { Tx } from '../../protocol/chain/tx.ts'
import type { ImageRecord } from '../../ledger/queries/queries.ts'
import type { ProjectRecord } from '../../ledger/queries/research.ts'
import type { Clock, Ledger, TxLocation } from '../../ledger/types.ts'
import type { HospitalBox } from '../records/reader-keys.ts'
import type { FetchedCopies } from '../records/fetched-copies.ts'
import type { Storage } from '../storage/index.ts'
import { cohortOf, suppress } from './cohort.ts'
import type { Cohort, SuppressedCount } from './cohort.ts'
import { planExport } from './export.ts'
import type { ExportPlan } from './export.ts'
import type { TextDetector } from './burned-in/text-detector.ts'
import type { Reviews } from './reviews.ts'
import type { RemoteLabels } from './remote-labels.ts'

/** Thrown when a user acts on a project that is not theirs to act on. */
export class NotProjectOwnerError extends MedichainError {
  constructor () {
    super('FORBIDDEN', 'only the researcher who created the project may do this')
    this.name = 'NotProjectOwnerError'
  }
}

/** What the service uses. */
export interface ResearchComponents {
  ledger: Pick<Ledger, 'self' | 'queries' | 'submit' | 'submitOwn' | 'members'>
  storage: Pick<Storage, 'cat'>
  box: HospitalBox
  seed: Uint8Array
  /** Lesion pixels of this hospital's labels, by raw CID (masks never leave their hospital). */
  labels: () => Promise<Map<string, number>>
  /** Labels of other hospitals' cohort images, asked of their custodians. */
  remoteLabels?: Pick<RemoteLabels, 'ask'>
  copies?: Pick<FetchedCopies, 'noteFetched'>
  /** Burned-in text detection, and the images it holds for a person's check. */
  detector: Pick<TextDetector, 'detect'>
  reviews: Reviews
  clock: Clock
  /** Export tuning: de-identified bytes held before a batch is logged and sent; block wait (ms). */
  exports?: ExportConfig
}

/** Export tuning (tests make it small). */
export interface ExportConfig { budgetBytes?: number, fetchTimeoutMs?: number }

/** A hospital's line in a project's cohort as a researcher sees it. */
export interface HospitalCount { hospital: string, decision: 'approved' | 'refused' | 'pending', count: SuppressedCount }

/** The research service. */
export function createResearch (c: ResearchComponents) {
  const project = async (id: Uint8Array): Promise<ProjectRecord> => {
    const p = await c.ledger.queries.project(id)
    if (p === undefined) throw new NotFoundError('no research project has this id')
    return p
  }
  const owned = async (id: Uint8Array, researcher: Uint8Array): Promise<ProjectRecord> => {
    const p = await project(id)
    if (!equals(p.researcher, researcher)) throw new NotProjectOwnerError()
    return p
  }
  /**
   * The cohort now. Other hospitals' labels are asked of their custodians for an export (the
   * manifest lists them) or when the criteria depend on them; a count without them asks nobody.
   */
  const cohort = async (p: ProjectRecord, withLabels: boolean): Promise<Cohort> => {
    const labels = await c.labels()
    const remote = c.remoteLabels
    return await cohortOf({
      project: p,
      decisions: await c.ledger.queries.decisions(p.id),
      images: await c.ledger.queries.allImages(),
      consentsOf: async (patient) => await c.ledger.queries.consentsOf(patient),
      exporter: c.ledger.self,
      label: (image: ImageRecord) => equals(image.custodian, c.ledger.self) ? labels.get(image.raw.toString()) ?? null : undefined,
      ...(remote !== undefined && (withLabels || p.criteria.labelled !== null)
        ? { remoteLabels: async (custodian: Uint8Array, images: ImageRecord[]) => await remote.ask(custodian, p.id, images.map(i => i.raw)) }
        : {}),
      now: c.clock()
    })
  }

  return {
    project,

    /** Submits a `research.project` or `research.decision` signed in the user's client. */
    async submit (tx: Tx): Promise<TxLocation> {
      return await c.ledger.submit(tx)
    },

    /** Per-hospital cohort counts of the owner's project, each under SMALL_CELL shown as "<5". */
    async counts (id: Uint8Array, researcher: Uint8Array): Promise<{ hospitals: HospitalCount[], total: SuppressedCount }> {
      const p = await owned(id, researcher)
      const decisions = await c.ledger.queries.decisions(id)
      const { members } = await cohort(p, false)
      const hospitals = c.ledger.members().filter(m => m.status === 'active').map(m => {
        const d = decisions.find(x => equals(x.hospital, m.key))
        const n = members.filter(x => equals(x.image.custodian, m.key)).length
        return { hospital: toHex(m.key), decision: d === undefined ? 'pending' as const : d.approve ? 'approved' as const : 'refused' as const, count: suppress(n) }
      })
      return { hospitals, total: suppress(members.length) }
    },

    /** The owner's export, planned: its entries are de-identified and logged as they stream. */
    async export (id: Uint8Array, researcher: Uint8Array): Promise<ExportPlan> {
      const p = await owned(id, researcher)
      const { members } = await cohort(p, true)
      return planExport(p, members, {
        cat: (image, signal) => {
          // Another hospital's ciphertext fetched under a consent is deleted here once it ends.
          if (!equals(image.custodian, c.ledger.self)) c.copies?.noteFetched(image.raw, image)
          return c.storage.cat(image.raw, { signal, timeoutMs: c.exports?.fetchTimeoutMs })
        },
        box: c.box,
        seed: c.seed,
        self: c.ledger.self,
        log: async (uses, exportId) => { await c.ledger.submitOwn('research.export', { project: p.id, export: exportId, uses }) },
        detector: c.detector,
        reviews: c.reviews,
        now: c.clock,
        budget: c.exports?.budgetBytes
      })
    },

    /** Images waiting for a person's check at this hospital. */
    reviews: c.reviews,

    /** An admin's decision on a held image: released into later exports, or kept out of them. */
    async decideReview (project: string, image: string, release: boolean) {
      return await c.reviews.decide(project, image, release, c.clock())
    }
  }
}

/** The research service's type. */
export type Research = ReturnType<typeof createResearch>
