// Types shared by the account store, the sessions and the routes: the stored account, its public
// view, and the signed-in user that the session middleware hands to every later route.
import type { Role } from '../../protocol/chain/tx.ts'

/** Returns `n` bytes from a cryptographically secure source; a component so tests can fix it. */
export type RandomBytes = (n: number) => Uint8Array

/** Account lifecycle: pending until an admin approves (clinicians, researchers), locked by an admin. */
export const ACCOUNT_STATUSES = ['pending', 'active', 'locked'] as const
export type AccountStatus = typeof ACCOUNT_STATUSES[number]

/** Any JSON object; the sealed vault is one, kept as the client sent it. */
export type JsonObject = { [key: string]: unknown }

/**
 * An account as stored in `<data>/accounts`. Keys are lower-case hex. Local to the hospital: the
 * username, password hash and vault never reach the ledger or gossip.
 */
export interface AccountRecord {
  username: string
  role: Role
  status: AccountStatus
  /** PHC string of the scrypt hash (see accounts/password.ts). */
  passwordHash: string
  /** Ed25519 public key: the user's identity on the ledger. */
  signPub: string
  /** X25519 public key data keys are wrapped for. */
  boxPub: string
  /** The user's proof of possession over the `account.register` body, kept for approval. */
  pop: string
  /** This peer's member key: the user's home hospital. */
  hospital: string
  /** The sealed vault, opaque to the server. */
  vault: JsonObject
  createdAt: number
  /** Failed sign-ins since the last success or lockout. */
  failedSignIns: number
  /** Sign-in is refused until this time (ms since the epoch); 0 when not locked out. */
  lockedUntil: number
  /** Id (hex) of the `account.register` transaction, once the account is on the ledger. */
  registeredTx: string | null
  /**
   * Bumped each time every session of the account is ended (a password change or reset, an admin's
   * "end sessions", a lock): absent in records written before it existed, which reads as 0.
   */
  sessionEpoch?: number
  /** The recovery code's SHA-256 of its derived secret (hex) and the vault sealed under the code. */
  recovery?: RecoveryRecord | null
  /** Hashes of recovery codes already used, newest last, so a used code is told apart from a wrong one. */
  usedRecovery?: string[]
}

/** The second copy of the vault, sealed under the recovery code (protocol/crypto/recovery-code.ts). */
export interface RecoveryRecord { hash: string, vault: JsonObject }

/** An account as the rest of the peer sees it: no password hash, no vault. */
export interface Account {
  username: string
  role: Role
  status: AccountStatus
  signPub: Uint8Array
  boxPub: Uint8Array
  hospital: Uint8Array
  createdAt: number
  /** Pseudonymous patient id (SHA-256 of signPub), for patients only. */
  patientId?: Uint8Array
}

/** The signed-in user (`ctx.state.user`); keys are lower-case hex, as in JSON responses. */
export interface SessionUser {
  username: string
  role: Role
  status: AccountStatus
  signPub: string
  boxPub: string
  hospital: string
  /** For patients: SHA-256 of signPub, hex. */
  patientId?: string
  /**
   * Set when a patient signed in here through their home hospital (issue 18): there is no local
   * account, `hospital` is the home hospital's key and `username` the name there.
   */
  remote?: RemoteHome
}

/** The home hospital of a patient signed in at another member (a relayed sign-in). */
export interface RemoteHome {
  /** The home hospital's display name, and its short name (`alice@north`). */
  hospitalName: string
  short: string
}
