// A project's export (docs/design.md §10): every cohort image is fetched, decrypted on this peer
// (the researcher's home hospital, which the research consent's keys are sealed for),
// de-identified by PS3.15 Annex E with the project's options and keys, and listed in a manifest.
// The archive streams: images go through one at a time, and each batch of uses is logged on the
// ledger (`research.export`) before the first byte of its images leaves, so memory is bounded by
// the batch budget, not the cohort. The archive is deterministic: the same project and consents
// give the same bytes.
import { createHash } from 'node:crypto'
import { concat, equals, toHex } from '../../protocol/bytes.ts'
import { MAX_USES_PER_EXPORT_TX } from '../../protocol/chain/research.ts'
import type { ResearchUse } from '../../protocol/chain/research.ts'
import type { ImageRecord } from '../../ledger/queries/queries.ts'
import type { ProjectRecord } from '../../ledger/queries/research.ts'
import { detectFormat } from '../imaging/detect.ts'
import { nodeBoxKeyOf, nodeUnwrapKey } from '../records/node-box.ts'
import { hospitalDataKey, KeysUnavailableError } from '../records/reader-keys.ts'
import type { HospitalBox } from '../records/reader-keys.ts'
import { decryptContent } from '../storage/seal/content-crypto-node.ts'
import { encodePng } from '../imaging/raster/encode.ts'
import { blackOut, frameOf, grayOf } from './burned-in/pixels.ts'
import type { TextDetector } from './burned-in/text-detector.ts'
import type { CohortMember } from './cohort.ts'
import { deidentify, readDicom } from './deid/deidentify.ts'
import type { HoldReason, Reviews } from './reviews.ts'
import { deidKeysFor, projectKey } from './deid/project-keys.ts'
import type { ZipEntry } from './zip.ts'

/** Default budget of de-identified bytes one export holds before logging them and sending them. */
export const EXPORT_BUDGET_BYTES = 64 * 1024 * 1024

/** Why a cohort image is not in the archive; listed in manifest.json (no PHI: a pseudonym and a reason). */
export type SkipReason = 'no-key' | 'excluded' | 'not-dicom' | 'unavailable' | 'unreadable'

/** One row of the manifest. */
export interface ManifestRow {
  file: string
  pseudonym: string
  study: string
  modality: string
  /** Lesion pixels of the clinician's label (asked of the custodian for another hospital's image); null when unlabelled or not known. */
  labelLesionPixels: number | null
  /** The model's score, 0..1, or null when the image was not analysed. */
  score: number | null
  sha256: string
}

/** What the export needs from the peer. */
export interface ExportComponents {
  /** Ciphertext of an image by CID, fetched from the members when not held here. */
  cat: (image: ImageRecord, signal: AbortSignal) => AsyncIterable<Uint8Array>
  box: HospitalBox
  /** The hospital's seed: project keys derive from it, so nobody else can link pseudonyms. */
  seed: Uint8Array
  self: Uint8Array
  /** Writes a `research.export` and resolves once durable. */
  log: (uses: ResearchUse[], exportId: Uint8Array) => Promise<void>
  /** Finds burned-in text to black out (tesseract.js on its worker). */
  detector: Pick<TextDetector, 'detect'>
  /** Images held for a person's check, and the decisions made. */
  reviews: Pick<Reviews, 'state' | 'hold'>
  now: () => number
  /** De-identified bytes held at most before a batch is logged and sent (one image may exceed it). */
  budget?: number
}

/** An archive entry; a de-identified image also names the cohort member it came from (never written to the archive). */
export interface ExportEntry extends ZipEntry { member?: CohortMember }

/** An export ready to stream: its id and cohort size are known before any image is read. */
export interface ExportPlan {
  exportId: Uint8Array
  /** Cohort images to go through; held and skipped ones never reach the archive. */
  total: number
  /** The archive's entries, images first, then manifest.csv and manifest.json; stops quietly on abort. */
  entries: (signal: AbortSignal) => AsyncGenerator<ExportEntry>
}

/**
 * The data key of a member's raw image: the consent's bound key for it, or the study key the
 * consent carries for its study (docs/design.md §5 "Study keys"), or this hospital's own as custodian.
 */
