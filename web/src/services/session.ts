// The one shared service of the page: the SDK client, who is signed in, whether the vault is
// open, and the idle lock. Elements get it as a property from <mc-app> (properties down) and
// re-render on its 'session:changed' event through SessionController.
import { ApiError, MedichainClient } from '../../../protocol/client/client.ts'
import { MedichainError } from '../../../protocol/errors.ts'
import type { ApiUser } from '../../../protocol/client/client.ts'
import type { Role } from '../../../protocol/chain/tx.ts'
import { IDLE_LOCK_MS, startIdleLock } from '../lib/idle.ts'
import type { IdleLock, IdleTimers } from '../lib/idle.ts'
import { ImageStore } from './images.ts'

/** Where the session is: checking the cookie, signed out, signed in with the vault locked, or open. */
export type SessionState = 'starting' | 'signed-out' | 'locked' | 'open'

/** Options of the session service. */
export interface SessionInit {
  /** PBKDF2 iterations for new vaults; undefined keeps the SDK's default (a test build lowers it). */
  vaultIterations?: number
  idleMs?: number
  timers: IdleTimers
}

/** Emitted on the session (an EventTarget) whenever state or user changes. */
export const SESSION_CHANGED = 'session:changed'

/** The page's session. */
export class Session extends EventTarget {
  readonly client: MedichainClient
  /** Decrypted images and listings; emptied whenever the vault locks. */
  readonly images: ImageStore
  #state: SessionState = 'starting'
  #recoveryCode: string | null = null
  #idle: IdleLock | null = null
  readonly #init: SessionInit

  constructor (init: SessionInit) {
    super()
    this.#init = init
    this.client = new MedichainClient({ baseUrl: '', vaultIterations: init.vaultIterations })
    this.images = new ImageStore(this.client)
  }

  get state (): SessionState { return this.#state }
  get user (): ApiUser | null { return this.client.user }
  get role (): Role | null { return this.client.user?.role ?? null }

  /** A recovery code to show once (after a patient's sign-up or a recovery), until acknowledged. */
  get recoveryCode (): string | null { return this.#recoveryCode }

  /** The patient saved the code: the page forgets it. */
  acknowledgeRecoveryCode (): void {
    this.#recoveryCode = null
    this.dispatchEvent(new Event(SESSION_CHANGED))
  }

  /** Sets a new password with the recovery code and signs in; the new code is shown next. */
  async recover (username: string, code: string, password: string): Promise<void> {
    try {
      const { recoveryCode } = await this.client.recoverWithCode(username, code, password)
      this.#recoveryCode = recoveryCode
    } finally {
      this.#set(this.client.user === null ? 'signed-out' : this.client.locked ? 'locked' : 'open')
    }
  }

  /** Picks up a session cookie left from before a reload (vault locked until the password is given). */
  async start (): Promise<void> {
    try {
      const user = await this.client.resume()
      this.#set(user === null ? 'signed-out' : 'locked')
    } catch {
      this.#set('signed-out')
    }
  }

  /**
   * Signs in as typed: `alice@north` (or an unqualified name with a home hospital picked, `homeKey`)
   * through that hospital when it is not this one; a plain name here.
   */
  async signIn (username: string, password: string, homeKey?: string): Promise<void> {
    try {
      await this.client.signInAnywhere(username, password, homeKey)
    } finally {
      this.#set(this.client.user === null ? 'signed-out' : this.client.locked ? 'locked' : 'open')
    }
  }

  /**
   * Creates an account, then signs straight in when it is active (patients, the setup admin).
   * Resolves to the status: 'pending' means an admin must approve it first.
   */
  async signUp (input: { username: string, password: string, role: Role, setupToken?: string }): Promise<string> {
    const made = await this.client.signUp(input)
    this.#recoveryCode = made.recoveryCode ?? null
    if (made.status === 'active') await this.signIn(input.username, input.password)
    return made.status
  }

  /**
   * Opens the vault again. The peer is asked first whether the session still lives (it also ends
   * after 30 idle minutes): if not, the page signs out rather than unlock keys for a dead session.
   */
  async unlock (password: string): Promise<void> {
    if (await this.client.resume() === null) {
      this.images.clear()
      this.#set('signed-out')
      throw new MedichainError('UNAUTHENTICATED', 'the session has ended')
    }
    await this.client.unlock(password)
    this.#set('open')
  }

  /** Drops the keys and every decrypted image; the session cookie stays until sign-out. */
  lock (): void {
    this.client.lock()
    this.images.clear()
    if (this.client.user !== null) this.#set('locked')
  }

  async signOut (): Promise<void> {
    this.images.clear()
    this.#recoveryCode = null
    try {
      await this.client.signOut()
    } catch {
      // Signed out locally all the same: keys and cookie state are gone.
    }
    this.#set('signed-out')
  }

  /** Activity in the page: pushes the idle lock back. */
  touch (): void {
    this.#idle?.touch()
  }

  /**
   * Passes an error back for display, after noticing the ones that change the session: a session
   * the peer no longer knows signs the page out; a locked vault shows the unlock form.
   */
  fail (err: unknown): unknown {
    if (err instanceof ApiError && err.code === 'UNAUTHENTICATED' && this.#state !== 'signed-out') {
      this.images.clear()
      this.client.lock()
      void this.client.resume().catch(() => null).then(user => this.#set(user === null ? 'signed-out' : 'locked'))
    } else if (typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'VAULT_LOCKED') {
      this.lock()
    }
    return err
  }

  #set (state: SessionState): void {
    if (state === 'open') {
      this.#idle?.stop()
      this.#idle = startIdleLock(this.#init.timers, this.#init.idleMs ?? IDLE_LOCK_MS, () => this.lock())
    } else {
      this.#idle?.stop()
      this.#idle = null
    }
    this.#state = state
    this.dispatchEvent(new Event(SESSION_CHANGED))
  }
}
