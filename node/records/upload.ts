// The upload pipeline of docs/design.md §5: validate by magic bytes and a real parse, run the registered
// analyser, encrypt raw and result each under a fresh 32-byte key, seal the image's card (file
// name, date, description, thumbnail; protocol/image-meta.ts) under a key derived from the raw
// key, add all three to IPFS, wrap the keys for the patient and the custodian hospital, and append
// `image.add`. No analyser, no result: a fake result is never stored as if a model produced it.
// The card's contents are PHI: they are sealed here and never logged.
import { rm } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { CID } from 'multiformats/cid'
import { MedichainError } from '../../protocol/errors.ts'
import { cleanMetaText, MAX_META_DESCRIPTION, MAX_META_NAME, toMetaDate } from '../../protocol/image-meta.ts'
import type { ImageMeta } from '../../protocol/image-meta.ts'
import type { WrappedKeys } from '../../protocol/chain/tx.ts'
import type { Ledger } from '../../ledger/types.ts'
import type { AnalyserSlot, LesionBox } from '../analysis/analyser.ts'
import { detectFormat } from '../imaging/detect.ts'
import type { DecodePool } from '../imaging/pool/decode-pool.ts'
import type { ImagePreview } from '../imaging/pool/decode-worker.ts'
import type { SealJob, Staging, Storage } from '../storage/index.ts'
import { encryptContent } from '../storage/seal/content-crypto-node.ts'
import type { ReceivedFile } from './multipart.ts'
import type { DicomCatalogue, Placement } from '../dicom/catalogue/catalogue.ts'
import { hasResultMask } from '../imaging/derived/result-mask.ts'
import { readInstanceHeaderFile } from '../dicom/catalogue/instance-header.ts'
import { nodeWrapKey } from './node-box.ts'
import { nodeSealImageMeta } from './card-seal.ts'
import type { HospitalBox } from './reader-keys.ts'
import type { StudyKeys } from './study-keys.ts'

/** What the uploader gets back (the boxes stay off the ledger; they are drawn in the result). */
export interface UploadResult {
  raw: CID
  result: CID | null
  /** The sealed card's CID. */
  meta: CID
  /** What the card says, without the thumbnail: for the uploader's own answer only, never logged. */
  card: Omit<ImageMeta, 'thumbnail'> & { thumbnail: boolean }
  modality: string
  size: number
  score: number | null
  model: CID | null
  boxes: LesionBox[]
  analysed: boolean
}

/** What the pipeline uses. */
export interface UploadComponents {
  ledger: Ledger
  storage: Storage
  analysers: AnalyserSlot
  box: HospitalBox
  /** Decodes off the main thread under the pixel budget; also bounds the images held for analysis. */
  decoder: DecodePool
  logger: Logger
  /**
   * The hospital's DICOM catalogue, when the peer runs its DICOM node: a DICOM upload is then
   * filed into its study and series (pseudonymous ids on the ledger, real UIDs in the catalogue).
   */
  catalogue?: DicomCatalogue
  /** The study keys a DICOM instance's data keys are also sealed under (absent: per-image keys only). */
  studyKeys?: StudyKeys
}

/**
 * Largest file decoded in memory for validation and analysis. Decoding needs the whole file
 * (dicom-parser, pngjs); beyond this the upload is refused rather than risking the peer's memory.
 */
export const MAX_DECODE_BYTES = 512 * 1024 * 1024

/** Thrown when an upload names a patient id no patient account was registered under. */
export class UnknownPatientError extends MedichainError {
  constructor () {
    super('UNKNOWN_PATIENT', 'no patient is registered under this id; the patient must sign up first')
    this.name = 'UnknownPatientError'
  }
}

/**
 * The card of an upload. The uploader's words win for the description; the file's own header wins
 * for the date (a browser's `date` is the file's modification time); the name is the form's `name`
 * field, else the file name the client sent.
 */
export function cardOf (file: Pick<ReceivedFile, 'fileName' | 'fields'>, preview: ImagePreview | undefined): ImageMeta {
  const card: ImageMeta = {}
  const name = cleanMetaText(file.fields.name ?? file.fileName, MAX_META_NAME)
  if (name !== undefined) card.name = name
  const date = preview?.date ?? toMetaDate(file.fields.date)
  if (date !== undefined) card.date = date
  const description = cleanMetaText(file.fields.description, MAX_META_DESCRIPTION) ?? preview?.description
  if (description !== undefined) card.description = description
  if (preview?.modality !== undefined) card.modality = preview.modality
  if (preview?.thumbnail !== undefined) card.thumbnail = preview.thumbnail
  return card
}

