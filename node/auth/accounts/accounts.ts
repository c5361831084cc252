// Account lifecycle: sign-up with a proof of possession of the user's key, the one-time admin
// setup token, approval by an admin, admin lock and unlock, and registration on the ledger with
// `account.register` (public keys, role and home hospital only: no name, no PHI; docs/design.md §3).
import { timingSafeEqual } from 'node:crypto'
import type { Logger } from 'pino'
import { equals, fromHex, toHex } from '../../../protocol/bytes.ts'
import { InvalidRequestError, NotFoundError, SchemaError, SignatureError } from '../../../protocol/errors.ts'
import { accountPopBytes, patientIdOf } from '../../../protocol/chain/tx.ts'
import type { TxOf } from '../../../protocol/chain/tx.ts'
import { nodeVerify } from '../../../ledger/verify/node-crypto.ts'
import type { Clock, Ledger } from '../../../ledger/types.ts'
import type { AccountStore } from './store.ts'
import { AccountStateError, BadSetupTokenError, KeyTakenError, UsernameTakenError } from '../errors.ts'
import { checkNewPassword } from './password.ts'
import type { PasswordHasher } from './password.ts'
import { newToken, tokenHash } from '../sessions/sessions.ts'
import type { Account, AccountRecord, RandomBytes, RecoveryRecord, SessionUser } from '../types.ts'
import type { RecoveryRequest, SignUpRequest } from '../http/validate.ts'

/** What is stored of a recovery code: the hash of its derived secret (100 bits of code: no stretching needed) and its vault. */
export function recoveryRecord (req: RecoveryRequest): RecoveryRecord {
  return { hash: tokenHash(req.secret), vault: req.vault }
}

/** What the account service uses. */
export interface AccountsDeps {
  store: AccountStore
  hasher: PasswordHasher
  ledger: Ledger
  clock: Clock
  random: RandomBytes
  logger: Logger
}

/** The public view of a stored account. */
export function accountView (r: AccountRecord): Account {
  const signPub = fromHex(r.signPub)
  const view: Account = {
    username: r.username, role: r.role, status: r.status, signPub, boxPub: fromHex(r.boxPub), hospital: fromHex(r.hospital), createdAt: r.createdAt
  }
  if (r.role === 'patient') view.patientId = patientIdOf(signPub)
  return view
}

/** The signed-in user of a stored account, as sessions and JSON responses carry it. */
export function sessionUserOf (r: AccountRecord): SessionUser {
  const user: SessionUser = { username: r.username, role: r.role, status: r.status, signPub: r.signPub, boxPub: r.boxPub, hospital: r.hospital }
  if (r.role === 'patient') user.patientId = toHex(patientIdOf(fromHex(r.signPub)))
  return user
}

/** Sign-up, approval, lock and the admin setup token. */
export class Accounts {
  readonly #d: AccountsDeps
  readonly #log: Logger
  /** The live setup token, kept only in memory; its hash is in the store. */
  #setupToken: string | undefined

  constructor (deps: AccountsDeps) {
    this.#d = deps
    this.#log = deps.logger
  }

