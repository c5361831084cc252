// What happens to an instance received over C-STORE: its PatientID (the hospital's MRN) is looked
// up in the patient index; a linked patient's instance goes through the upload pipeline like a
// web upload, and an unlinked one is held in the hospital's custody until the patient is linked.
// The MRN is read here and nowhere else, and never logged.
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { MedichainError } from '../../protocol/errors.ts'
import { equals, toHex } from '../../protocol/bytes.ts'
import { MrnLinkedError } from './enrolment.ts'
import { readInstanceHeaderFile } from './instance-header.ts'
import type { PatientAttributes } from './instance-header.ts'
import { ingestUpload, UnknownPatientError } from '../records/upload.ts'
import type { UploadComponents } from '../records/upload.ts'
import { STORE_STATUS } from './constants.ts'
import type { PatientIndex } from './patient-index.ts'
import type { ReceivedInstance, StoreOutcome } from './scp.ts'

/** What the ingest step uses. */
export interface DicomIngestComponents {
  index: PatientIndex
  upload: UploadComponents
  tmpDir: string
  logger: Logger
  clock: () => number
}

/** Held instances attached at once when a patient enrols (each is one upload: decode, encrypt, image.add). */
export const ATTACH_CONCURRENCY = 4

/** The C-STORE status of an upload pipeline error (PS3.4 §B.2.3). */
function statusOf (err: unknown): StoreOutcome {
  const code = err instanceof MedichainError ? err.code : ''
  if (code === 'IMAGE_TOO_LARGE' || code === 'STORAGE_FULL') return { status: STORE_STATUS.outOfResources, comment: 'out of resources' }
  if (code === 'UNSUPPORTED_FORMAT' || code === 'UNSUPPORTED_TRANSFER_SYNTAX' || code === 'UNSUPPORTED_PIXEL_FORMAT' || code === 'CORRUPT_IMAGE') {
    return { status: STORE_STATUS.cannotUnderstand, comment: `cannot understand the data set (${code})` }
  }
  return { status: STORE_STATUS.processingFailure, comment: 'the instance could not be stored' }
}

/** The patient attributes and SOP Class UID (0008,0016) of a Part 10 file. */
async function readIds (path: string): Promise<{ patient: PatientAttributes, sopClassUid: string }> {
  const header = await readInstanceHeaderFile(path)
  return { patient: header.patient, sopClassUid: header.instance.sopClassUid }
}

/** The first KiB of a file: what the upload pipeline's format detection reads. */
async function headOf (path: string): Promise<Uint8Array> {
  const fh = await open(path, 'r')
  try {
    const head = new Uint8Array(1024)
    const { bytesRead } = await fh.read(head, 0, head.length, 0)
    return head.subarray(0, bytesRead)
  } finally {
    await fh.close()
  }
}

/** Runs the upload pipeline on a Part 10 file for a patient; the file is removed whatever happens. */
async function upload (path: string, size: number, patient: Uint8Array, c: DicomIngestComponents): Promise<void> {
  await ingestUpload({ path, size, head: await headOf(path), declaredType: 'application/dicom', fields: {} }, patient, c.upload)
}

/** The store handler of the SCP: answers once the instance is durable (on the ledger or in custody). */
export function createDicomIngest (c: DicomIngestComponents): {
  store: (instance: ReceivedInstance) => Promise<StoreOutcome>
  linkPatient: (mrn: string, patient: Uint8Array) => Promise<number>
} {
  const log = c.logger
  // Filing by MRN and linking run one at a time: an instance filed while its MRN is being linked
  // is either ingested directly or held before the link lists what is held, never left behind.
  let filing: Promise<unknown> = Promise.resolve()
  const serially = async <T>(fn: () => Promise<T>): Promise<T> => {
    const run = filing.then(fn, fn)
    filing = run.catch(() => {})
    return await run
  }
  const store = async (instance: ReceivedInstance): Promise<StoreOutcome> => {
    let ingested = false
    try {
      let ids: { patient: PatientAttributes, sopClassUid: string }
      try {
        ids = await readIds(instance.path)
      } catch (err) {
        return statusOf(err)
      }
      if (ids.sopClassUid !== instance.sopClassUid) return { status: STORE_STATUS.dataSetMismatch, comment: 'the data set does not match the SOP class of the request' }
      if (ids.patient.mrn === '') return { status: STORE_STATUS.cannotUnderstand, comment: 'the data set has no PatientID' }
      const mrn = ids.patient.mrn
      const patient = await serially(async () => {
        // The desk finds the patient by MRN or name (routes.ts), linked or not yet.
        await c.index.note(ids.patient, c.clock())
        const linked = await c.index.patientOf(mrn)
        if (linked === undefined) await c.index.hold(mrn, instance.path, instance.size, c.clock())
        return linked
      })
      if (patient !== undefined) {
        try {
          ingested = true
          await upload(instance.path, instance.size, patient, c)
          log.info({ size: instance.size }, 'C-STORE instance ingested for a linked patient')
          return { status: STORE_STATUS.success }
        } catch (err) {
          if (!(err instanceof UnknownPatientError)) {
            log.warn({ code: err instanceof MedichainError ? err.code : undefined }, 'C-STORE instance refused by the upload pipeline')
            return statusOf(err)
          }
          // The file is gone with the failed upload; the patient account vanished (cannot happen
          // on an append-only ledger, but a stale link must not lose an instance).
          return { status: STORE_STATUS.processingFailure, comment: 'the linked patient is unknown' }
        }
      }
      log.info({ size: instance.size }, 'C-STORE instance held in custody (no patient linked to its PatientID yet)')
      return { status: STORE_STATUS.success }
    } finally {
      if (!ingested) await rm(instance.path, { force: true })
    }
  }

  /**
   * Links an MRN to an enrolled patient and ingests every instance held for it, oldest first.
   * Throws UNKNOWN_PATIENT when no patient account has that key, MRN_LINKED when the MRN is
   * linked to another patient already. Returns how many were ingested.
   */
  const linkPatient = async (mrn: string, patient: Uint8Array): Promise<number> => await serially(async () => {
    const account = await c.upload.ledger.queries.patientAccount(patient)
    if (account === undefined || account.role !== 'patient') throw new UnknownPatientError()
    const linked = await c.index.patientOf(mrn)
    if (linked !== undefined && !equals(linked, patient)) throw new MrnLinkedError()
    if (linked === undefined) await c.index.link(mrn, patient)
    // A few at a time, oldest first: the decode pool bounds the work, and the image.add of
    // instances in flight together share a group commit. The first failure stops the rest, which
    // stay in custody for the next link of this MRN (to the same patient) to attach.
    const queue = await c.index.held(mrn)
    let n = 0
    let failed: unknown
    const worker = async (): Promise<void> => {
      for (let held = queue.shift(); held !== undefined && failed === undefined; held = queue.shift()) {
        const path = join(c.tmpDir, `custody-${toHex(new Uint8Array(randomBytes(12)))}.dcm`)
        try {
          await c.index.restore(mrn, held.id, path)
          await upload(path, held.size, patient, c)
          await c.index.release(mrn, held.id)
          n++
        } catch (err) {
          failed ??= err
          await rm(path, { force: true })
        }
      }
    }
    await Promise.all(Array.from({ length: ATTACH_CONCURRENCY }, worker))
    if (n > 0) log.info({ instances: n }, 'instances in custody attached to an enrolled patient')
    if (failed !== undefined) throw failed
    return n
  })
  return { store, linkPatient }
}