/** Encrypts a byte source under a fresh key and adds it to IPFS (written, not yet fsynced or pinned). */
async function addEncrypted (staging: Staging, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<{ cid: CID, key: Uint8Array }> {
  const key = new Uint8Array(randomBytes(32))
  const { cid } = await staging.add(encryptContent(key, source), { sync: false })
  return { cid, key }
}

/**
 * The raw file's encryption into storage, under its fresh key, in a seal worker. The HTTP route
 * starts it on the first bytes of the body (`beginRawSeal` from receiveFile's `written`), so the
 * file is encrypted, hashed and written as it arrives; `ingestUpload` starts one for a file that
 * is already whole.
 */
export interface RawSeal { key: Uint8Array, staging: Staging, job: SealJob }

/**
 * Seals a file already whole in memory (a small C-STORE instance) on this thread: a worker would
 * first need it written to disk, which costs more than encrypting a few hundred KiB here.
 */
export function sealBytes (storage: Storage, bytes: Uint8Array): RawSeal {
  const staging = storage.stage()
  const key = new Uint8Array(randomBytes(32))
  const done = staging.add(encryptContent(key, [bytes]), { sync: false })
  done.catch(() => {})
  return { key, staging, job: { grow () {}, abort () {}, done } }
}

/** Starts sealing the temp file at `path`, which may still be growing. */
export function beginRawSeal (storage: Storage, path: string): RawSeal {
  const staging = storage.stage()
  const key = new Uint8Array(randomBytes(32))
  try {
    return { key, staging, job: staging.seal(path, key) }
  } catch (err) {
    key.fill(0)
    staging.drop()
    throw err
  }
}

/**
 * Ends a raw seal whose upload failed: the job stops, and whatever it stored goes now (a seal that
 * had finished is discarded from its root; one stopped part way removes its own blocks).
 */
export async function abandonRawSeal (raw: RawSeal, storage: Storage): Promise<void> {
  raw.job.abort()
  const stored = await raw.job.done.catch(() => null)
  raw.key.fill(0)
  raw.staging.drop()
  if (stored !== null) await storage.discard(stored.cid).catch(() => undefined)
}

/** Reads a DICOM file's header (unless given), records it in the catalogue, and returns its ledger placement. */
async function catalogueInstance (file: ReceivedFile, patient: Uint8Array, catalogue: DicomCatalogue, resultPng: Uint8Array | undefined): Promise<Placement> {
  const header = file.dicomHeader ?? await readInstanceHeaderFile(file.path)
  const placement = catalogue.place(header)
  // Whether the result carries its mask is noted here, so query/retrieve offers its Segmentation without opening the result.
  const mask = resultPng !== undefined && hasResultMask(resultPng) ? { resultMask: true as const } : {}
  await catalogue.put({ study: placement.record, series: placement.dicom.series, instance: placement.dicom.instance, patient, header, stored: Date.now(), ...mask })
  return placement
}

/**
 * Runs the pipeline for one received file; the temp file is removed whatever happens. A caller
 * that bounds its own concurrency passes `waitForDecode` to queue for a decode worker rather than
 * be refused DECODE_BUSY. `raw` is the raw file's seal when the caller began it as the file
 * arrived. The blocks are fsynced before `image.add` is submitted and pinned after it is
 * appended; an upload that fails before the submission removes the raw file's blocks at once,
 * and one that fails after it leaves unpinned blocks the collector frees unless a record names them.
 */
export async function ingestUpload (file: ReceivedFile, patientId: Uint8Array, c: UploadComponents, opts: { waitForDecode?: boolean, raw?: RawSeal } = {}): Promise<UploadResult> {
  const keys: Uint8Array[] = []
  let rawSeal = opts.raw
  let recorded = false
  try {
    const format = detectFormat(file.head)
    const patient = await c.ledger.queries.patientAccount(patientId)
    if (patient === undefined || patient.role !== 'patient') throw new UnknownPatientError()
    if (file.size > MAX_DECODE_BYTES) {
      throw new MedichainError('IMAGE_TOO_LARGE', `files over ${MAX_DECODE_BYTES} bytes cannot be checked and analysed yet`)
    }
    // The pool's slot is held through the analysis, so a few large uploads at once do not
    // multiply the decoded images held in memory. The worker also prepares the model's input.
    const modelInput = c.analysers.current?.inputSize
    // The raw file is encrypted and stored by a seal worker (begun as the body arrived, or now)
    // while the decoder, another worker, checks and analyses it: both read the same temp file.
    // Its blocks are staged, not pinned, until the record names them; a failure below removes them.
    if (rawSeal === undefined && file.bytes !== undefined) rawSeal = sealBytes(c.storage, file.bytes)
    if (rawSeal === undefined) {
      rawSeal = beginRawSeal(c.storage, file.path)
      rawSeal.job.grow(file.size, true)
    }
    const { staging, job } = rawSeal
    // A file already in memory (a small C-STORE instance) is decoded from its bytes.
    const source = file.bytes !== undefined ? { bytes: file.bytes } : { path: file.path }
    const { modality, analysis, card } = await c.decoder.withImage({ ...source, format, modelInput, preview: true, wait: opts.waitForDecode }, async (image, input, preview) => {
      const analyser = c.analysers.current
      // An analyser in the worker pool takes the image once its queue has room (the decode
      // slot is held until then, so decoded images stay bounded) and the slot is freed for the
      // next file while the pool works; any other analyses here, holding the slot.
      const analysis = analyser === null ? null : analyser.submit !== undefined ? await analyser.submit(image, input) : { result: Promise.resolve(await analyser.analyse(image, input)) }
      return { modality: image.modality, analysis, card: cardOf(file, preview) }
    }).then(async d => ({ ...d, analysis: d.analysis === null ? null : await d.analysis.result }))

    // A DICOM instance is placed in its study and series, and catalogued (sealed, local) before
    // the ledger names it, so no recorded instance is ever missing from query/retrieve.
    const placement = format === 'dicom' && c.catalogue !== undefined ? await catalogueInstance(file, patientId, c.catalogue, analysis?.png) : undefined

    const raw = { cid: (await job.done).cid, key: rawSeal.key }
    const result = analysis === null ? null : await addEncrypted(staging, [analysis.png])
    if (result !== null) keys.push(result.key)
    const meta = await staging.add([nodeSealImageMeta(raw.key, card)], { sync: false })
    // One fsync pass for the three files, before the ledger names them.
    await staging.sync()
    const wrapFor = (to: Uint8Array): WrappedKeys => ({ to, raw: nodeWrapKey(raw.key, to), result: result === null ? null : nodeWrapKey(result.key, to) })
    // An instance of a study also seals its keys under the study's key, so one consent opens the whole study.
    const study = placement === undefined || c.studyKeys === undefined
      ? undefined
      : await c.studyKeys.seal({ patient: patientId, patientBox: patient.box, record: placement.record, raw: { cid: raw.cid.bytes, key: raw.key }, result: result === null ? null : { cid: raw.cid.bytes, key: result.key } })

    recorded = true
    await c.ledger.submitOwn('image.add', {
      patient: patientId,
      record: placement?.record ?? null,
      raw: raw.cid,
      result: result?.cid ?? null,
      modality,
      size: file.size,
      model: analysis?.model ?? null,
      score: analysis === null ? null : Math.round(Math.min(1, Math.max(0, analysis.score)) * 10_000),
      keys: [wrapFor(patient.box), wrapFor(c.box.publicKey)],
      meta: meta.cid,
      ...(placement === undefined ? {} : { dicom: placement.dicom }),
      ...(study === undefined ? {} : { study })
    })
    // The record is appended: the upload is acknowledged whatever happens to the pin record
    // (replication owes it again on the peer's next start, from the blocks since its cursor).
    await staging.commit().catch((err: unknown) => c.logger.warn({ err, raw: raw.cid.toString() }, 'could not pin an uploaded image'))
    c.logger.info({ raw: raw.cid.toString(), format, size: file.size, analysed: analysis !== null }, 'image stored')
    const { thumbnail, ...said } = card
    return {
      raw: raw.cid,
      result: result?.cid ?? null,
      meta: meta.cid,
      card: { ...said, thumbnail: thumbnail !== undefined },
      modality,
      size: file.size,
      score: analysis?.score ?? null,
      model: analysis?.model ?? null,
      boxes: analysis?.boxes ?? [],
      analysed: analysis !== null
    }
  } finally {
    // Before the record, a failure leaves nothing: the raw file's blocks go now, not at the
    // collector's next pass. After it is submitted they stay, whatever the answer: an append that
    // timed out may still land, and the collector keeps every block a record names.
    if (rawSeal !== undefined && !recorded) await abandonRawSeal(rawSeal, c.storage)
    rawSeal?.staging.drop()
    rawSeal?.key.fill(0)
    for (const k of keys) k.fill(0)
    await rm(file.path, { force: true })
  }
}
