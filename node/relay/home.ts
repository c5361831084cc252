// The home hospital's side of relayed sign-in (issue 18): it opens the browser's sealed proof with
// its own box key, checks that the member delivering it is the one the proof names and that the
// proof is fresh and unused, then checks the password under its own windows and lockout (the same
// SignIn as its front door). Only after success does it answer, with a grant (a random handle of
// that session, kept in memory here) and the sealed vault encrypted under the browser's reply key.
// A grant answers the visited hospital's later questions: is the session still live, which
// sign-ins at other hospitals to show, and "the patient signed out".
import { createHash } from 'node:crypto'
import type { Logger } from 'pino'
import { equals, toHex } from '../../protocol/bytes.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { openRelayProof, proofSecretHex, sealRelayReply } from '../../protocol/crypto/relay-sign-in.ts'
import type { Clock } from '../../ledger/types.ts'
import type { AuthRelay } from '../auth/index.ts'
import { RateLimitedError } from '../auth/errors.ts'
import type { RandomBytes } from '../auth/types.ts'
import { RELAY_MAX_GRANTS, RELAY_MAX_NONCES, RELAY_PROOF_MAX_AGE_MS, SIGN_INS_LISTED } from './constants.ts'
import { PatientsOnlyError, RelayProtocolError } from './errors.ts'
import { GRANT_BYTES, REFUSAL_CODES } from './messages.ts'
import type { RelayAnswer, RelayRequest } from './messages.ts'

/** A relayed session as the home hospital knows it: whose, through which member, until when. */
interface Grant {
  username: string
  via: Uint8Array
  /** The account's session epoch at sign-in (docs/api.md "Session epoch"): when it moves, the grant dies. */
  epoch: number
  expires: number
}

/** What the home side uses. */
export interface HomeComponents {
  auth: AuthRelay
  /** This hospital's member key and X25519 secret key (hospitalBoxSecretKey). */
  self: Uint8Array
  boxSecret: Uint8Array
  clock: Clock
  random: RandomBytes
  logger: Logger
}

const sha256Hex = (s: string | Uint8Array): string => createHash('sha256').update(s).digest('hex')

/** A refusal frame for an error the sign-in raised; unexpected errors propagate. */
function refusalOf (err: unknown): RelayAnswer {
  const code = err instanceof MedichainError ? REFUSAL_CODES.find(c => c === err.code) : undefined
  if (code === undefined) throw err
  return { t: 'refused', code, retryAfter: err instanceof RateLimitedError ? err.retryAfter : 0 }
}

/** The home hospital's answers; `answer` is called once per stream by the protocol service. */
export class HomeSide {
  readonly #c: HomeComponents
  readonly #log: Logger
  /** Nonces of accepted proofs, with the time each may be forgotten (insertion order is age order). */
  readonly #nonces = new Map<string, number>()
  /** Grants by SHA-256 (hex) of the grant: like session tokens, only their hash is kept. */
  readonly #grants = new Map<string, Grant>()

  constructor (components: HomeComponents) {
    this.#c = components
    this.#log = components.logger
  }

