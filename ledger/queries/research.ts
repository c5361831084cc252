// Read-only views of research on the ledger (docs/design.md §10): projects, each hospital's
// decision, the export log of a project, and the uses of a patient's images.
import { CID } from 'multiformats/cid'
import { fromHex } from '../../protocol/bytes.ts'
import { decode } from '../../protocol/codec.ts'
import { K } from '../store/keys.ts'
import type { ImageRecord } from '../data-types.ts'
import type { ProjectState } from '../rules/research.ts'
import type { LedgerStore } from '../store/store.ts'

/** A project as the state holds it, with its id. */
export type ProjectRecord = ProjectState & { id: Uint8Array }

/** A hospital's decision on a project. */
export interface DecisionRecord { hospital: Uint8Array, approve: boolean, admin: Uint8Array, tx: Uint8Array, time: number }

/** One `research.export` transaction of a project. */
export interface ExportRecord { tx: Uint8Array, time: number, export: Uint8Array, count: number, hospital: Uint8Array }

/** One image of a patient that a project's export included. */
export interface ResearchUseRecord { tx: Uint8Array, time: number, project: Uint8Array, export: Uint8Array, image: CID, consent: Uint8Array, hospital: Uint8Array }

/** A model publication as the state holds it (`model.publish`, first by transaction id). */
export interface PublishedModelRecord { model: CID, task: string, round: number, metrics: Record<string, number>, participants: Uint8Array[], hospital: Uint8Array, tx: Uint8Array, time: number }

/** The research queries over a ledger store. */
export function researchQueries (store: LedgerStore) {
  return {
    /** Every project, oldest first. */
    async projects (): Promise<ProjectRecord[]> {
      const out: ProjectRecord[] = []
      for await (const [key, bytes] of store.entries(K.projectPrefix)) out.push({ ...(decode(bytes) as ProjectState), id: fromHex(key.slice(K.projectPrefix.length)) })
      return out.sort((a, b) => a.time - b.time)
    },

    /** One project by id. */
    async project (id: Uint8Array): Promise<ProjectRecord | undefined> {
      const bytes = await store.get(K.project(id))
      return bytes === undefined ? undefined : { ...(decode(bytes) as ProjectState), id }
    },

    /** Each hospital's latest decision on a project. */
    async decisions (project: Uint8Array): Promise<DecisionRecord[]> {
      const out: DecisionRecord[] = []
      const prefix = K.projectDecisionPrefix(project)
      for await (const [key, bytes] of store.entries(prefix)) out.push({ ...(decode(bytes) as Omit<DecisionRecord, 'hospital'>), hospital: fromHex(key.slice(prefix.length)) })
      return out
    },

    /** The export log of a project, oldest first. */
    async exportsOf (project: Uint8Array): Promise<ExportRecord[]> {
      const out: ExportRecord[] = []
      for await (const [, bytes] of store.entries(K.projectExportPrefix(project))) out.push(decode(bytes) as ExportRecord)
      return out.sort((a, b) => a.time - b.time)
    },

    /** Every published model, oldest first. */
    async publishedModels (): Promise<PublishedModelRecord[]> {
      const out: PublishedModelRecord[] = []
      // The state keys a publication by its CID and does not repeat it in the value.
      for await (const [key, bytes] of store.entries(K.modelPrefix)) out.push({ ...(decode(bytes) as Omit<PublishedModelRecord, 'model'>), model: CID.parse(key.slice(K.modelPrefix.length)) })
      return out.sort((a, b) => a.time - b.time)
    },

    /** One published model by its weights' CID. */
    async publishedModel (cid: string): Promise<PublishedModelRecord | undefined> {
      const bytes = await store.get(K.model(cid))
      return bytes === undefined ? undefined : { ...(decode(bytes) as Omit<PublishedModelRecord, 'model'>), model: CID.parse(cid) }
    },

    /** Every image on the ledger, in (raw CID, custodian) order: the pool a cohort is drawn from. */
    async allImages (): Promise<ImageRecord[]> {
      const out: ImageRecord[] = []
      for await (const [, bytes] of store.entries(K.imagePrefix)) out.push(decode(bytes) as ImageRecord)
      return out
    },

    /** Every research use of a patient's images, oldest first. */
    async researchUsesOf (patient: Uint8Array): Promise<ResearchUseRecord[]> {
      const out: ResearchUseRecord[] = []
      for await (const [, bytes] of store.entries(K.researchUsePrefix(patient))) out.push(decode(bytes) as ResearchUseRecord)
      return out.sort((a, b) => a.time - b.time)
    }
  }
}
