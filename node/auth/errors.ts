// Errors of accounts, sessions and request bodies, one class per condition, and the HTTP status of
// each code for the error middleware (pass AUTH_STATUS_BY_CODE as createHttpServer's statusByCode).
import { MedichainError } from '../../protocol/errors.ts'

/** HTTP status of every code raised under node/auth that STATUS_BY_CODE does not already map. */
export const AUTH_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  INVALID_JSON: 400,
  WEAK_PASSWORD: 400,
  BAD_CREDENTIALS: 401,
  ACCOUNT_PENDING: 403,
  ACCOUNT_LOCKED: 403,
  HOME_ONLY: 403,
  CSRF: 403,
  BAD_SETUP_TOKEN: 403,
  BAD_SETUP_REQUEST: 403,
  USERNAME_TAKEN: 409,
  KEY_TAKEN: 409,
  ACCOUNT_STATE: 409,
  UNSUPPORTED_MEDIA_TYPE: 415,
  BAD_RECOVERY_CODE: 401,
  RECOVERY_CODE_USED: 410
}

/** Thrown when a recovery code is wrong, or the account is unknown or has none: one answer for all. */
export class BadRecoveryCodeError extends MedichainError {
  constructor () {
    super('BAD_RECOVERY_CODE', 'this recovery code does not open this account')
    this.name = 'BadRecoveryCodeError'
  }
}

/** Thrown when a recovery code was already used to set a new password (each code works once). */
export class RecoveryCodeUsedError extends MedichainError {
  constructor () {
    super('RECOVERY_CODE_USED', 'this recovery code was already used; use the newer one')
    this.name = 'RecoveryCodeUsedError'
  }
}

/** Thrown when a request body is not valid UTF-8 JSON. */
export class InvalidJsonError extends MedichainError {
  constructor (message = 'the request body is not valid JSON') {
    super('INVALID_JSON', message)
    this.name = 'InvalidJsonError'
  }
}

/** Thrown when a request body is not `application/json` (RFC 9110 §15.5.16). */
export class UnsupportedMediaTypeError extends MedichainError {
  constructor (message = 'expected Content-Type: application/json') {
    super('UNSUPPORTED_MEDIA_TYPE', message)
    this.name = 'UnsupportedMediaTypeError'
  }
}

/** Thrown when a new password is shorter or longer than the policy allows. */
export class WeakPasswordError extends MedichainError {
  constructor (message: string) {
    super('WEAK_PASSWORD', message)
    this.name = 'WeakPasswordError'
  }
}

/** Thrown when a sign-up names a username that exists. */
export class UsernameTakenError extends MedichainError {
  constructor () {
    super('USERNAME_TAKEN', 'this username is taken')
    this.name = 'UsernameTakenError'
  }
}

/** Thrown when a sign-up's signing key already belongs to an account, here or on the ledger. */
export class KeyTakenError extends MedichainError {
  constructor () {
    super('KEY_TAKEN', 'this signing key is already registered')
    this.name = 'KeyTakenError'
  }
}

/**
 * Thrown when the username or the password is wrong. One message for both, so an answer never
 * tells whether an account exists (OWASP Authentication Cheat Sheet).
 */
export class BadCredentialsError extends MedichainError {
  constructor () {
    super('BAD_CREDENTIALS', 'wrong username or password')
    this.name = 'BadCredentialsError'
  }
}

/** Thrown when a clinician or researcher signs in before an admin approved the account. */
export class AccountPendingError extends MedichainError {
  constructor () {
    super('ACCOUNT_PENDING', 'this account waits for approval by a hospital admin')
    this.name = 'AccountPendingError'
  }
}

/** Thrown when an account is locked by an admin, or for a while after repeated failed sign-ins. */
export class AccountLockedError extends MedichainError {
  constructor (message = 'this account is locked') {
    super('ACCOUNT_LOCKED', message)
    this.name = 'AccountLockedError'
  }
}

/** Thrown when an admin action does not fit the account's status (approving an active account). */
export class AccountStateError extends MedichainError {
  constructor (message: string) {
    super('ACCOUNT_STATE', message)
    this.name = 'AccountStateError'
  }
}

/** Thrown when too many attempts came from one client or for one account; `retryAfter` is in seconds. */
export class RateLimitedError extends MedichainError {
  readonly retryAfter: number
  constructor (retryAfter: number) {
    super('RATE_LIMITED', `too many attempts; retry in ${retryAfter} s`)
    this.name = 'RateLimitedError'
    this.retryAfter = retryAfter
  }
}

/** Thrown when a route needs a signed-in user and the request has no live session. */
export class UnauthenticatedError extends MedichainError {
  constructor (message = 'sign in first') {
    super('UNAUTHENTICATED', message)
    this.name = 'UnauthenticatedError'
  }
}

/** Thrown when the signed-in user's role may not use a route. */
export class ForbiddenError extends MedichainError {
  constructor (message = 'your role may not do this') {
    super('FORBIDDEN', message)
    this.name = 'ForbiddenError'
  }
}

/** Thrown when a write lacks the session's CSRF token or comes from another site. */
export class CsrfError extends MedichainError {
  constructor (message: string) {
    super('CSRF', message)
    this.name = 'CsrfError'
  }
}

/** Thrown when an admin sign-up carries no valid one-time setup token. */
export class BadSetupTokenError extends MedichainError {
  constructor () {
    super('BAD_SETUP_TOKEN', 'an admin account needs a valid one-time setup link; the IT team makes a new one with `medichain admin setup-link` on the peer\'s host')
    this.name = 'BadSetupTokenError'
  }
}

/** Thrown when too many password hashes wait for a thread: the peer is overloaded, try later. */
export class BusyError extends MedichainError {
  constructor () {
    super('UNAVAILABLE', 'the server is busy; try again shortly')
    this.name = 'BusyError'
  }
}

/** Thrown when a request for a new setup link is not signed with this hospital's key, or is stale. */
export class BadSetupRequestError extends MedichainError {
  constructor () {
    super('BAD_SETUP_REQUEST', 'a setup-link request must be signed with this hospital\'s key within the last minute')
    this.name = 'BadSetupRequestError'
  }
}

/**
 * Thrown when a patient signed in through their home hospital (a relayed session) asks this
 * hospital to change what signs them in: only the home hospital holds the account.
 */
export class HomeOnlyError extends MedichainError {
  constructor () {
    super('HOME_ONLY', 'your account lives at your home hospital: change your password there')
    this.name = 'HomeOnlyError'
  }
}
