// Who may publish a model for a federated task: only the task's coordinator. A task id commits to
// its coordinator's member key (`<name>-<16 hex fingerprint><8 hex random>`), so the ledger checks a
// publication on its own bytes, with no task registry whose first writer could be raced, and every
// member reaches the same verdict whatever order blocks arrive in.
import { concat, toHex, utf8 } from '../../protocol/bytes.ts'
import { LedgerRuleError } from '../../protocol/errors.ts'
import { sha256 } from '../../protocol/crypto/hash.ts'
import type { TxOf } from '../../protocol/chain/tx.ts'

/** Domain tag of a coordinator fingerprint, so the hash is never the same as any other hash of a key. */
export const FL_TASK_TAG = 'medichain/fl-task/v1'

/**
 * Hex characters of the fingerprint in a task id: 64 bits. Forging one means finding a member key
 * whose tagged SHA-256 starts with the target's 64 bits (a second preimage, ~2^64 work), and that
 * key must then be voted in as a member.
 */
export const COORDINATOR_FINGERPRINT_HEX = 16

/** Hex characters of randomness after the fingerprint: tasks of one coordinator differ by them. */
export const TASK_NONCE_HEX = 8

/** `<name>-<fingerprint><nonce>`: the name, then the coordinator's fingerprint and the nonce. */
const TASK_ID_TAIL = new RegExp(`^[a-z0-9][a-z0-9-]*-([0-9a-f]{${COORDINATOR_FINGERPRINT_HEX}})[0-9a-f]{${TASK_NONCE_HEX}}$`)

/** The fingerprint a task id carries for the coordinator with member key `key`. */
export function coordinatorFingerprint (key: Uint8Array): string {
  return toHex(sha256(concat(utf8(FL_TASK_TAG), new Uint8Array([0]), key))).slice(0, COORDINATOR_FINGERPRINT_HEX)
}

/** A task id for a coordinator: `<name>-<fingerprint><nonce hex>`; `nonce` must be TASK_NONCE_HEX / 2 bytes. */
export function taskIdFor (name: string, coordinator: Uint8Array, nonce: Uint8Array): string {
  if (nonce.length * 2 !== TASK_NONCE_HEX) throw new TypeError(`task nonce: expected ${TASK_NONCE_HEX / 2} bytes, got ${nonce.length}`)
  return `${name}-${coordinatorFingerprint(coordinator)}${toHex(nonce)}`
}

/** True when `task` is a task id whose coordinator is `key`. */
export function isCoordinatorOf (task: string, key: Uint8Array): boolean {
  const m = TASK_ID_TAIL.exec(task)
  return m !== null && m[1] === coordinatorFingerprint(key)
}

/** Refuses (NOT_TASK_COORDINATOR) a model.publish whose signer is not the coordinator its task id names. */
export function checkPublisher (tx: TxOf<'model.publish'>): void {
  if (!isCoordinatorOf(tx.body.task, tx.signer)) {
    throw new LedgerRuleError('NOT_TASK_COORDINATOR', 'model.publish must be signed by the coordinator its task id names')
  }
}
