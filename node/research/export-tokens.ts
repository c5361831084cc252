// Bearer tokens for pulling one prepared research export over DICOMweb (docs/api.md "Research
// exports over DICOMweb"): issued to the project's researcher with the prepared export, good for
// that export only (so for that project only), read-only, ending when the export expires or is
// ended, or when the researcher's sessions end. Only the SHA-256 is kept, in memory: a restart
// ends every token, as it ends every prepared export.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { BadTokenError } from '../dicomweb/tokens.ts'

/** Prefix of a research export token: says what it is in a config file or a leaked log line. */
export const EXPORT_TOKEN_PREFIX = 'mcrx_'

interface Stored { hash: Buffer, username: string, exportId: string, expires: number }

/** Live tokens one researcher holds at most; a new one past this ends their oldest. */
export const MAX_EXPORT_TOKENS_PER_USER = 32

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest()

/** The research export tokens of one peer. */
export class ExportTokens {
  readonly #byId = new Map<string, Stored>()
  readonly #clock: () => number

  constructor (clock: () => number) { this.#clock = clock }

  /**
   * Issues a token for `username` to read export `exportId` until `expires`; the secret is
   * returned once, here. Expired tokens are dropped, and past MAX_EXPORT_TOKENS_PER_USER live
   * ones the researcher's oldest ends, so memory stays bounded however often they prepare.
   */
  issue (username: string, exportId: string, expires: number): string {
    const now = this.#clock()
    for (const [id, t] of this.#byId) if (t.expires <= now) this.#byId.delete(id)
    const mine = [...this.#byId].filter(([, t]) => t.username === username)
    if (mine.length >= MAX_EXPORT_TOKENS_PER_USER) this.#byId.delete(mine[0][0])
    const id = randomBytes(8).toString('hex')
    const token = `${EXPORT_TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`
    this.#byId.set(id, { hash: sha256(token), username, exportId, expires })
    return token
  }

  /** Whether a presented credential looks like one of these tokens (and not a viewer token). */
  static isExportToken (token: string): boolean {
    return token.startsWith(EXPORT_TOKEN_PREFIX)
  }

  /** The researcher and export of a presented token; BadTokenError when it is not live. */
  check (token: string): { username: string, exportId: string } {
    const m = new RegExp(`^${EXPORT_TOKEN_PREFIX}([0-9a-f]{16})_[A-Za-z0-9_-]{43}$`).exec(token)
    const stored = m === null ? undefined : this.#byId.get(m[1])
    // Compared in constant time; an unknown id and a wrong secret answer alike.
    if (stored === undefined || !timingSafeEqual(stored.hash, sha256(token))) throw new BadTokenError('unknown or ended research export token')
    if (stored.expires <= this.#clock()) {
      this.#byId.delete(m?.[1] ?? '')
      throw new BadTokenError('the research export token has expired')
    }
    return { username: stored.username, exportId: stored.exportId }
  }

  /** Ends every token of one prepared export. */
  endExport (exportId: string, username: string): void {
    for (const [id, t] of this.#byId) if (t.exportId === exportId && t.username === username) this.#byId.delete(id)
  }

  /** Ends every token of a researcher (sign-out everywhere, password change, lock). */
  endAll (username: string): void {
    for (const [id, t] of this.#byId) if (t.username === username) this.#byId.delete(id)
  }
}