  /** Answers one request of member `via` (its member key, already checked to be an active member). */
  async answer (req: RelayRequest, via: Uint8Array): Promise<RelayAnswer> {
    this.sweep()
    switch (req.t) {
      case 'sign-in': return await this.#signIn(req.proof, req.client, via).catch(refusalOf)
      case 'check': return { t: 'live', live: await this.#live(req.grant, via) !== undefined }
      case 'sign-ins': {
        const grant = await this.#live(req.grant, via)
        if (grant === undefined) return { t: 'refused', code: 'BAD_RELAY_PROOF', retryAfter: 0 }
        const entries = (await this.#c.auth.signIns(grant.username)).slice(0, SIGN_INS_LISTED)
        return { t: 'sign-ins', entries: entries.map(e => ({ via: Buffer.from(e.via, 'hex'), time: e.time })) }
      }
      case 'revoke': throw new RelayProtocolError('revoke is for the visited side')
      case 'end': {
        const key = sha256Hex(req.grant)
        const grant = this.#grants.get(key)
        if (grant !== undefined && equals(grant.via, via)) this.#grants.delete(key)
        return { t: 'ended' }
      }
    }
  }

  /** Live grants held (for tests and the health of memory). */
  get grants (): number {
    return this.#grants.size
  }

  /** SHA-256 (hex) of each grant held: what a revoke names. */
  grantHashes (): string[] {
    return [...this.#grants.keys()]
  }

  /** Drops expired nonces and grants. */
  sweep (): void {
    const now = this.#c.clock()
    for (const [k, until] of this.#nonces) {
      if (until > now) break
      this.#nonces.delete(k)
    }
    for (const [k, g] of this.#grants) if (g.expires <= now) this.#grants.delete(k)
  }

  /**
   * Drops every grant of `username` at once (its sessions ended at home: `sessions:ended`) and
   * returns where each was held and its hash, so the visited hospitals can be told at once.
   */
  endUser (username: string): Array<{ via: Uint8Array, grantHash: Uint8Array }> {
    const ended: Array<{ via: Uint8Array, grantHash: Uint8Array }> = []
    for (const [k, g] of this.#grants) {
      if (g.username !== username) continue
      this.#grants.delete(k)
      ended.push({ via: g.via, grantHash: Buffer.from(k, 'hex') })
    }
    return ended
  }

  /** Forgets every grant (peer stop): relayed sessions elsewhere end at their next check. */
  clear (): void {
    this.#grants.clear()
    this.#nonces.clear()
  }

  async #signIn (sealed: Uint8Array, client: string, via: Uint8Array): Promise<RelayAnswer> {
    const { auth, clock, self, boxSecret } = this.#c
    const proof = openRelayProof(sealed, boxSecret)
    const now = clock()
    const fresh = Math.abs(now - proof.time) <= RELAY_PROOF_MAX_AGE_MS
    const nonce = toHex(proof.nonce)
    // Who carries the proof is part of it: a proof handed to another member is refused there.
    if (!equals(proof.home, self) || !equals(proof.via, via) || !fresh || this.#nonces.has(nonce)) {
      throw new MedichainError('BAD_RELAY_PROOF', 'the proof is for another hospital, stale, or used')
    }
    if (this.#nonces.size >= RELAY_MAX_NONCES) throw new RateLimitedError(Math.ceil(RELAY_PROOF_MAX_AGE_MS / 1000))
    this.#nonces.set(nonce, now + 2 * RELAY_PROOF_MAX_AGE_MS)
    // The throttling key names the relaying member, then its client: one member's clients never
    // share a window with this hospital's own, and the per-account window and lockout (keyed by
    // username alone) hold whatever a member reports about its clients.
    const record = await auth.verify(proof.username, proofSecretHex(proof), `relay ${toHex(via)} ${client}`)
    if (record.role !== 'patient') throw new PatientsOnlyError()
    const grant = this.#c.random(GRANT_BYTES).slice()
    if (this.#grants.size >= RELAY_MAX_GRANTS) {
      const oldest = this.#grants.keys().next()
      if (oldest.done !== true) this.#grants.delete(oldest.value)
    }
    this.#grants.set(sha256Hex(grant), { username: record.username, via, epoch: record.sessionEpoch ?? 0, expires: now + auth.sessionMaxMs })
    await auth.addSignIn(record.username, { via: toHex(via), time: now })
    this.#log.info({ via: toHex(via).slice(0, 16) }, 'a patient of this hospital signed in at another member')
    return {
      t: 'signed-in',
      grant,
      account: { username: record.username, role: record.role, signPub: Buffer.from(record.signPub, 'hex'), boxPub: Buffer.from(record.boxPub, 'hex') },
      reply: await sealRelayReply(record.vault, proof.reply)
    }
  }

  /**
   * The grant, if it is live: held, delivered by the member it was issued to, and its account still
   * an active patient at the session epoch it signed in at (a password change, a reset with the
   * recovery code, an admin's end-sessions or a lock moves it). A grant found dead is dropped.
   */
  async #live (grantBytes: Uint8Array, via: Uint8Array): Promise<Grant | undefined> {
    const key = sha256Hex(grantBytes)
    const grant = this.#grants.get(key)
    if (grant === undefined || !equals(grant.via, via)) return undefined
    const record = await this.#c.auth.record(grant.username)
    const live = record !== undefined && record.status === 'active' && record.role === 'patient' && (record.sessionEpoch ?? 0) === grant.epoch
    if (!live) this.#grants.delete(key)
    return live ? grant : undefined
  }
}