  /** At start: with no admin yet, a fresh one-time setup token replaces any earlier one. */
  async prepareSetup (): Promise<void> {
    if (await this.#d.store.hasAdmin()) return
    const token = newToken(this.#d.random)
    await this.#d.store.setSetupHash(tokenHash(token))
    this.#setupToken = token
    this.#log.info('no admin account yet: the setup link creates one')
  }

  /**
   * A new one-time admin setup token, replacing any earlier one, also when admins exist: the
   * hospital's IT team asks for it with the hospital key (`medichain admin setup-link`), for a first
   * admin whose link was lost or a new admin when every admin has lost their password.
   */
  async issueSetupToken (): Promise<string> {
    const token = newToken(this.#d.random)
    await this.#d.store.setSetupHash(tokenHash(token))
    this.#setupToken = token
    this.#log.info('a new admin setup link was issued')
    return token
  }

  /** `<base>/setup#token=…` while the setup token is unused; the fragment never reaches a server log. */
  setupLink (base: string): string | undefined {
    if (this.#setupToken === undefined) return undefined
    return `${base.replace(/\/+$/, '')}/setup#token=${this.#setupToken}`
  }

  /**
   * Creates an account. Patients and the setup admin are active and registered on the ledger at
   * once; clinicians and researchers wait for an admin. Throws WEAK_PASSWORD, BAD_SIGNATURE,
   * BAD_SETUP_TOKEN, USERNAME_TAKEN or KEY_TAKEN, and writes nothing then. `admit` (the sign-up
   * rate limit) runs once the request passed the checks that need no lookup, before any lookup.
   */
  async signUp (req: SignUpRequest, admit: () => void = () => {}): Promise<AccountRecord> {
    const { store, ledger } = this.#d
    const password = checkNewPassword(req.password)
    const body = { user: req.signPub, box: req.boxPub, role: req.role, hospital: ledger.self }
    if (!nodeVerify(req.signPub, accountPopBytes(ledger.id, body), req.pop)) {
      throw new SignatureError('pop: not a signature of this account registration by keys.sign')
    }
    if (req.role !== 'admin' && req.setupToken !== undefined) throw new SchemaError('setupToken: only an admin sign-up carries one')
    admit()
    if (req.role === 'admin') await this.#checkSetupToken(req.setupToken)
    await this.#checkFree(req)
    const passwordHash = await this.#d.hasher.hash(password)
    return await store.withLock(async () => {
      await this.#checkFree(req)
      if (req.role === 'admin') await this.#checkSetupToken(req.setupToken)
      const record: AccountRecord = {
        username: req.username,
        role: req.role,
        status: req.role === 'clinician' || req.role === 'researcher' ? 'pending' : 'active',
        passwordHash,
        signPub: toHex(req.signPub),
        boxPub: toHex(req.boxPub),
        pop: toHex(req.pop),
        hospital: toHex(ledger.self),
        vault: req.vault,
        createdAt: this.#d.clock(),
        failedSignIns: 0,
        lockedUntil: 0,
        registeredTx: null,
        sessionEpoch: 0,
        recovery: req.recovery === undefined ? null : recoveryRecord(req.recovery)
      }
      if (record.status === 'active') record.registeredTx = await this.#register(record)
      await store.write(record, undefined, { consumeSetup: req.role === 'admin' })
      if (req.role === 'admin') this.#setupToken = undefined
      this.#log.info({ role: record.role, status: record.status }, 'account created')
      return record
    })
  }

  /**
   * Assisted recovery (issue 16.3): an admin, having checked the patient's identity in person,
   * creates the account of the patient's new key, which `rekey` (a `patient.rekey` signed by that
   * key, naming this hospital) registers on the ledger in place of `account.register`. The old
   * patient id keeps its images and consents until the request takes effect. Throws like signUp,
   * and INVALID when the request does not match the account.
   */
  async signUpRecovered (req: SignUpRequest, rekey: TxOf<'patient.rekey'>): Promise<AccountRecord> {
    const { store, ledger } = this.#d
    if (req.role !== 'patient') throw new SchemaError('role: assisted recovery is for patients')
    if (!equals(rekey.signer, req.signPub) || !equals(rekey.body.box, req.boxPub) || !equals(rekey.body.hospital, ledger.self)) {
      throw new InvalidRequestError('the patient.rekey must be signed by the new key, for its box key and this hospital')
    }
    const password = checkNewPassword(req.password)
    if (!nodeVerify(req.signPub, accountPopBytes(ledger.id, { user: req.signPub, box: req.boxPub, role: 'patient', hospital: ledger.self }), req.pop)) {
      throw new SignatureError('pop: not a signature of this account registration by keys.sign')
    }
    await this.#checkFree(req)
    const passwordHash = await this.#d.hasher.hash(password)
    return await store.withLock(async () => {
      await this.#checkFree(req)
      const loc = await ledger.submit(rekey)
      const record: AccountRecord = {
        username: req.username, role: 'patient', status: 'active', passwordHash, signPub: toHex(req.signPub), boxPub: toHex(req.boxPub), pop: toHex(req.pop),
        hospital: toHex(ledger.self), vault: req.vault, createdAt: this.#d.clock(), failedSignIns: 0, lockedUntil: 0, registeredTx: toHex(loc.txId),
        sessionEpoch: 0, recovery: req.recovery === undefined ? null : recoveryRecord(req.recovery)
      }
      await store.write(record, undefined)
      this.#log.info('a patient account was created by assisted recovery')
      return record
    })
  }

  /** Activates a pending account and registers it on the ledger. Throws NOT_FOUND or ACCOUNT_STATE. */
  async approve (username: string): Promise<AccountRecord> {
    return await this.#d.store.withLock(async () => {
      const record = await this.#existing(username)
      if (record.status !== 'pending') throw new AccountStateError(`only a pending account can be approved; this one is ${record.status}`)
      const next: AccountRecord = { ...record, status: 'active', registeredTx: await this.#register(record) }
      await this.#d.store.write(next, record)
      this.#log.info({ role: next.role }, 'account approved')
      return next
    })
  }

  /** Locks an account (the caller also ends its sessions). Throws NOT_FOUND or ACCOUNT_STATE. */
  async lock (username: string, by: string): Promise<AccountRecord> {
    if (username === by) throw new AccountStateError('an admin cannot lock their own account')
    return await this.#d.store.withLock(async () => {
      const record = await this.#existing(username)
      if (record.status === 'locked') throw new AccountStateError('this account is already locked')
      const next: AccountRecord = { ...record, status: 'locked' }
      await this.#d.store.write(next, record)
      this.#log.info({ role: next.role }, 'account locked by an admin')
      return next
    })
  }

  /**
   * Lifts an admin lock and any lockout after failed sign-ins (`lockedOut`: sign-in's in-memory
   * state; the caller resets it); the account returns to active, or to pending if it was never
   * approved. Throws NOT_FOUND, or ACCOUNT_STATE when nothing is locked.
   */
  async unlock (username: string, lockedOutNow = false): Promise<AccountRecord> {
    return await this.#d.store.withLock(async () => {
      const record = await this.#existing(username)
      // A lockout stored by an older version counts too.
      const lockedOut = lockedOutNow || record.lockedUntil > this.#d.clock()
      if (record.status !== 'locked' && !lockedOut) throw new AccountStateError('this account is not locked')
      const status = record.status !== 'locked' ? record.status : (record.registeredTx === null ? 'pending' : 'active')
      const next: AccountRecord = { ...record, status, failedSignIns: 0, lockedUntil: 0 }
      await this.#d.store.write(next, record)
      this.#log.info({ role: next.role }, 'account unlocked by an admin')
      return next
    })
  }

  async #existing (username: string): Promise<AccountRecord> {
    const record = await this.#d.store.get(username)
    if (record === undefined) throw new NotFoundError('no such account')
    return record
  }

  /**
   * Throws unless the signing key is unknown here and on the ledger and the username is free. The
   * key is checked first: a registered key replayed with its proof of possession (which does not
   * cover the username) must not become a free oracle for which usernames exist.
   */
  async #checkFree (req: SignUpRequest): Promise<void> {
    const { store, ledger } = this.#d
    if (await store.byKey(toHex(req.signPub)) !== undefined) throw new KeyTakenError()
    if (await ledger.queries.account(req.signPub) !== undefined) throw new KeyTakenError()
    if (await store.get(req.username) !== undefined) throw new UsernameTakenError()
  }

  /** Throws BAD_SETUP_TOKEN unless `token` hashes to the stored setup-token hash (constant-time). */
  async #checkSetupToken (token: string | undefined): Promise<void> {
    const stored = await this.#d.store.setupHash()
    if (token === undefined || stored === undefined) throw new BadSetupTokenError()
    if (!timingSafeEqual(Buffer.from(tokenHash(token), 'hex'), Buffer.from(stored, 'hex'))) throw new BadSetupTokenError()
  }

  /**
   * Appends `account.register` for the account, or finds the one an interrupted earlier attempt
   * appended; returns its tx id (hex). A registration of the key by anyone else is KEY_TAKEN.
   */
  async #register (r: AccountRecord): Promise<string> {
    const { ledger } = this.#d
    const user = fromHex(r.signPub)
    const box = fromHex(r.boxPub)
    const onLedger = await ledger.queries.account(user)
    if (onLedger !== undefined) {
      if (equals(onLedger.hospital, ledger.self) && equals(onLedger.box, box) && onLedger.role === r.role) return toHex(onLedger.tx)
      throw new KeyTakenError()
    }
    const loc = await ledger.submitOwn('account.register', { user, box, role: r.role, hospital: ledger.self, pop: fromHex(r.pop) })
    return toHex(loc.txId)
  }
}
