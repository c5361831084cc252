// Fixed numbers of accounts and sessions, each with where it comes from. The few a hospital may
// tune (scrypt cost, session lifetimes, Secure cookies) are the `auth` block of the config
// (node/config/auth.ts).

/** Folder of the account database inside the data folder (separate from the ledger: never replicated). */
export const ACCOUNTS_DIR = 'accounts'

/** Defaults of the tunable settings (docs/design.md §7, issue 3). */
export const AUTH_DEFAULTS = {
  /** scrypt cost N = 2^17 with r = 8, p = 1: OWASP Password Storage Cheat Sheet's first scrypt option. */
  scryptN: 2 ** 17,
  /** Idle logoff after 30 minutes (issue 3), as OWASP's Session Management Cheat Sheet suggests for sensitive data. */
  sessionIdleMs: 30 * 60_000,
  /** Absolute session lifetime: 12 hours, one clinical shift (issue 3). */
  sessionMaxMs: 12 * 60 * 60_000,
  /** `Secure` cookies only when the peer is reached over TLS (RFC 6265 §4.1.2.5). */
  secureCookies: false
} as const

/** Bounds accepted for scrypt N: 2^14 is the floor tests use; above 2^20 a hash needs more than 1 GiB. */
export const SCRYPT_MIN_N = 2 ** 14
export const SCRYPT_MAX_N = 2 ** 20

/** scrypt block size and parallelism (RFC 7914 §2; OWASP's r = 8, p = 1). */
export const SCRYPT_R = 8
export const SCRYPT_P = 1

/** Per-user salt (issue 3: 32 bytes; NIST SP 800-63B §5.1.1.2 asks for at least 32 bits). */
export const SALT_BYTES = 32

/** Length of the stored password hash in bytes. */
export const HASH_BYTES = 32

/**
 * scrypt's `maxmem`: 256 MiB covers N = 2^17, r = 8 (128·N·r = 128 MiB plus overhead); larger N
 * scales it. Node throws ERR_CRYPTO_INVALID_SCRYPT_PARAMS below the need (STACK.md).
 */
export function scryptMaxmem (n: number): number {
  return Math.max(256 * 1024 * 1024, 2 * 128 * n * SCRYPT_R * SCRYPT_P)
}

/**
 * Hashes running at once. scrypt runs on libuv's thread pool (4 threads by default), which level
 * and fs share, so two at a time leaves room for storage and bounds memory to 2 × 128 MiB.
 */
export const SCRYPT_CONCURRENCY = 2

/** Hashes allowed to wait for a thread; beyond this the peer answers 503 rather than queue for minutes. */
export const SCRYPT_QUEUE_LIMIT = 64

/** Password length in Unicode code points after NFC (issue 3; NIST SP 800-63B §5.1.1.2 allows up to 64+). */
export const PASSWORD_MIN_CHARS = 12
export const PASSWORD_MAX_CHARS = 128

/** Usernames: 3–64 characters of [a-z0-9._-], case-folded to lower case (issue 3). */
export const USERNAME_PATTERN = /^[a-z0-9._-]{3,64}$/

/** Largest sealed vault accepted, as JSON text; a real vault is well under 1 KiB. */
export const MAX_VAULT_BYTES = 16 * 1024

/** Largest JSON request body read by the auth routes. */
export const MAX_JSON_BYTES = 64 * 1024

/** Session cookie name, and the header a cookie-authenticated write must carry. */
export const SESSION_COOKIE = 'mc_session'
export const CSRF_HEADER = 'x-csrf-token'

/** Session and CSRF tokens: 256 random bits (issue 3; OWASP asks for at least 64 bits of entropy). */
export const TOKEN_BYTES = 32

/** Sessions one account may hold at once; signing in again past this ends the oldest. */
export const MAX_SESSIONS_PER_USER = 16

/** How often expired sessions and stale rate-limit windows are swept from memory (ms). */
export const SWEEP_INTERVAL_MS = 60_000

/**
 * Sign-in and sign-up throttling (OWASP Authentication Cheat Sheet, "Account lockout"). A client
 * is an IPv4 address or an IPv6 /64, taken behind `http.trustProxy` from X-Forwarded-For. Every
 * count is kept whether or not the username exists, so the answers never tell.
 */
export interface SignInLimits {
  /** Sliding window of every count below (ms). */
  windowMs: number
  /** Failed sign-ins per (client, username) per window: one source's guesses stop at its own door. */
  perClientAccount: number
  /** Failed sign-ins per username per window from all clients together: distributed guessing. */
  perAccount: number
  /** Failed sign-ins per client per window across usernames: password spraying. */
  perClient: number
  /** Consecutive failures that lock the username for `lockoutMs`. */
  lockoutAfter: number
  /** How long a lockout lasts (ms). */
  lockoutMs: number
  /** Accounts created per client per window: each active sign-up writes a ledger transaction. */
  signUpsPerClient: number
  /** Refused sign-ups (name or key taken, bad setup token) per client per window: probing. */
  signUpFailuresPerClient: number
}

/**
 * The production limits, in a 15-minute window. One client may guess 5 times at one username and
 * fail 100 times in all: a hospital's front desk or ward behind one NAT address makes far fewer
 * typos than that. 30 failures on one username from all clients together need several sources,
 * so one source cannot throttle an account for others; 50 in a row lock it for 15 minutes. 300
 * accounts per client per 15 minutes is a front desk signing up one patient every 3 seconds all
 * morning; refused sign-ups stop at 30, which bounds probing for taken usernames.
 */
export const SIGN_IN_LIMITS: SignInLimits = {
  windowMs: 15 * 60_000,
  perClientAccount: 5,
  perAccount: 30,
  perClient: 100,
  lockoutAfter: 50,
  lockoutMs: 15 * 60_000,
  signUpsPerClient: 300,
  signUpFailuresPerClient: 30
}

/** Most keys a rate limiter tracks; past this the stalest are dropped, bounding memory under a spray. */
export const MAX_TRACKED_KEYS = 100_000
