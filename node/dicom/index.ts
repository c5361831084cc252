// The peer's DICOM node (issue 13): the patient index and custody (`<data>/dicom`), the ingest
// step, and the DIMSE listener, started and stopped together.
import { join } from 'node:path'
import type { Logger } from 'pino'
import type { DicomConfig } from '../config/dicom.ts'
import type { UploadComponents } from '../records/upload.ts'
import type { Reads } from '../records/reads.ts'
import { moveDestination } from '../config/dicom.ts'
import { createRetrieve } from './catalogue/retrieve.ts'
import type { Retrieve } from './catalogue/retrieve.ts'
import { ENROLMENT_CODE_TTL_MS, newEnrolmentCode, normaliseEnrolmentCode, UnknownEnrolmentCodeError } from './custody/enrolment.ts'
import { DicomCatalogue } from './catalogue/catalogue.ts'
import { createDicomIngest } from './custody/ingest.ts'
import type { DicomIngest } from './custody/ingest.ts'
import { PatientIndex } from './custody/patient-index.ts'
import type { PatientMatch } from './custody/patient-index.ts'
import { createDicomServer } from './network/server.ts'
import type { DicomServer } from './network/server.ts'

/** Folder of the patient index, the catalogue and the custody files inside the data folder. */
export const DICOM_DIR = 'dicom'

/** Folder of the catalogue inside DICOM_DIR. */
export const CATALOGUE_DIR = 'catalogue'

/** What the DICOM node is built from. */
export interface DicomInit {
  config: DicomConfig
  data: string
  /** Plaintext temp folder of the upload pipeline (wiped at start). */
  tmpDir: string
  /** The hospital's seed: the index's at-rest keys derive from it. */
  seed: Uint8Array
  /** Whether the hospital's staff, and so its DICOM nodes, read its own images without a consent (`records.custodianRead`). */
  custodianRead: boolean
}

/** What the DICOM node uses: the upload pipeline's components and the clock. */
export interface DicomComponents {
  upload: UploadComponents
  /** The web UI's reads: retrieve goes through the same access check and access log. */
  reads: Pick<Reads, 'ciphertext' | 'logListed'>
  logger: Logger
  clock: () => number
}

/** A running DICOM node. */
export interface Dicom {
  start(): Promise<void>
  stop(): Promise<void>
  address: DicomServer['address']
  /**
   * Links the hospital's MRN to an enrolled patient's key and ingests the instances held in
   * custody for it; returns how many. Throws UNKNOWN_PATIENT for a key no patient has.
   */
  linkPatient(mrn: string, patient: Uint8Array): Promise<number>
  /**
   * Files one received instance for STOW-RS (docs/api.md "DICOMweb"); durable when it resolves:
   * on the ledger, or in custody with `acknowledge: 'custody'` (attached right after, as C-STORE).
   */
  storeNow: DicomIngest['storeNow']
  /** Resolves once the intake has attached every instance it holds for a linked patient (or given up on it). */
  settled: DicomIngest['settled']
  /** Resolves once the instances acknowledged before the call are on the ledger (bounded: ingest.ts). */
  caughtUp: DicomIngest['caughtUp']
  /** A printed enrolment code for `mrn` (docs/api.md), valid for a month, single use. */
  issueEnrolmentCode(mrn: string): Promise<{ code: string, expires: number }>
  /**
   * Redeems an enrolment code for an enrolled patient: links its MRN to them and attaches what
   * custody holds. Throws UNKNOWN_ENROLMENT_CODE, MRN_LINKED or UNKNOWN_PATIENT.
   */
  enrol(code: string, patient: Uint8Array): Promise<number>
  /** Patients of this hospital by MRN or name (the desk's search; decrypted locally). */
  findPatients(query: string, limit: number): Promise<PatientMatch[]>
  /**
   * The sealed catalogue of catalogued instances: real UIDs and attributes under the ledger's
   * pseudonymous study, series and instance ids (for C-FIND, QIDO-RS and web DICOM uploads).
   */
  catalogue: DicomCatalogue
  /**
   * Query/retrieve over the catalogue as this hospital (the access rule and access logs of the
   * web UI): what C-FIND, C-MOVE and C-GET serve, result objects included, for DICOMweb too.
   */
  retrieve: Retrieve
}

/** Composes index, ingest and listener: `createDicom(init)(components)`. */
export function createDicom (init: DicomInit): (components: DicomComponents) => Dicom {
  return ({ upload, reads, logger, clock }) => {
    const log = logger.child({ component: 'dicom' })
    const index = new PatientIndex(join(init.data, DICOM_DIR), init.seed, upload.box)
    const catalogue = new DicomCatalogue(join(init.data, DICOM_DIR, CATALOGUE_DIR), init.seed)
    const ingest = createDicomIngest({ index, upload: { ...upload, catalogue }, tmpDir: init.tmpDir, logger: log, clock })
    const retrieve = createRetrieve({ catalogue, ledger: upload.ledger, reads, box: upload.box, tmpDir: init.tmpDir, logger: log, custodianRead: init.custodianRead, caughtUp: ingest.caughtUp })
    const qr = { aeTitle: init.config.aeTitle, retrieve, destination: (ae: string) => moveDestination(init.config.allowed, ae), logger: log }
    // C-STORE and STOW-RS answer at the same point: on the ledger, or durable in custody.
    const store = init.config.acknowledge === 'custody' ? ingest.store : ingest.storeNow
    const server = createDicomServer({ config: init.config, tmpDir: init.tmpDir })({ logger: log, store, qr })
    return {
      async start () {
        await index.open()
        try {
          await catalogue.open()
        } catch (err) {
          await index.close()
          throw err
        }
        try {
          await server.start()
        } catch (err) {
          await catalogue.close()
          await index.close()
          throw err
        }
        // Instances acknowledged before a stop or crash and still in custody for a linked patient.
        ingest.resume().catch((err: unknown) => log.error({ err }, 'could not resume attaching instances held in custody'))
      },
      async stop () {
        await server.stop()
        await ingest.stop()
        await catalogue.close()
        await index.close()
      },
      address: () => server.address(),
      linkPatient: ingest.linkPatient,
      storeNow: store,
      settled: ingest.settled,
      caughtUp: ingest.caughtUp,
      findPatients: async (query, limit) => await index.search(query, limit),
      async issueEnrolmentCode (mrn) {
        const code = newEnrolmentCode()
        const expires = clock() + ENROLMENT_CODE_TTL_MS
        await index.issueCode(normaliseEnrolmentCode(code) ?? code, mrn, expires)
        log.info('enrolment code issued')
        return { code, expires }
      },
      async enrol (typed, patient) {
        const code = normaliseEnrolmentCode(typed)
        const mrn = code === undefined ? undefined : await index.codeMrn(code, clock())
        if (code === undefined || mrn === undefined) throw new UnknownEnrolmentCodeError()
        const attached = await ingest.linkPatient(mrn, patient)
        await index.spendCode(code)
        return attached
      },
      catalogue,
      retrieve
    }
  }
}
