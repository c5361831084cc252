// The hospital's own account database: a level store at `<data>/accounts`, apart from the ledger,
// because usernames, password hashes and vaults are local to the hospital and never replicated.
// Accounts are indexed by signing key and by status; every write is one durable batch.
import { Level } from 'level'
import { DurableWrites } from '../../durable/level.ts'
import { openVersioned } from '../../durable/level-schema.ts'
import type { AccountRecord, AccountStatus } from '../types.ts'

/** Bumped whenever the key layout or the record encoding changes. */
export const ACCOUNTS_SCHEMA_VERSION = '1'

/** The key layout. Usernames are [a-z0-9._-], so `:` never occurs inside one. */
const K = {
  /** SHA-256 (hex) of the live one-time admin setup token. */
  setup: 'meta:setup',
  /** Present once an admin account exists. */
  admin: 'meta:admin',
  account: (username: string) => `u:${username}`,
  byKey: (signPub: string) => `k:${signPub}`,
  statusPrefix: (status: AccountStatus) => `s:${status}:`,
  byStatus: (status: AccountStatus, username: string) => `s:${status}:${username}`,
  /** Sign-ins of a patient at other hospitals (issue 18), by time: zero-padded so keys sort by it. */
  signInPrefix: (username: string) => `i:${username}:`,
  signIn: (username: string, time: number, via: string) => `i:${username}:${String(time).padStart(15, '0')}:${via}`
}

/** A patient's sign-in at another member hospital, as the home hospital records it. */
export interface RelayedSignIn {
  /** The visited hospital's member key (hex). */
  via: string
  /** When the home hospital accepted it (ms since the epoch). */
  time: number
}

/** Sign-ins at other hospitals kept per account; older ones are dropped as new ones arrive. */
export const MAX_SIGN_INS_KEPT = 100

/** What a write does besides storing the record. */
export interface WriteExtras {
  /** Consume the setup token and mark that an admin exists (the first admin's sign-up). */
  consumeSetup?: boolean
}

/** A page of accounts in username order, and the username to pass as `after` for the next page. */
export interface AccountPage { accounts: AccountRecord[], next: string | null }

/** Typed access to the account database. Read-modify-write sequences run inside `withLock`. */
export class AccountStore {
  readonly #db: Level<string, string>
  /** Every write goes through here: typed failures, and a reopen after one. */
  readonly #writes: DurableWrites
  #serial: Promise<unknown> = Promise.resolve()

  constructor (path: string) {
    this.#db = new Level<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    this.#writes = new DurableWrites({ db: this.#db, path, name: 'account store', open: async () => await this.open() })
  }

  /** Opens the store; a fresh one is stamped with the schema version, an old one is checked. */
  async open (): Promise<void> {
    await openVersioned(this.#db, 'account', ACCOUNTS_SCHEMA_VERSION)
  }

  /** Closes the store once queued writes are done. */
  async close (): Promise<void> {
    await this.#serial.catch(() => {})
    await this.#db.close()
  }

  /** Runs `fn` after every earlier locked section: the check-then-write of sign-up and approval. */
  async withLock<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(fn, fn)
    this.#serial = run.catch(() => {})
    return await run
  }

  async get (username: string): Promise<AccountRecord | undefined> {
    const v = await this.#db.get(K.account(username))
    return v === undefined ? undefined : JSON.parse(v) as AccountRecord
  }

  /** The account whose signing key is `signPub` (lower-case hex). */
  async byKey (signPub: string): Promise<AccountRecord | undefined> {
    const username = await this.#db.get(K.byKey(signPub))
    return username === undefined ? undefined : await this.get(username)
  }

  /** Accounts in username order, optionally of one status, after `after`, at most `limit`. */
  async list (opts: { status?: AccountStatus, after?: string, limit: number }): Promise<AccountPage> {
    const prefix = opts.status === undefined ? 'u:' : K.statusPrefix(opts.status)
    const lower = opts.after === undefined ? { gte: prefix } : { gt: prefix + opts.after }
    const keys = await this.#db.keys({ ...lower, lt: `${prefix}\uffff`, limit: opts.limit + 1 }).all()
    const names = keys.slice(0, opts.limit).map(k => k.slice(prefix.length))
    const values = await this.#db.getMany(names.map(K.account))
    const accounts = values.flatMap(v => v === undefined ? [] : [JSON.parse(v) as AccountRecord])
    return { accounts, next: keys.length > opts.limit ? names[names.length - 1] : null }
  }

  /**
   * Stores `record` (new when `previous` is undefined) with its key and status index entries, in
   * one durable batch. Call inside `withLock` after reading `previous`.
   */
  async write (record: AccountRecord, previous: AccountRecord | undefined, extras: WriteExtras = {}): Promise<void> {
    const ops: Array<{ type: 'put', key: string, value: string } | { type: 'del', key: string }> = [
      { type: 'put', key: K.account(record.username), value: JSON.stringify(record) }
    ]
    if (previous === undefined) ops.push({ type: 'put', key: K.byKey(record.signPub), value: record.username })
    if (previous?.status !== record.status) {
      if (previous !== undefined) ops.push({ type: 'del', key: K.byStatus(previous.status, previous.username) })
      ops.push({ type: 'put', key: K.byStatus(record.status, record.username), value: '' })
    }
    if (extras.consumeSetup === true) {
      ops.push({ type: 'del', key: K.setup }, { type: 'put', key: K.admin, value: '1' })
    }
    await this.#writes.run(async () => await this.#db.batch(ops, { sync: true }))
  }

  /**
   * Records a successful sign-in of `username` through another hospital, durably, dropping the
   * oldest beyond MAX_SIGN_INS_KEPT in the same batch.
   */
  async addSignIn (username: string, entry: RelayedSignIn): Promise<void> {
    const prefix = K.signInPrefix(username)
    const old = await this.#db.keys({ gte: prefix, lt: `${prefix}\uffff`, reverse: true, limit: MAX_SIGN_INS_KEPT + 16 }).all()
    const ops: Array<{ type: 'put', key: string, value: string } | { type: 'del', key: string }> = [
      { type: 'put', key: K.signIn(username, entry.time, entry.via), value: JSON.stringify(entry) },
      ...old.slice(MAX_SIGN_INS_KEPT - 1).map(key => ({ type: 'del' as const, key }))
    ]
    await this.#writes.run(async () => await this.#db.batch(ops, { sync: true }))
  }

  /** The account's sign-ins at other hospitals, newest first. */
  async signIns (username: string, limit = MAX_SIGN_INS_KEPT): Promise<RelayedSignIn[]> {
    const prefix = K.signInPrefix(username)
    const values = await this.#db.values({ gte: prefix, lt: `${prefix}\uffff`, reverse: true, limit }).all()
    return values.map(v => JSON.parse(v) as RelayedSignIn)
  }

  /** True once an admin account was created with the setup token. */
  async hasAdmin (): Promise<boolean> {
    return (await this.#db.get(K.admin)) !== undefined
  }

  /** The stored hash of the live setup token, if any. */
  async setupHash (): Promise<string | undefined> {
    return await this.#db.get(K.setup)
  }

  /** Replaces the stored setup-token hash (a new token at each start until an admin exists). */
  async setSetupHash (hash: string): Promise<void> {
    await this.#writes.run(async () => await this.#db.put(K.setup, hash, { sync: true }))
  }
}
