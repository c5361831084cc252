// A project's export (docs/design.md §10): every cohort image is fetched, decrypted on this peer
// (the researcher's home hospital, which the research consent's keys are sealed for),
// de-identified by PS3.15 Annex E with the project's options and keys, and listed in a manifest.
// Each use is logged on the ledger (`research.export`) before the first byte leaves, and the
// archive is deterministic: the same project and consents give the same bytes.
import { createHash } from 'node:crypto'
import { concat, equals, toHex } from '../../protocol/bytes.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { MAX_USES_PER_EXPORT_TX } from '../../protocol/research.ts'
import type { ResearchUse } from '../../protocol/research.ts'
import type { ImageRecord } from '../../ledger/queries.ts'
import type { ProjectRecord } from '../../ledger/research-queries.ts'
import { detectFormat } from '../imaging/detect.ts'
import { nodeBoxKeyOf, nodeUnwrapBoundKey, nodeUnwrapKey } from '../records/node-box.ts'
import type { HospitalBox } from '../records/reader-keys.ts'
import { decryptContent } from '../storage/content-crypto-node.ts'
import { encodePng } from '../imaging/encode.ts'
import { blackOut, frameOf, grayOf } from './burned-in/pixels.ts'
import type { TextDetector } from './burned-in/text-detector.ts'
import type { CohortMember } from './cohort.ts'
import { deidentify, readDicom } from './deid/deidentify.ts'
import type { HoldReason, Reviews } from './reviews.ts'
import { deidKeysFor, projectKey } from './deid/project-keys.ts'
import type { ZipEntry } from './zip.ts'

/** The largest export held in memory before it is written out (bytes of de-identified files). */
export const MAX_EXPORT_BYTES = 512 * 1024 * 1024

/** Thrown when an export would exceed MAX_EXPORT_BYTES. */
export class ExportTooLargeError extends MedichainError {
  constructor () {
    super('EXPORT_TOO_LARGE', `an export may hold at most ${MAX_EXPORT_BYTES} bytes of images; narrow the project's criteria`)
    this.name = 'ExportTooLargeError'
  }
}

/** One row of the manifest. */
export interface ManifestRow {
  file: string
  pseudonym: string
  study: string
  modality: string
  /** Lesion pixels of the clinician's label; null when unlabelled or when this peer cannot know. */
  labelLesionPixels: number | null
  /** The model's score, 0..1, or null when the image was not analysed. */
  score: number | null
  sha256: string
}

/** What the export needs from the peer. */
export interface ExportComponents {
  /** Ciphertext of an image by CID, fetched from the members when not held here. */
  cat: (image: ImageRecord) => AsyncIterable<Uint8Array>
  box: HospitalBox
  /** The hospital's seed: project keys derive from it, so nobody else can link pseudonyms. */
  seed: Uint8Array
  self: Uint8Array
  /** Lesion pixels of this hospital's label of an image, if it has one. */
  label: (image: ImageRecord) => number | null
  /** Writes a `research.export` and resolves once durable. */
  log: (uses: ResearchUse[], exportId: Uint8Array) => Promise<void>
  /** Finds burned-in text to black out (tesseract.js on its worker). */
  detector: Pick<TextDetector, 'detect'>
  /** Images held for a person's check, and the decisions made. */
  reviews: Pick<Reviews, 'state' | 'hold'>
  now: () => number
}

/** An export ready to stream. */
export interface PreparedExport { entries: ZipEntry[], rows: ManifestRow[], exportId: Uint8Array, held: number, skipped: number }

/** The data key of a member's raw image: the consent's bound key, or this hospital's own as custodian. */
function dataKey (m: CohortMember, c: ExportComponents): Uint8Array | null {
  const box = nodeBoxKeyOf(c.box)
  const granted = m.consent.keys?.find(k => k.image.equals(m.image.raw))
  if (granted !== undefined) return nodeUnwrapBoundKey(granted.raw, 'raw', m.image.raw.bytes, box)
  const own = equals(m.image.custodian, c.self) ? m.image.keys.find(k => equals(k.to, c.box.publicKey)) : undefined
  return own === undefined ? null : nodeUnwrapKey(own.raw, box)
}

