// The visited hospital's side of relayed sign-in (issue 18): it carries the browser's sealed proof
// to the home hospital, turns the home hospital's refusals into the same errors a sign-in there
// gives, starts a local session (its own cookie, CSRF token and idle timeout) for a patient the
// ledger knows as registered at that home, and keeps asking the home hospital whether the session
// may go on. It holds no hash and no vault: the reply passes through encrypted for the browser.
import type { Context } from 'koa'
import type { Logger } from 'pino'
import { equals, fromHex, toHex } from '../../protocol/bytes.ts'
import { BadRelayProofError, hospitalShortName } from '../../protocol/crypto/relay-sign-in.ts'
import { sha256 } from '../../protocol/crypto/hash.ts'
import { patientIdOf } from '../../protocol/chain/tx.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import type { AuthRelay, RelayState, Session, SessionUser } from '../auth/index.ts'
import { AccountLockedError, AccountPendingError, BadCredentialsError, BusyError, RateLimitedError } from '../auth/errors.ts'
import { clientKey } from '../auth/sessions/sign-in.ts'
import { RELAY_CHECK_MS, RELAY_OFFLINE_GRACE_MS } from './constants.ts'
import { AccountSyncingError, PatientsOnlyError, RelayProtocolError, UnknownHospitalError } from './errors.ts'
import type { RelayAnswer } from './messages.ts'
import type { RelayService } from './service.ts'

/** Timing of the liveness checks; tests shorten them. */
export interface VisitedInit {
  /** How often a relayed session is confirmed with its home hospital (ms); default RELAY_CHECK_MS. */
  checkMs?: number
  /** How long a session goes on while its home hospital cannot be reached (ms); default RELAY_OFFLINE_GRACE_MS. */
  offlineGraceMs?: number
}

/** What the visited side uses. */
export interface VisitedComponents {
  auth: AuthRelay
  ledger: Pick<Ledger, 'self' | 'isMember' | 'members' | 'queries'>
  service: Pick<RelayService, 'ask'>
  clock: Clock
  logger: Logger
}

/** The error a home hospital's refusal stands for: the same class as a refusal at its front door. */
function refusalError (a: Extract<RelayAnswer, { t: 'refused' }>): Error {
  switch (a.code) {
    case 'BAD_CREDENTIALS': return new BadCredentialsError()
    case 'RATE_LIMITED': return new RateLimitedError(Math.max(1, a.retryAfter))
    case 'ACCOUNT_LOCKED': return new AccountLockedError('this account is locked at the home hospital; try again later')
    case 'ACCOUNT_PENDING': return new AccountPendingError()
    case 'PATIENTS_ONLY': return new PatientsOnlyError()
    case 'BAD_RELAY_PROOF': return new BadRelayProofError()
    case 'UNAVAILABLE': return new BusyError()
  }
}

/** A hospital's display name and short name, from the ledger's member list. */
export function homeNames (ledger: Pick<Ledger, 'members'>, key: Uint8Array): { hospitalName: string, short: string } {
  const m = ledger.members().find(x => equals(x.key, key))
  const name = m?.name ?? toHex(key).slice(0, 12)
  return { hospitalName: name, short: hospitalShortName(name) }
}

/** The visited side; see the file comment. */
export class VisitedSide {
  readonly #c: VisitedComponents
  readonly #checkMs: number
  readonly #graceMs: number

  constructor (init: VisitedInit, components: VisitedComponents) {
    this.#c = components
    this.#checkMs = init.checkMs ?? RELAY_CHECK_MS
    this.#graceMs = init.offlineGraceMs ?? RELAY_OFFLINE_GRACE_MS
  }

  /** The active member `hex` names, other than this hospital; UNKNOWN_HOSPITAL otherwise. */
  homeOf (hex: unknown): Uint8Array {
    const { ledger } = this.#c
    if (typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) throw new UnknownHospitalError('home: expected a member key (64 hex digits)')
    const key = fromHex(hex)
    if (equals(key, ledger.self)) throw new UnknownHospitalError('this is your home hospital: sign in here directly')
    if (!ledger.isMember(key)) throw new UnknownHospitalError()
    return key
  }

