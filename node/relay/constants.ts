// Numbers of relayed sign-in (issue 18), each with where it comes from. None is a ledger rule, so
// members with different values still interoperate.

/** Stream protocol between members: a visited hospital asks a patient's home hospital. */
export const RELAY_PROTOCOL = '/medichain/sign-in/1.0.0'

/**
 * How far a proof's time may be from the home hospital's clock (ms). The browser's clock sets it,
 * and patients' devices drift; ten minutes is generous. Each nonce is accepted once within it.
 */
export const RELAY_PROOF_MAX_AGE_MS = 10 * 60_000

/** Nonces remembered at once; past this the home hospital refuses proofs (RATE_LIMITED) until some age out. */
export const RELAY_MAX_NONCES = 100_000

/**
 * Time allowed for one exchange with the home hospital (ms): it includes one scrypt at the home
 * hospital (about 0.5 s at N = 2^17, more when its hashing queue is busy) and a dial.
 */
export const RELAY_TIMEOUT_MS = 15_000

/** Largest frame either way: a sealed proof is about 300 bytes, a reply with a vault about 2 KiB. */
export const RELAY_MAX_FRAME_BYTES = 64 * 1024

/**
 * How often a visited hospital asks the home hospital whether a relayed session may go on (ms):
 * a password change or sign-out at home ends the session here within this time.
 */
export const RELAY_CHECK_MS = 30_000

/**
 * How long a relayed session goes on while its home hospital cannot be reached (ms) after the
 * last confirmation: a brief outage does not sign the patient out, a long one does, since then
 * nobody can say whether the password was changed there.
 */
export const RELAY_OFFLINE_GRACE_MS = 5 * 60_000

/** Retry-After (s) of HOME_UNREACHABLE: about one redial of the member (node/p2p REDIAL_MAX_MS). */
export const HOME_UNREACHABLE_RETRY_S = 30

/** Grants a home hospital holds at once (live relayed sessions of its patients elsewhere). */
export const RELAY_MAX_GRANTS = 100_000

/** Sign-ins at other hospitals listed per answer. */
export const SIGN_INS_LISTED = 50
