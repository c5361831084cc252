// Typed errors of federated learning, with stable codes: the coordinator logs a refused update by
// its code, tests assert on codes, and the HTTP layer maps them to statuses.
import { MedichainError } from '../../protocol/errors.ts'

/**
 * Why an update (or a round message) was refused. Weights: NON_FINITE, BAD_SHAPE, ABSURD_NORM.
 * Sender: NOT_MEMBER (signer is not an active member), BAD_SIGNATURE. Timing and identity of the
 * round: WRONG_TASK, WRONG_ROUND, LATE (after the deadline or after the round closed), DUPLICATE
 * (a second update from one hospital in one round).
 */
export type RefusalCode =
  | 'NON_FINITE'
  | 'BAD_SHAPE'
  | 'ABSURD_NORM'
  | 'NOT_MEMBER'
  | 'BAD_SIGNATURE'
  | 'WRONG_TASK'
  | 'WRONG_ROUND'
  | 'LATE'
  | 'DUPLICATE'

/** Thrown when an update or round message breaks a rule of the FL protocol; `code` says which. */
export class UpdateRefusedError extends MedichainError {
  constructor (code: RefusalCode, message: string) {
    super(code, message)
    this.name = 'UpdateRefusedError'
  }
}

/**
 * Thrown when a task asks for secure aggregation and a robust rule (trimmed mean) together: the
 * robust rule needs every update in the clear, which secure aggregation exists to prevent.
 */
export class AggregationConflictError extends MedichainError {
  constructor () {
    super('AGGREGATION_CONFLICT', 'secure aggregation cannot be combined with trimmed-mean aggregation: choose one')
    this.name = 'AggregationConflictError'
  }
}

/** Thrown when a task is started while this peer already coordinates a running task. */
export class TaskConflictError extends MedichainError {
  constructor (message: string) {
    super('CONFLICT', message)
    this.name = 'TaskConflictError'
  }
}

/** Thrown (into a task's view) when this peer has no held-out set to validate rounds on. */
export class NoValidationSetError extends MedichainError {
  constructor () {
    super('NO_VALIDATION_SET', 'this peer has no held-out labelled images to validate rounds on, so it cannot coordinate')
    this.name = 'NoValidationSetError'
  }
}

/** HTTP status of the FL codes that node/http/middleware/errors.ts STATUS_BY_CODE does not map (pass to createHttpServer). */
export const FL_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  NOT_STARTED: 503,
  AGGREGATION_CONFLICT: 400,
  TASK_NOT_CONTINUABLE: 409,
  FETCH_FAILED: 502,
  BAD_WEIGHTS: 422,
  NO_EARLIER_MODEL: 409
}

/**
 * Thrown when an admin pins (or rolls back to) a model that cannot be deployed: FETCH_FAILED when
 * its weights could not be fetched from this disk or a member, BAD_WEIGHTS when they fail the
 * format checks.
 */
export class ModelNotDeployableError extends MedichainError {
  /** The code, typed: the reason the model is held with. */
  readonly hold: 'FETCH_FAILED' | 'BAD_WEIGHTS'
  constructor (code: 'FETCH_FAILED' | 'BAD_WEIGHTS', message: string, options?: ErrorOptions) {
    super(code, message, options)
    this.hold = code
    this.name = 'ModelNotDeployableError'
  }
}

/** Thrown when an admin asks to roll back but no model was deployed here before the current one. */
export class NoEarlierModelError extends MedichainError {
  constructor () {
    super('NO_EARLIER_MODEL', 'no model was deployed here before the current one')
    this.name = 'NoEarlierModelError'
  }
}

/**
 * Thrown when an admin asks to continue a task that cannot be continued: it was not coordinated
 * here, it is not 'interrupted' or 'stopped', or it has no round to continue from.
 */
export class TaskNotContinuableError extends MedichainError {
  constructor (message: string) {
    super('TASK_NOT_CONTINUABLE', message)
    this.name = 'TaskNotContinuableError'
  }
}

/** Thrown when the federation is used before `start()` or after `stop()`. */
export class FederationNotStartedError extends MedichainError {
  constructor (message = 'federated learning is not started') {
    super('NOT_STARTED', message)
    this.name = 'FederationNotStartedError'
  }
}