  /**
   * Relays one sign-in and starts the local session. Returns the session and the reply (the sealed
   * vault encrypted for the browser), or throws the home hospital's refusal.
   */
  async signIn (ctx: Context, home: Uint8Array, proof: Uint8Array): Promise<{ session: Session, reply: Uint8Array }> {
    const { service, auth, ledger, clock } = this.#c
    const answer = await service.ask(home, { t: 'sign-in', proof, client: clientKey(ctx.ip) })
    if (answer.t === 'refused') throw refusalError(answer)
    if (answer.t !== 'signed-in') throw new RelayProtocolError(`expected signed-in, got ${answer.t}`)
    const { account, grant } = answer
    const end = (): void => this.end({ home, grant, checkedAt: 0 })
    // The home hospital vouches for its own accounts only: the ledger must show this patient
    // registered there, with these keys.
    const patientId = patientIdOf(account.signPub)
    const registered = await ledger.queries.patientAccount(patientId)
    if (account.role !== 'patient') {
      end()
      throw new PatientsOnlyError()
    }
    if (registered === undefined) {
      end()
      throw new AccountSyncingError()
    }
    if (!equals(registered.hospital, home) || !equals(registered.user, account.signPub) || !equals(registered.box, account.boxPub)) {
      end()
      throw new RelayProtocolError('the home hospital answered with keys the ledger does not register there')
    }
    const user: SessionUser = {
      username: account.username,
      role: 'patient',
      status: 'active',
      signPub: toHex(account.signPub),
      boxPub: toHex(account.boxPub),
      hospital: toHex(home),
      patientId: toHex(patientId),
      remote: homeNames(ledger, home)
    }
    const session = auth.startSession(ctx, user, { home, grant, checkedAt: clock() })
    return { session, reply: answer.reply }
  }

  /**
   * Whether a relayed session may go on: confirmed by the home hospital within `checkMs`, or asked
   * now (one question shared by parallel requests). While the home hospital cannot be reached the
   * session goes on for `offlineGraceMs` after the last confirmation, then ends.
   */
  async check (session: Session): Promise<boolean> {
    const relay = session.relay
    if (relay === undefined) return true
    if (this.#c.clock() - relay.checkedAt < this.#checkMs) return true
    relay.checking ??= this.#ask(relay).finally(() => { relay.checking = undefined })
    return await relay.checking
  }

  async #ask (relay: RelayState): Promise<boolean> {
    try {
      const a = await this.#c.service.ask(relay.home, { t: 'check', grant: relay.grant })
      if (a.t !== 'live') throw new RelayProtocolError(`expected live, got ${a.t}`)
      if (a.live) relay.checkedAt = this.#c.clock()
      return a.live
    } catch (err) {
      const live = this.#c.clock() - relay.checkedAt < this.#graceMs
      this.#c.logger.warn({ code: (err as { code?: string }).code ?? 'UNKNOWN', live }, 'could not confirm a relayed session with its home hospital')
      return live
    }
  }

  /**
   * The home hospital `from` ended a session (a password change, a lock, …): the sessions here
   * whose grant hashes to `grantHash` and that `from` granted end now, without waiting for a check.
   */
  revoked (from: Uint8Array, grantHash: Uint8Array): RelayAnswer {
    const n = this.#c.auth.endSessions(r => equals(r.home, from) && equals(sha256(r.grant), grantHash))
    if (n > 0) this.#c.logger.info({ home: toHex(from).slice(0, 16) }, 'a home hospital ended a relayed session here')
    return { t: 'ended' }
  }

  /** Tells the home hospital a relayed session ended here; best effort, never throws. */
  end (relay: RelayState): void {
    this.#c.service.ask(relay.home, { t: 'end', grant: relay.grant }).catch(() => undefined)
  }

  /** The sign-ins at other hospitals the home hospital recorded for this session's patient. */
  async signIns (relay: RelayState): Promise<Array<{ via: Uint8Array, time: number }>> {
    const a = await this.#c.service.ask(relay.home, { t: 'sign-ins', grant: relay.grant })
    if (a.t === 'refused') throw refusalError(a)
    if (a.t !== 'sign-ins') throw new RelayProtocolError(`expected sign-ins, got ${a.t}`)
    return a.entries
  }
}
