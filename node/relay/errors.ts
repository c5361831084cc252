// Errors of relayed sign-in (issue 18), one class per condition, and their HTTP statuses. Refusals
// the home hospital makes travel as their own codes (BAD_CREDENTIALS, RATE_LIMITED, …) so the
// patient sees the same answer as at home.
import { MedichainError } from '../../protocol/errors.ts'

/** HTTP status of every code raised under node/relay. */
export const RELAY_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  HOME_UNREACHABLE: 503,
  UNKNOWN_HOSPITAL: 404,
  PATIENTS_ONLY: 403,
  BAD_RELAY_PROOF: 400,
  RELAY_PROTOCOL: 502,
  ACCOUNT_SYNCING: 503
}

/** Thrown when the patient's home hospital cannot be reached now (offline, no connection, timeout). */
export class HomeUnreachableError extends MedichainError {
  readonly retryAfter: number
  constructor (retryAfter: number, options?: ErrorOptions) {
    super('HOME_UNREACHABLE', 'your home hospital cannot be reached right now; try again in a moment', options)
    this.name = 'HomeUnreachableError'
    this.retryAfter = retryAfter
  }
}

/** Thrown when a sign-in names a home hospital that is not an active member, or this hospital itself. */
export class UnknownHospitalError extends MedichainError {
  constructor (message = 'no member hospital has this key') {
    super('UNKNOWN_HOSPITAL', message)
    this.name = 'UnknownHospitalError'
  }
}

/** Thrown when the right password of a clinician, researcher or admin comes through another hospital. */
export class PatientsOnlyError extends MedichainError {
  constructor () {
    super('PATIENTS_ONLY', 'only patients sign in at another hospital; staff sign in at their own hospital')
    this.name = 'PatientsOnlyError'
  }
}

/** Thrown when a member answers the relay protocol with something it does not define. */
export class RelayProtocolError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('RELAY_PROTOCOL', message, options)
    this.name = 'RelayProtocolError'
  }
}

/** Thrown when the home hospital signed a patient in whose registration this hospital's ledger does not hold yet. */
export class AccountSyncingError extends MedichainError {
  readonly retryAfter = 5
  constructor () {
    super('ACCOUNT_SYNCING', 'this hospital has not yet received your registration from your home hospital; try again in a few seconds')
    this.name = 'AccountSyncingError'
  }
}
