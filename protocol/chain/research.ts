// Research projects on the ledger (docs/design.md §10): a researcher's project with its cohort
// criteria and de-identification options, each hospital admin's decision for that hospital, and
// the exporting hospital's log of every image an export included. Body schemas and the builders
// that sign a researcher's or an admin's transaction in their own client.
import type { CID } from 'multiformats/cid'
import { ED25519_PUBLIC_KEY_BYTES, HASH_BYTES } from '../constants.ts'
import { isModalityTerm } from '../dicom-modalities.ts'
import { SchemaError } from '../errors.ts'
import { expectArray, expectBytes, expectCid, expectFields, expectString, expectUint, nullable } from '../schema.ts'

/** Which images a project asks for. Every criterion left null matches every image. */
export interface ResearchCriteria {
  /** DICOM Modality defined terms (PS3.3 §C.7.3.1.1.1); empty means any modality. */
  modalities: string[]
  /** Upload time bounds, ms since the epoch, inclusive. */
  from: number | null
  to: number | null
  /** Only images with a clinician's label (true), only without (false), or either (null). */
  labelled: boolean | null
  /** Model score bounds, in the ledger's 0..10000 scale, inclusive. */
  scoreMin: number | null
  scoreMax: number | null
}

/** The PS3.15 Annex E options a project chooses (node/research/deid/actions.ts). */
export interface ResearchOptions { modifiedDates: boolean, cleanDescriptors: boolean }

/** One image an export included, under the consent that allowed it. */
export interface ResearchUse { patient: Uint8Array, image: CID, consent: Uint8Array }

/** Bodies of the research transactions; a project's id is the id of its `research.project`. */
export interface ResearchBodies {
  'research.project': { title: string, purpose: string, criteria: ResearchCriteria, options: ResearchOptions }
  'research.decision': { project: Uint8Array, hospital: Uint8Array, approve: boolean }
  'research.export': { project: Uint8Array, export: Uint8Array, uses: ResearchUse[] }
}

/** Largest number of image uses one `research.export` carries; a larger export writes several. */
export const MAX_USES_PER_EXPORT_TX = 200

/** Highest model score (the ledger keeps scores as integers 0..10000). */
const MAX_SCORE = 10000

function expectBool (v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') throw new SchemaError(`${path}: expected true or false, got ${typeof v}`)
  return v
}

function criteria (v: unknown, p: string): ResearchCriteria {
  const f = expectFields(v, p, ['modalities', 'from', 'to', 'labelled', 'scoreMin', 'scoreMax'])
  const modalities = expectArray(f.modalities, `${p}.modalities`, 16, (x, q) => {
    const m = expectString(x, q, 16)
    // A free-text modality could carry anything: only defined terms, as image.add (BAD_SCHEMA here).
    if (!isModalityTerm(m)) throw new SchemaError(`${q}: expected a DICOM Modality defined term`)
    return m
  })
  const out: ResearchCriteria = {
    modalities,
    from: nullable(f.from, `${p}.from`, expectUint),
    to: nullable(f.to, `${p}.to`, expectUint),
    labelled: nullable(f.labelled, `${p}.labelled`, expectBool),
    scoreMin: nullable(f.scoreMin, `${p}.scoreMin`, (x, q) => expectUint(x, q, MAX_SCORE)),
    scoreMax: nullable(f.scoreMax, `${p}.scoreMax`, (x, q) => expectUint(x, q, MAX_SCORE))
  }
  if (out.from !== null && out.to !== null && out.from > out.to) throw new SchemaError(`${p}: from is after to`)
  if (out.scoreMin !== null && out.scoreMax !== null && out.scoreMin > out.scoreMax) throw new SchemaError(`${p}: scoreMin is above scoreMax`)
  return out
}

/** Checks a research body against its schema and returns it typed. */
export function parseResearchBody<T extends keyof ResearchBodies> (type: T, v: unknown): ResearchBodies[T]
export function parseResearchBody (type: keyof ResearchBodies, v: unknown): ResearchBodies[keyof ResearchBodies] {
  const p = 'body'
  switch (type) {
    case 'research.project': {
      const f = expectFields(v, p, ['title', 'purpose', 'criteria', 'options'])
      const o = expectFields(f.options, `${p}.options`, ['modifiedDates', 'cleanDescriptors'])
      return {
        title: expectString(f.title, `${p}.title`, 128),
        purpose: expectString(f.purpose, `${p}.purpose`, 1000),
        criteria: criteria(f.criteria, `${p}.criteria`),
        options: { modifiedDates: expectBool(o.modifiedDates, `${p}.options.modifiedDates`), cleanDescriptors: expectBool(o.cleanDescriptors, `${p}.options.cleanDescriptors`) }
      }
    }
    case 'research.decision': {
      const f = expectFields(v, p, ['project', 'hospital', 'approve'])
      return { project: expectBytes(f.project, `${p}.project`, HASH_BYTES), hospital: expectBytes(f.hospital, `${p}.hospital`, ED25519_PUBLIC_KEY_BYTES), approve: expectBool(f.approve, `${p}.approve`) }
    }
    case 'research.export': {
      const f = expectFields(v, p, ['project', 'export', 'uses'])
      return {
        project: expectBytes(f.project, `${p}.project`, HASH_BYTES),
        export: expectBytes(f.export, `${p}.export`, HASH_BYTES),
        uses: expectArray(f.uses, `${p}.uses`, MAX_USES_PER_EXPORT_TX, (x, q) => {
          const u = expectFields(x, q, ['patient', 'image', 'consent'])
          return { patient: expectBytes(u.patient, `${q}.patient`, HASH_BYTES), image: expectCid(u.image, `${q}.image`), consent: expectBytes(u.consent, `${q}.consent`, HASH_BYTES) }
        })
      }
    }
  }
}

/** Whether an image's facts meet a project's criteria (`labelled` is known only to its custodian: null when unknown). */
export function meetsCriteria (c: ResearchCriteria, image: { modality: string, time: number, score: number | null, labelled: boolean | null }): boolean {
  if (c.modalities.length > 0 && !c.modalities.includes(image.modality)) return false
  if (c.from !== null && image.time < c.from) return false
  if (c.to !== null && image.time > c.to) return false
  if (c.labelled !== null && image.labelled !== c.labelled) return false
  if ((c.scoreMin !== null || c.scoreMax !== null) && image.score === null) return false
  if (c.scoreMin !== null && (image.score as number) < c.scoreMin) return false
  if (c.scoreMax !== null && (image.score as number) > c.scoreMax) return false
  return true
}