async function plaintext (m: CohortMember, key: Uint8Array, c: ExportComponents): Promise<Uint8Array> {
  try {
    const parts: Uint8Array[] = []
    for await (const piece of decryptContent(key, c.cat(m.image))) parts.push(piece)
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
export function manifests (project: ProjectRecord, rows: ManifestRow[]): { csv: Uint8Array, json: Uint8Array } {
  const cols: Array<keyof ManifestRow> = ['file', 'pseudonym', 'study', 'modality', 'labelLesionPixels', 'score', 'sha256']
  const csv = [cols.join(','), ...rows.map(r => cols.map(k => csvField(r[k])).join(','))].join('\r\n') + '\r\n'
  const json = JSON.stringify({ project: toHex(project.id), title: project.title, options: project.options, files: rows }, null, 2) + '\n'
  return { csv: new TextEncoder().encode(csv), json: new TextEncoder().encode(json) }
}

/**
 * Blacks out the burned-in text the detector finds, in place, and says why the image must wait
 * for a person, if it must: marked Burned In Annotation YES, text the OCR was unsure of, or
 * pixels it cannot read. Returns the redacted frame as a PNG preview for that person.
 */
async function redact (dict: ReturnType<typeof readDicom>, c: ExportComponents): Promise<{ reason: HoldReason | null, preview: Uint8Array | null }> {
  const frame = frameOf(dict.dict)
  const marked = String(dict.dict['00280301']?.Value?.[0] ?? '').trim().toUpperCase() === 'YES'
  if (frame === null) return { reason: 'unreadable-pixels', preview: null }
  const found = await c.detector.detect(grayOf(frame), frame.columns, frame.rows)
  blackOut(frame, found.boxes)
  const reason = marked ? 'burned-in-annotation' : found.uncertain ? 'uncertain-text' : null
  return { reason, preview: reason === null ? null : encodePng(grayOf(frame), frame.columns, frame.rows) }
}

/**
 * De-identifies the cohort, logs every use on the ledger, and returns the archive's entries.
 * Non-DICOM images are skipped; burned-in text is blacked out, and an image that needs a
 * person's check waits for it (reviews.ts) unless already released.
 */
export async function prepareExport (project: ProjectRecord, members: CohortMember[], c: ExportComponents): Promise<PreparedExport> {
  const key = projectKey(c.seed, project.id)
  const files: Array<{ entry: ZipEntry, row: ManifestRow, use: ResearchUse }> = []
  let bytes = 0
  let held = 0
  let skipped = 0
  for (const m of members) {
    const k = dataKey(m, c)
    if (k === null) { skipped++; continue }
    const plain = await plaintext(m, k, c)
    if (detectFormat(plain) !== 'dicom') { skipped++; continue }
    const keys = deidKeysFor(key, m.image.patient)
    const source = readDicom(plain)
    const cid = m.image.raw.toString()
    const state = c.reviews.state(toHex(project.id), cid)
    if (state === 'excluded') { skipped++; continue }
    const { reason, preview } = await redact(source, c)
    if (reason !== null && state !== 'released') {
      await c.reviews.hold(toHex(project.id), cid, reason, preview, c.now())
      held++
      continue
    }
    const out = deidentify(source, keys, project.options)
    bytes += out.bytes.length
    if (bytes > MAX_EXPORT_BYTES) throw new ExportTooLargeError()
    const file = `${keys.pseudonym}/${out.sopUid}.dcm`
    const score = m.image.score === null ? null : m.image.score / 10000
    files.push({
      entry: { name: file, data: out.bytes },
      row: { file, pseudonym: keys.pseudonym, study: out.studyUid, modality: m.image.modality, labelLesionPixels: c.label(m.image), score, sha256: createHash('sha256').update(out.bytes).digest('hex') },
      use: { patient: m.image.patient, image: m.image.raw, consent: m.consent.tx }
    })
  }
  files.sort((a, b) => a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0)
  const rows = files.map(f => f.row)
  const { csv, json } = manifests(project, rows)
  const exportId = createHash('sha256').update(json).digest()
  // An export of no image is logged too: the researcher asked, and the ledger says what they got.
  for (let i = 0; i === 0 || i < files.length; i += MAX_USES_PER_EXPORT_TX) {
    await c.log(files.slice(i, i + MAX_USES_PER_EXPORT_TX).map(f => f.use), exportId)
  }
  const entries = [...files.map(f => f.entry), { name: 'manifest.csv', data: csv }, { name: 'manifest.json', data: json }]
  return { entries, rows, exportId, held, skipped }
}
