// Numbers and names of the peer's DICOMweb service (PS3.18), each with where it comes from.

/** Base path of the DICOMweb service on the peer's HTTP server (PS3.18 §8.2: any base URL). */
export const DICOMWEB_BASE = '/dicomweb'

/** The DICOM JSON media type (PS3.18 §8.7.3.1, Annex F). */
export const DICOM_JSON = 'application/dicom+json'

/** A DICOM Part 10 file (PS3.18 §8.7.3.2). */
export const DICOM_FILE = 'application/dicom'

/** Uncompressed bulk data (PS3.18 §8.7.3.3). */
export const OCTET_STREAM = 'application/octet-stream'

/** Instances in one STOW-RS request (a CT study rarely passes a few thousand). */
export const MAX_STOW_PARTS = 10_000

/** Parts of one STOW-RS request filed at once (mostly waiting on fsyncs; decoding queues for the pool). */
export const STOW_CONCURRENCY = 8

/** Results of one QIDO-RS query unless `limit` asks for fewer (PS3.18 §8.3.4.4). */
export const QIDO_DEFAULT_LIMIT = 1000

/** Lifetime of a viewer token unless the clinician asks for less (ms): a reading session. */
export const TOKEN_DEFAULT_TTL_MS = 60 * 60 * 1000

/** Longest lifetime of a viewer token (ms): a session's absolute limit (node/auth constants). */
export const TOKEN_MAX_TTL_MS = 12 * 60 * 60 * 1000

/** Live tokens one user may hold: enough for a few viewers, bounded so none can fill memory. */
export const MAX_TOKENS_PER_USER = 32

/** Prefix of a viewer token: says what it is in a config file or a leaked log line. */
export const TOKEN_PREFIX = 'mcdw_'

/** STOW-RS failure reasons (PS3.18 §10.5.3, PS3.4 §B.2.3 statuses). */
export const FAILURE = {
  processingFailure: 0x0110,
  outOfResources: 0xa700,
  dataSetMismatch: 0xa900,
  cannotUnderstand: 0xc000,
  /** SOP class not supported (PS3.4 §B.2.3, 0x0122). */
  sopClassNotSupported: 0x0122,
  /** An instance outside the study of the request URL: PS3.18 answers it as a data set mismatch. */
  studyMismatch: 0xa900
} as const
