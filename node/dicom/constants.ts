// Numbers and identifiers of the DICOM listener, each with where it comes from.

/** The registered DICOM port (IANA "dicom", PS3.8 §9.1.5 names 104 and 11112; 11112 needs no root). */
export const DEFAULT_DICOM_PORT = 11112

/** The peer's AE title unless configured (issue 13). */
export const DEFAULT_AE_TITLE = 'MEDICHAIN'

/**
 * Maximum length of a received P-DATA-TF variable field that we announce in A-ASSOCIATE-AC
 * (PS3.8 §D.1). 128 KiB: dcmtk and Orthanc default to 16 KiB and accept larger; bigger PDUs save
 * little beyond this.
 */
export const DEFAULT_MAX_PDU_BYTES = 128 * 1024

/** Smallest configurable max PDU: the smallest a PS3.8 implementation may announce is 4 KiB-ish; we keep 4096. */
export const MIN_PDU_LIMIT = 4096

/** Largest configurable max PDU: every PDU is held in memory while it arrives. */
export const MAX_PDU_LIMIT = 16 * 1024 * 1024

/**
 * Largest A-ASSOCIATE-RQ accepted (bytes of its variable field). dcmtk's storescu proposes at most
 * 128 presentation contexts of ~150 bytes each (about 20 KiB); 64 KiB leaves room for user items.
 */
export const MAX_ASSOCIATE_RQ_BYTES = 64 * 1024

/** Largest instance received over C-STORE (bytes): matches the upload pipeline's decode cap. */
export const MAX_INSTANCE_BYTES = 512 * 1024 * 1024

/**
 * Time an association may stay silent (ms): dcmtk's default ACSE/DIMSE timeouts are 30 s, so a
 * caller that sends nothing for a minute has gone away and its socket is closed.
 */
export const ASSOCIATION_TIMEOUT_MS = 60_000

/** PDU types (PS3.8 §9.3.1, table 9-11). */
export const PDU = {
  associateRq: 0x01,
  associateAc: 0x02,
  associateRj: 0x03,
  pData: 0x04,
  releaseRq: 0x05,
  releaseRp: 0x06,
  abort: 0x07
} as const

/** Verification SOP class (PS3.4 §A.4). */
export const VERIFICATION_SOP_CLASS = '1.2.840.10008.1.1'

/** Transfer syntaxes a C-STORE may arrive in (PS3.5 §A.1, §A.2, §A.5): native little endian only. */
export const ACCEPTED_TRANSFER_SYNTAXES: readonly string[] = [
  '1.2.840.10008.1.2.1', // Explicit VR Little Endian
  '1.2.840.10008.1.2.1.99', // Deflated Explicit VR Little Endian
  '1.2.840.10008.1.2' // Implicit VR Little Endian (the default transfer syntax, PS3.5 §10.1)
]

/** HKDF info of the patient index and custody keys (RFC 5869): one purpose, one key. */
export const INDEX_KEY_INFO = 'medichain/dicom/patient-index/v1'

/** HKDF info of the key that names MRNs in the index (an HMAC key, so no MRN is ever a level key). */
export const INDEX_NAME_KEY_INFO = 'medichain/dicom/patient-index-names/v1'


/** C-STORE statuses (PS3.4 §B.2.3, PS3.7 §C). */
export const STORE_STATUS = {
  success: 0x0000,
  /** Refused: out of resources. */
  outOfResources: 0xa700,
  /** Error: data set does not match SOP class. */
  dataSetMismatch: 0xa900,
  /** Error: cannot understand. */
  cannotUnderstand: 0xc000,
  /** Failure: processing failure (PS3.7 §C.4.3). */
  processingFailure: 0x0110,
  /** Refused: SOP class not supported (PS3.4 §B.2.3). */
  sopClassNotSupported: 0x0122
} as const

/** HKDF info of the key that turns real DICOM UIDs into the ledger's pseudonymous ids (an HMAC key). */
export const UID_PSEUDONYM_KEY_INFO = 'medichain/dicom/uid-pseudonyms/v1'

/** HKDF info of the key that seals the DICOM catalogue (the attributes C-FIND answers with). */
export const CATALOGUE_KEY_INFO = 'medichain/dicom/catalogue/v1'

/**
 * Longest a query or retrieve waits for the instances acknowledged before it (from custody) to
 * reach the ledger, so that it finds them (ms); past it, it answers with what is there and logs.
 * 20 s: a 200-instance association analysed by the model, on two cores.
 */
export const QUERY_CATCH_UP_MS = 20_000
