// Typed errors with stable codes. Callers (tests, the HTTP layer) branch on `code`, never on the
// message text, which is for people.

/** Base class of every error Medichain raises on purpose. */
export class MedichainError extends Error {
  readonly code: string
  constructor (code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
    this.name = 'MedichainError'
  }
}

/** Thrown when bytes cannot be decoded, or decode to a non-canonical encoding. */
export class EncodingError extends MedichainError {
  constructor (message: string, code: 'BAD_ENCODING' | 'NON_CANONICAL' = 'BAD_ENCODING', options?: ErrorOptions) {
    super(code, message, options)
    this.name = 'EncodingError'
  }
}

/** Thrown when a decoded value does not have the shape its schema requires. */
export class SchemaError extends MedichainError {
  constructor (message: string) {
    super('BAD_SCHEMA', message)
    this.name = 'SchemaError'
  }
}

/** Thrown when a signature does not verify under strict RFC 8032 rules. */
export class SignatureError extends MedichainError {
  constructor (message: string) {
    super('BAD_SIGNATURE', message)
    this.name = 'SignatureError'
  }
}

/** Thrown when an input is larger than the protocol allows. */
export class TooLargeError extends MedichainError {
  constructor (message: string) {
    super('TOO_LARGE', message)
    this.name = 'TooLargeError'
  }
}

/** Thrown when a Merkle inclusion proof does not lead to the signed root. */
export class ProofError extends MedichainError {
  constructor (message: string) {
    super('BAD_PROOF', message)
    this.name = 'ProofError'
  }
}

/** Codes under which the ledger rejects a block or transaction (see ledger/validate). */
export type RejectCode =
  | 'WRONG_LEDGER'
  | 'NOT_MEMBER'
  | 'BAD_HEIGHT'
  | 'BAD_PREV'
  | 'BAD_LINKS'
  | 'BAD_TX_ROOT'
  | 'FUTURE_TIME'
  | 'BAD_TIME'
  | 'BAD_MODALITY'
  | 'BAD_IMAGE_META'
  | 'UNAUTHORISED_SIGNER'
  | 'DUPLICATE_TX'
  | 'REPLAYED_SEQ'
  | 'EQUIVOCATION'
  | 'FLAGGED_MEMBER'
  | 'NOT_TASK_COORDINATOR'
  | 'DIRECTORY_SUBJECT'
  | 'BAD_ACCESS_LOG'
  | 'CONSENT_KEYS_UNBOUND'
  | 'REKEY_NOT_CUSTODIAN'
  | 'BAD_REKEY'
  | 'REKEY_UNKNOWN'
  | 'EMERGENCY_ROLE'
  | 'EMERGENCY_NOT_CUSTODIAN'
  | 'BAD_EMERGENCY'
  | 'EMERGENCY_UNKNOWN'
  | 'REKEY_VETO_SIGNER'
  | 'BAD_REWRAP'
  | 'TX_TIME'
  | 'CONSENT_SELF'
  | 'CONSENT_EXPIRED'
  | 'CONSENT_TOO_LARGE'
  | 'UNKNOWN_GRANTEE'
  | 'FOREIGN_IMAGE'
  | 'FOREIGN_RECORD'
  | 'BAD_CONSENT'
  | 'UNKNOWN_PROJECT'
  | 'NOT_PROJECT_HOSPITAL'
  | 'BAD_STUDY'
  | 'BAD_STUDY_KEY'
  | 'STUDY_KEY_EXISTS'
  | 'BAD_STUDY_SEAL'
  | 'NO_STUDY_KEY'

/** Thrown when a well-formed block or transaction breaks a ledger rule. */
export class LedgerRuleError extends MedichainError {
  constructor (code: RejectCode, message: string) {
    super(code, message)
    this.name = 'LedgerRuleError'
  }
}

/** Thrown when a block cannot be judged yet because a block it depends on is missing. */
export class MissingDependencyError extends MedichainError {
  /** Hex hashes of the blocks that must arrive first. */
  readonly missing: string[]
  constructor (message: string, missing: string[]) {
    super('MISSING_DEPENDENCY', message)
    this.name = 'MissingDependencyError'
    this.missing = missing
  }
}

/** Thrown when a lookup names something that does not exist. */
export class NotFoundError extends MedichainError {
  constructor (message: string) {
    super('NOT_FOUND', message)
    this.name = 'NotFoundError'
  }
}

/** Thrown when a request is malformed (bad query parameter, bad JSON). */
export class InvalidRequestError extends MedichainError {
  constructor (message: string) {
    super('INVALID', message)
    this.name = 'InvalidRequestError'
  }
}