function dataKey (m: CohortMember, c: ExportComponents): Uint8Array | null {
  const box = nodeBoxKeyOf(c.box)
  try {
    return hospitalDataKey(m.image, { from: 'consent', consent: m.consent }, c.box)
  } catch (err) {
    if (!(err instanceof KeysUnavailableError)) throw err
  }
  const own = equals(m.image.custodian, c.self) ? m.image.keys.find(k => equals(k.to, c.box.publicKey)) : undefined
  return own === undefined ? null : nodeUnwrapKey(own.raw, box)
}

async function plaintext (m: CohortMember, key: Uint8Array, c: ExportComponents, signal: AbortSignal): Promise<Uint8Array> {
  try {
    const parts: Uint8Array[] = []
    for await (const piece of decryptContent(key, c.cat(m.image, signal))) parts.push(piece)
    return concat(...parts)
  } finally {
    key.fill(0)
  }
}

function csvField (v: string | number | null): string {
  const s = v === null ? '' : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** The manifest as CSV (RFC 4180) and JSON, rows in file order. */
export function manifests (project: ProjectRecord, rows: ManifestRow[], held: number, skipped: Array<{ pseudonym: string, reason: SkipReason }>): { csv: Uint8Array, json: Uint8Array } {
  const cols: Array<keyof ManifestRow> = ['file', 'pseudonym', 'study', 'modality', 'labelLesionPixels', 'score', 'sha256']
  const csv = [cols.join(','), ...rows.map(r => cols.map(k => csvField(r[k])).join(','))].join('\r\n') + '\r\n'
  const json = JSON.stringify({ project: toHex(project.id), title: project.title, options: project.options, files: rows, held, skipped }, null, 2) + '\n'
  return { csv: new TextEncoder().encode(csv), json: new TextEncoder().encode(json) }
}

/**
 * Blacks out the burned-in text the detector finds, in place, and says why the image must wait
 * for a person, if it must: marked Burned In Annotation YES, text the OCR was unsure of, or
 * pixels it cannot read. Returns the redacted frame as a PNG preview for that person.
 */
async function redact (dict: ReturnType<typeof readDicom>, c: ExportComponents): Promise<{ reason: HoldReason | null, preview: Uint8Array | null }> {
  const frame = frameOf(dict.dict, dict.meta['00020010']?.Value?.[0] ?? '')
  const marked = String(dict.dict['00280301']?.Value?.[0] ?? '').trim().toUpperCase() === 'YES'
  if (frame === null) return { reason: 'unreadable-pixels', preview: null }
  const found = await c.detector.detect(grayOf(frame), frame.columns, frame.rows)
  blackOut(frame, found.boxes)
  const reason = marked ? 'burned-in-annotation' : found.uncertain ? 'uncertain-text' : null
  return { reason, preview: reason === null ? null : encodePng(grayOf(frame), frame.columns, frame.rows) }
}

type Outcome = { file: { entry: ExportEntry, row: ManifestRow, use: ResearchUse } } | { held: true } | { skip: SkipReason }

/** One image: fetched, decrypted, redacted and de-identified, or held or skipped; null on abort. */
async function one (project: ProjectRecord, key: Uint8Array, m: CohortMember, c: ExportComponents, signal: AbortSignal): Promise<Outcome | null> {
  const k = dataKey(m, c)
  if (k === null) return { skip: 'no-key' }
  const cid = m.image.raw.toString()
  const state = c.reviews.state(toHex(project.id), cid)
  if (state === 'excluded') { k.fill(0); return { skip: 'excluded' } }
  let plain: Uint8Array
  try {
    plain = await plaintext(m, k, c, signal)
  } catch {
    if (signal.aborted) return null
    // Not fetched in time, or not decrypted: the rest of the export goes on, and the manifest says so.
    return { skip: 'unavailable' }
  }
  if (detectFormat(plain) !== 'dicom') return { skip: 'not-dicom' }
  const keys = deidKeysFor(key, m.image.patient)
  let out: ReturnType<typeof deidentify>
  try {
    const source = readDicom(plain)
    const { reason, preview } = await redact(source, c)
    if (reason !== null && state !== 'released') {
      await c.reviews.hold(toHex(project.id), cid, reason, preview, c.now())
      return { held: true }
    }
    out = deidentify(source, keys, project.options)
  } catch {
    // Not parsed, redacted or de-identified: kept out of this export, and the manifest says so.
    return { skip: 'unreadable' }
  }
  const file = `${keys.pseudonym}/${out.sopUid}.dcm`
  const score = m.image.score === null ? null : m.image.score / 10000
  return {
    file: {
      entry: { name: file, data: out.bytes, member: m },
      row: { file, pseudonym: keys.pseudonym, study: out.studyUid, modality: m.image.modality, labelLesionPixels: m.label, score, sha256: createHash('sha256').update(out.bytes).digest('hex') },
      use: { patient: m.image.patient, image: m.image.raw, consent: m.consent.tx }
    }
  }
}

/** The part of a review state that changes an archive: a first hold and a later one give the same bytes. */
const decided = (state: string | undefined): string | null => state === 'released' || state === 'excluded' ? state : null

/**
 * Plans the export of a cohort: members in (pseudonym, raw CID) order, and an export id that
 * hashes everything the archive depends on (project, options, each image, its consent, its
 * review state and label), so the same project and consents give the same id and the same bytes.
 */
export function planExport (project: ProjectRecord, members: CohortMember[], c: ExportComponents): ExportPlan {
  const key = projectKey(c.seed, project.id)
  const ordered = members
    .map(m => ({ m, pseudonym: deidKeysFor(key, m.image.patient).pseudonym, cid: m.image.raw.toString() }))
    .sort((a, b) => a.pseudonym < b.pseudonym ? -1 : a.pseudonym > b.pseudonym ? 1 : a.cid < b.cid ? -1 : a.cid > b.cid ? 1 : 0)
  const id = createHash('sha256').update(JSON.stringify({
    v: 2,
    project: toHex(project.id),
    options: project.options,
    images: ordered.map(o => [o.cid, toHex(o.m.consent.tx), decided(c.reviews.state(toHex(project.id), o.cid)), o.m.label])
  }))
  const exportId = id.digest()
  const budget = c.budget ?? EXPORT_BUDGET_BYTES

  /**
   * Goes through the cohort one image at a time, holding at most `budget` de-identified bytes (or
   * one image) and MAX_USES_PER_EXPORT_TX uses; each batch is logged durably on the ledger
   * (`research.export`) before its first byte is yielded. Non-DICOM images are skipped;
   * burned-in text is blacked out, and an image that needs a person's check waits for it
   * (reviews.ts) unless already released. On abort it stops before the next image or batch log.
   */
  async function * entries (signal: AbortSignal): AsyncGenerator<ExportEntry> {
    const rows: ManifestRow[] = []
    const skipped: Array<{ pseudonym: string, reason: SkipReason }> = []
    let held = 0
    let logged = false
    let batch: Array<{ entry: ExportEntry, use: ResearchUse }> = []
    let bytes = 0
    async function * flush (): AsyncGenerator<ExportEntry> {
      if (signal.aborted) return
      const out = batch
      batch = []
      bytes = 0
      await c.log(out.map(f => f.use), exportId)
      logged = true
      while (out.length > 0 && !signal.aborted) yield (out.shift() as { entry: ExportEntry }).entry
    }
    for (const { m, pseudonym } of ordered) {
      if (signal.aborted) return
      const r = await one(project, key, m, c, signal)
      if (r === null) return
      if ('held' in r) { held++; continue }
      if ('skip' in r) { skipped.push({ pseudonym, reason: r.skip }); continue }
      if (batch.length === MAX_USES_PER_EXPORT_TX || (batch.length > 0 && bytes + r.file.entry.data.length > budget)) yield * flush()
      batch.push(r.file)
      rows.push(r.file.row)
      bytes += r.file.entry.data.length
    }
    // An export of no image is logged too: the researcher asked, and the ledger says what they got.
    if (batch.length > 0 || !logged) yield * flush()
    if (signal.aborted) return
    const { csv, json } = manifests(project, rows, held, skipped)
    yield { name: 'manifest.csv', data: csv }
    yield { name: 'manifest.json', data: json }
  }
  return { exportId, total: ordered.length, entries }
}
