// What happens to an instance received over C-STORE or STOW-RS: its PatientID (the hospital's MRN) is looked
// up in the patient index; a linked patient's instance goes through the upload pipeline like a
// web upload, and an unlinked one is held in the hospital's custody until the patient is linked.
// The MRN is read here and nowhere else, and never logged.
import { open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import { MedichainError } from '../../../protocol/errors.ts'
import { equals, toHex } from '../../../protocol/bytes.ts'
import { MrnLinkedError } from './enrolment.ts'
import { readInstanceHeader, readInstanceHeaderFile } from '../catalogue/instance-header.ts'
import type { InstanceHeader } from '../catalogue/instance-header.ts'
import { ingestUpload, UnknownPatientError } from '../../records/upload.ts'
import type { UploadComponents } from '../../records/upload.ts'
import type { ReceivedFile } from '../../records/multipart.ts'
import { QUERY_CATCH_UP_MS, STORE_STATUS } from '../constants.ts'
import { createIntake } from './intake.ts'
import { HOLD_INLINE_MAX_BYTES } from './patient-index.ts'
import type { HeldInstance, PatientIndex } from './patient-index.ts'
import type { ReceivedInstance, StoreOutcome } from '../network/scp.ts'
import { serialPerKey } from '../../serial.ts'

/** What the ingest step uses. */
export interface DicomIngestComponents {
  index: PatientIndex
  upload: UploadComponents
  tmpDir: string
  logger: Logger
  clock: () => number
}

/** The C-STORE status of an upload pipeline error (PS3.4 §B.2.3). */
function statusOf (err: unknown): StoreOutcome {
  const code = err instanceof MedichainError ? err.code : ''
  if (code === 'IMAGE_TOO_LARGE' || code === 'STORAGE_FULL') return { status: STORE_STATUS.outOfResources, comment: 'out of resources' }
  if (code === 'UNSUPPORTED_FORMAT' || code === 'UNSUPPORTED_TRANSFER_SYNTAX' || code === 'UNSUPPORTED_PIXEL_FORMAT' || code === 'CORRUPT_IMAGE') {
    return { status: STORE_STATUS.cannotUnderstand, comment: `cannot understand the data set (${code})` }
  }
  return { status: STORE_STATUS.processingFailure, comment: 'the instance could not be stored' }
}

/**
 * The header of a received instance (parsed once, here, unless the caller parsed it already), and
 * its bytes when small enough to hold inline and wanted: the upload pipeline then reuses both.
 */
async function readIds (instance: ReceivedInstance, wantBytes: boolean): Promise<{ header: InstanceHeader, bytes?: Uint8Array }> {
  if (instance.bytes !== undefined) return { header: instance.header ?? readInstanceHeader(instance.bytes), bytes: instance.bytes }
  if (instance.size > HOLD_INLINE_MAX_BYTES || (!wantBytes && instance.header !== undefined)) {
    return { header: instance.header ?? await readInstanceHeaderFile(instance.path) }
  }
  const bytes = new Uint8Array(await readFile(instance.path))
  return { header: instance.header ?? readInstanceHeader(bytes), bytes }
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

/**
 * Runs the upload pipeline on a Part 10 file for a patient; the file is removed whatever happens.
 * The header and bytes already read, when given, are not read again.
 */
async function upload (path: string, size: number, patient: Uint8Array, c: DicomIngestComponents, known: { header?: InstanceHeader, bytes?: Uint8Array, inMemory?: boolean } = {}): Promise<void> {
  // An instance received in memory is sealed and decoded from its bytes: it never touches the disk
  // in plaintext (ingestUpload's sealBytes).
  const head = known.bytes?.subarray(0, 1024) ?? await headOf(path)
  const file: ReceivedFile = { path, size, head, declaredType: 'application/dicom', fields: {} }
  if (known.bytes !== undefined) file.bytes = known.bytes
  if (known.header !== undefined) file.dicomHeader = known.header
  await ingestUpload(file, patient, c.upload, { waitForDecode: true })
}

/** An instance's outcome, and whether it went to custody (no patient linked to its PatientID yet). */
export interface FiledOutcome extends StoreOutcome { held?: boolean }

/** What the ingest step offers the SCP, STOW-RS and the desk. */
export interface DicomIngest {
  /**
   * C-STORE, and STOW-RS with `acknowledge: 'custody'`: answers once the instance is durable in
   * custody. A linked patient's instance is then attached to the ledger (analysed, when a model is
   * installed) by the intake, concurrently with the instances that follow it; custody is the
   * durable queue, so an instance acknowledged before a crash is attached after the restart.
   */
  store: (instance: ReceivedInstance) => Promise<FiledOutcome>
  /**
   * STOW-RS: answers once a linked patient's instance is on the ledger (many requests' instances
   * share a block), or once an unlinked one is held in custody.
   */
  storeNow: (instance: ReceivedInstance) => Promise<FiledOutcome>
  linkPatient: (mrn: string, patient: Uint8Array) => Promise<number>
  /** Queues every held instance of a linked patient (after a restart); resolves once queued. */
  resume: () => Promise<void>
  /** Resolves once the intake is idle. */
  settled: () => Promise<void>
  /**
   * Resolves once every instance queued for the ledger before the call has been attached (or has
   * failed), or after QUERY_CATCH_UP_MS: a query waits for it to see what was acknowledged before it.
   */
  caughtUp: () => Promise<void>
  stop: () => Promise<void>
}

/**
 * Instances attached to the ledger at once by the intake. Most of an instance's time is spent
 * waiting on fsyncs (catalogue, blocks, ledger), so many overlap; decoding queues for the pool.
 */
export const INTAKE_CONCURRENCY = 8

/**
 * Quiet time after the last received instance before the intake attaches at full concurrency
 * (ms): longer than the gap between two instances of one association (a round trip), short
 * against an association.
 */
export const SENDERS_QUIET_MS = 50

/**
 * Bytes of received instances the intake's queued jobs keep at hand (plaintext in memory or in the
 * temp folder); past it, an instance is restored from custody when its turn comes, which costs
 * its decryption and a second header parse. 256 MiB: two thousand 128 KiB CT slices.
 */
export const INTAKE_PLAIN_BYTES = 256 * 1024 * 1024

/** The store handlers of the SCP and STOW-RS: each answers once the instance is durable. */
export function createDicomIngest (c: DicomIngestComponents): DicomIngest {
  const log = c.logger
  // Filing by MRN and linking run one at a time: an instance filed while its MRN is being linked
  // is either ingested directly or held before the link lists what is held, never left behind.
  let filing: Promise<unknown> = Promise.resolve()
  const serially = async <T>(fn: () => Promise<T>): Promise<T> => {
    const run = filing.then(fn, fn)
    filing = run.catch(() => {})
    return await run
  }
  /**
   * The ledger key of the instance in `path` for this hospital, and whether this hospital already
   * recorded it for `patient` (same study, series and instance), or undefined without a catalogue.
   */
  const recorded = async (path: string, patient: Uint8Array): Promise<{ key: string, done: () => Promise<boolean> } | undefined> => {
    const catalogue = c.upload.catalogue
    if (catalogue === undefined) return undefined
    const { record, dicom } = catalogue.place(await readInstanceHeaderFile(path))
    const done = async (): Promise<boolean> => (await c.upload.ledger.queries.studyImages(patient, record))
      .some(i => i.dicom !== undefined && equals(i.dicom.instance, dicom.instance) && equals(i.dicom.series, dicom.series) && equals(i.custodian, c.upload.ledger.self))
    return { key: toHex(dicom.instance), done }
  }
  /** Restored copies of one instance are attached one at a time, so the second sees the first's image.add. */
  const oneAtATime = serialPerKey()
  /** Bytes of the plaintext copies queued intake jobs hold (INTAKE_PLAIN_BYTES). */
  let plainBytes = 0
  // Senders first: while instances are being received and answered (a C-STORE association, a
  // STOW-RS request), the intake attaches one at a time, so the CPU goes to answering; once the
  // senders have been quiet for SENDERS_QUIET_MS it attaches INTAKE_CONCURRENCY at once and
  // catches up. Custody is durable, so nothing waits on this but the ledger entry.
  let receiving = 0
  let lastReceived = 0
  const sendersActive = (): boolean => receiving > 0 || performance.now() - lastReceived < SENDERS_QUIET_MS
  let wake: ReturnType<typeof setTimeout> | undefined
  const received = (): void => {
    lastReceived = performance.now()
    clearTimeout(wake)
    wake = setTimeout(() => { if (!sendersActive()) intake.nudge() }, SENDERS_QUIET_MS)
    wake.unref?.()
  }
  const intake = createIntake({ concurrency: INTAKE_CONCURRENCY })({
    limit: () => sendersActive() ? 1 : INTAKE_CONCURRENCY,
    logger: log,
    attach: async (job) => {
      let path = job.plain
      if (path === undefined) {
        path = join(c.tmpDir, `custody-${toHex(new Uint8Array(randomBytes(12)))}.dcm`)
        try {
          await c.index.restore(job.mrn, job.id, path)
        } catch (err) {
          // Released meanwhile: another request attached it.
          if (err instanceof MedichainError && err.code === 'NOT_FOUND') return
          throw err
        }
      }
      // An instance restored from custody may be on the ledger already: a crash after its
      // image.add but before its release, or the same instance sent twice before the patient
      // enrolled. It is released without a second image.add.
      const file = path
      const ingest = async (): Promise<void> => {
        await upload(file, job.size, job.patient, c, job.plain === undefined ? {} : { header: job.header, bytes: job.bytes, inMemory: job.inMemory })
        await c.index.release(job.mrn, job.id)
        log.info({ size: job.size }, 'instance in custody ingested for a linked patient')
      }
      const known = job.plain === undefined ? await recorded(file, job.patient).catch(() => undefined) : undefined
      if (known === undefined) return await ingest()
      await oneAtATime(known.key, async () => {
        if (!await known.done()) return await ingest()
        await rm(file, { force: true })
        await c.index.release(job.mrn, job.id)
        log.info('an instance in custody was on the ledger already; released')
      })
    }
  })

  /** Checks an instance and files it: the linked patient, or undefined once held in custody. */
  const file = async (instance: ReceivedInstance, holdLinked: boolean): Promise<StoreOutcome | { mrn: string, patient?: Uint8Array, held?: HeldInstance, header: InstanceHeader, bytes?: Uint8Array }> => {
    let ids: Awaited<ReturnType<typeof readIds>>
    try {
      // The bytes are held inline in custody (C-STORE, or an instance of no linked patient yet).
      ids = await readIds(instance, holdLinked || instance.header === undefined)
    } catch (err) {
      return statusOf(err)
    }
    const { header, bytes } = ids
    if (header.instance.sopClassUid !== instance.sopClassUid) return { status: STORE_STATUS.dataSetMismatch, comment: 'the data set does not match the SOP class of the request' }
    if (header.patient.mrn === '') return { status: STORE_STATUS.cannotUnderstand, comment: 'the data set has no PatientID' }
    const mrn = header.patient.mrn
    try {
      const filed = await serially(async () => {
        // The desk finds the patient by MRN or name (routes.ts), linked or not yet.
        await c.index.note(header.patient, c.clock())
        const patient = await c.index.patientOf(mrn)
        if (patient !== undefined && !holdLinked) return { mrn, patient, header, bytes }
        // A small instance's record is queued here and made durable below, in one fsync with the
        // instances filed meanwhile (STOW-RS parts); a link lists what is held only once every
        // queued record is written (linkPatient).
        if (bytes !== undefined && bytes.length <= HOLD_INLINE_MAX_BYTES) {
          const { held, durable } = c.index.holdInline(mrn, instance.size, c.clock(), bytes)
          return { mrn, patient, held, durable, header, bytes }
        }
        return { mrn, patient, held: await c.index.hold(mrn, instance.path, instance.size, c.clock(), bytes), header, bytes }
      })
      if ('durable' in filed) await filed.durable
      return filed
    } catch (err) {
      log.warn({ code: err instanceof MedichainError ? err.code : undefined }, 'a received instance could not be filed')
      return statusOf(err)
    }
  }

  const store = async (instance: ReceivedInstance): Promise<FiledOutcome> => {
    let queued = false
    receiving++
    try {
      const filed = await file(instance, true)
      if ('status' in filed) return filed
      if (filed.patient !== undefined && filed.held !== undefined) {
        // Durable in custody: answered now, attached by the intake with the plaintext, its bytes
        // and its parsed header still at hand; past a backlog (the model slower than the sender),
        // from custody, so memory does not grow with it.
        const job = { mrn: filed.mrn, id: filed.held.id, size: instance.size, patient: filed.patient }
        queued = plainBytes + instance.size <= INTAKE_PLAIN_BYTES
        if (queued) {
          plainBytes += instance.size
          intake.enqueue({ ...job, plain: instance.path, header: filed.header, bytes: filed.bytes, inMemory: instance.bytes !== undefined })
            .catch(() => {}).finally(() => { plainBytes -= instance.size })
        } else intake.enqueue(job).catch(() => {})
        return { status: STORE_STATUS.success }
      }
      log.info({ size: instance.size }, 'instance held in custody (no patient linked to its PatientID yet)')
      return { status: STORE_STATUS.success, held: true }
    } finally {
      receiving--
      received()
      if (!queued) await rm(instance.path, { force: true })
    }
  }

  const storeNow = async (instance: ReceivedInstance): Promise<FiledOutcome> => {
    let uploading = false
    try {
      const filed = await file(instance, false)
      if ('status' in filed) return filed
      if (filed.patient === undefined) {
        log.info({ size: instance.size }, 'instance held in custody (no patient linked to its PatientID yet)')
        return { status: STORE_STATUS.success, held: true }
      }
      uploading = true
      try {
        await upload(instance.path, instance.size, filed.patient, c, { header: filed.header, bytes: filed.bytes, inMemory: instance.bytes !== undefined })
        log.info({ size: instance.size }, 'instance ingested for a linked patient')
        return { status: STORE_STATUS.success }
      } catch (err) {
        log.warn({ code: err instanceof MedichainError ? err.code : undefined }, 'a stored instance was refused by the upload pipeline')
        if (err instanceof UnknownPatientError) return { status: STORE_STATUS.processingFailure, comment: 'the linked patient is unknown' }
        return statusOf(err)
      }
    } finally {
      if (!uploading) await rm(instance.path, { force: true })
    }
  }

  /**
   * Links an MRN to an enrolled patient and attaches every instance held for it. Throws
   * UNKNOWN_PATIENT when no patient account has that key, MRN_LINKED when the MRN is linked to
   * another patient already. Returns how many were attached.
   */
  const linkPatient = async (mrn: string, patient: Uint8Array): Promise<number> => {
    const held = await serially(async () => {
      const account = await c.upload.ledger.queries.patientAccount(patient)
      if (account === undefined || account.role !== 'patient') throw new UnknownPatientError()
      const linked = await c.index.patientOf(mrn)
      if (linked !== undefined && !equals(linked, patient)) throw new MrnLinkedError()
      if (linked === undefined) await c.index.link(mrn, patient)
      // Instances filed before this step may still have their custody record in a batch.
      await c.index.settled()
      return await c.index.held(mrn)
    })
    // The intake attaches them a few at a time, oldest first; the image.add of instances in flight
    // together share a group commit. A failure leaves that instance in custody for the next link.
    const attached = await Promise.allSettled(held.map(async h => await intake.enqueue({ mrn, id: h.id, size: h.size, patient })))
    const n = attached.filter(a => a.status === 'fulfilled').length
    if (n > 0) log.info({ instances: n }, 'instances in custody attached to an enrolled patient')
    const failed = attached.find(a => a.status === 'rejected')
    if (failed !== undefined) throw failed.reason
    return n
  }

  const resume = async (): Promise<void> => {
    for (const h of await c.index.allHeld()) {
      const patient = await c.index.patientOf(h.mrn)
      if (patient !== undefined) intake.enqueue({ mrn: h.mrn, id: h.id, size: h.size, patient }).catch(() => {})
    }
  }

  const caughtUp = async (): Promise<void> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(true), QUERY_CATCH_UP_MS) })
    try {
      if (await Promise.race([intake.caughtUp().then(() => false), late])) {
        log.warn({ waitedMs: QUERY_CATCH_UP_MS, pending: intake.pending() }, 'a query answers before every instance acknowledged earlier is on the ledger')
      }
    } finally {
      clearTimeout(timer)
    }
  }

  return { store, storeNow, linkPatient, resume, settled: async () => await intake.settled(), caughtUp, stop: async () => { clearTimeout(wake); await intake.stop() } }
}
