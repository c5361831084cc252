// A session with one peer, the base of the client SDK (client.ts): the HTTP transport with its
// cookie and CSRF token, and the account's side of docs/design.md §3: sign-up with keys made here,
// sign-in (here or relayed through another member), the vault opened and locked here, password
// change and recovery codes. The peer only ever sees public keys, derived secrets and sealed vaults.
import { fromBase64, toBase64 } from '../base64.ts'
import { fromHex, toHex } from '../bytes.ts'
import { accountRegistrationProof } from '../chain/consent.ts'
import type { Role } from '../chain/tx.ts'
import { deriveAuthSecret } from '../crypto/auth-secret.ts'
import { deriveRecoverySecret, newRecoveryCode, normaliseRecoveryCode } from '../crypto/recovery-code.ts'
import { matchHome, openRelayReply, parseTypedUsername, sealRelayProof } from '../crypto/relay-sign-in.ts'
import type { HomeChoice } from '../crypto/relay-sign-in.ts'
import { generateUserKeys } from '../crypto/user-keys.ts'
import type { UserKeys } from '../crypto/user-keys.ts'
import { openVault, sealVault } from '../crypto/vault.ts'
import { MedichainError } from '../errors.ts'
import { ApiError, isStaleConnection, NetworkError, parseRetryAfter } from './api-error.ts'
import { fetchBody } from './request-body.ts'

/** The signed-in user as the API describes it (keys in hex). */
export interface ApiUser {
  username: string
  role: Role
  status: string
  signPub: string
  boxPub: string
  hospital: string
  patientId?: string
  /** Set when signed in here through the home hospital `hospital` (a relayed sign-in, issue 18). */
  remote?: { hospitalName: string, short: string }
}

/** A member hospital as the sign-in page offers it; `self` marks the hospital serving the page. */
export type ApiHome = HomeChoice & { self: boolean }

/** Options of the client. */
export interface ClientOptions {
  /** Base URL of the peer, e.g. `http://127.0.0.1:8080` (empty string in a page served by it). */
  baseUrl: string
  fetch?: typeof fetch
  /** PBKDF2 iterations for new vaults (default: the vault module's 600k; tests lower it). */
  vaultIterations?: number
}

/**
 * A session with one peer: requests with its cookie and CSRF token, the signed-in user, and their
 * keys while the vault is open. MedichainClient (client.ts) adds the calls of each area on top.
 */
export class SessionClient {
  readonly #base: string
  readonly #fetch: typeof fetch
  readonly #iterations: number | undefined
  #cookie: string | null = null
  #csrf: string | null = null
  #keys: UserKeys | null = null
  #user: ApiUser | null = null
  /** The sealed vault from sign-in or resume: encrypted, so keeping it lets the user unlock again. */
  #vault: unknown = null

  constructor (opts: ClientOptions) {
    this.#base = opts.baseUrl.replace(/\/$/, '')
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis)
    this.#iterations = opts.vaultIterations
  }

  /** The signed-in user, once signed in. */
  get user (): ApiUser | null { return this.#user }

  /** The user's keys while the vault is open (never sent anywhere). */
  get keys (): UserKeys | null { return this.#keys }

  /** True when a session is known but the vault is closed (after `lock()`, or `resume()` on reload). */
  get locked (): boolean { return this.#user !== null && this.#keys === null }

  /** The session's CSRF token, for callers that send a write by other means (XMLHttpRequest uploads). */
  get csrfToken (): string | null { return this.#csrf }

  /** Sends a request (a string body is taken as serialised JSON); `{code, message}` errors become ApiError. */
  async request (method: string, path: string, body?: unknown): Promise<Response> {
    const { headers, body: payload, ...extra } = fetchBody(body)
    if (this.#cookie !== null) headers.cookie = this.#cookie
    if (this.#csrf !== null && method !== 'GET') headers['x-csrf-token'] = this.#csrf
    const send = async (): Promise<Response> => await this.#fetch(this.#base + path, { method, headers, body: payload, credentials: 'same-origin', ...extra })
    let res: Response
    try {
      res = await send()
    } catch (err) {
      // A pooled keep-alive connection the peer closed as it went idle fails before any answer; a
      // read is safe to send again on a new one, as browsers do (RFC 9112 §9.3.1). Writes never are.
      if ((method !== 'GET' && method !== 'HEAD') || !isStaleConnection(err)) throw new NetworkError('the peer could not be reached', { cause: err })
      try {
        res = await send()
      } catch (again) {
        throw new NetworkError('the peer could not be reached', { cause: again })
      }
    }
    const setCookie = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : []
    for (const c of setCookie) {
      const pair = c.split(';')[0]
      if (pair.startsWith('mc_session=')) this.#cookie = pair.endsWith('=') ? null : pair
    }
    if (!res.ok) {
      const err = await res.json().catch(() => ({})) as { code?: string, message?: string }
      throw new ApiError(res.status, err.code ?? 'HTTP_' + String(res.status), err.message ?? res.statusText, parseRetryAfter(res.headers.get('retry-after')))
    }
    return res
  }

  /** `request`, then the JSON answer (undefined for 204 No Content). */
  protected async json<T> (method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body)
    return res.status === 204 ? undefined as T : await res.json() as T
  }

  /** Ledger id and hospital key of the peer (needed to sign registrations and consents). */
  async peerInfo (): Promise<{ ledger: Uint8Array, self: Uint8Array }> {
    const h = await this.json<{ ledger: string, self: string }>('GET', '/api/health')
    return { ledger: fromHex(h.ledger), self: fromHex(h.self) }
  }

  /**
   * Creates an account: keys made here, vault sealed here, only public keys and the vault sent.
   * A patient also gets a recovery code (issue 16.2), made here and sealing a second copy of the
   * vault; it is in the answer once, for the page to show and print, and never sent.
   */
  async signUp (input: { username: string, password: string, role: Role, setupToken?: string }): Promise<{ username: string, role: Role, status: string, patientId?: string, recoveryCode?: string }> {
    const peer = await this.peerInfo()
    const keys = generateUserKeys()
    const secret = await deriveAuthSecret(input.username, input.password)
    const vault = await sealVault(keys, input.password, { username: input.username, iterations: this.#iterations })
    const pop = accountRegistrationProof({ ledgerId: peer.ledger, keys, role: input.role, hospital: peer.self })
    const code = input.role === 'patient' ? newRecoveryCode() : undefined
    const made = await this.json<{ username: string, role: Role, status: string, patientId?: string }>('POST', '/api/auth/sign-up', {
      username: input.username,
      // Never the password itself: it also seals the vault the peer stores (auth-secret.ts).
      password: secret,
      role: input.role,
      keys: { sign: toHex(keys.signPub), box: toHex(keys.boxPub) },
      pop: toHex(pop),
      vault,
      ...(input.setupToken === undefined ? {} : { setupToken: input.setupToken }),
      ...(code === undefined ? {} : { recovery: await this.#recoveryOf(keys, input.username.toLowerCase(), code) })
    })
    return code === undefined ? made : { ...made, recoveryCode: code }
  }

  /** What the peer keeps of a recovery code: its derived secret and the vault sealed under it. */
  async #recoveryOf (keys: UserKeys, username: string, code: string): Promise<{ secret: string, vault: unknown }> {
    const canonical = normaliseRecoveryCode(code)
    return {
      secret: await deriveRecoverySecret(username, canonical),
      vault: await sealVault(keys, canonical, { username, iterations: this.#iterations })
    }
  }

  /**
   * Changes the password (issue 16.1): the open keys are re-sealed here under the new password and
   * the peer checks the current one; every other session of the account ends. Needs the vault open.
   */
  async changePassword (current: string, next: string): Promise<{ sessionEpoch: number }> {
    const user = this.#user
    const keys = this.#keys
    if (user === null || keys === null) throw new MedichainError('VAULT_LOCKED', 'unlock first: the keys are re-sealed under the new password')
    const vault = await sealVault(keys, next, { username: user.username, iterations: this.#iterations })
    const res = await this.json<{ sessionEpoch: number }>('POST', '/api/auth/password', {
      current: await deriveAuthSecret(user.username, current),
      password: await deriveAuthSecret(user.username, next),
      vault
    })
    this.#vault = vault
    return res
  }

  /**
   * Sets a new password with the recovery code (issue 16.2), then signs in with it. The code opens
   * the second vault here; the keys are re-sealed under the new password and under a new code,
   * which is returned (the one used stops working). BAD_RECOVERY_CODE, RECOVERY_CODE_USED,
   * RATE_LIMITED or WEAK_PASSWORD otherwise.
   */
  async recoverWithCode (username: string, code: string, password: string): Promise<{ user: ApiUser, recoveryCode: string }> {
    const canonical = normaliseRecoveryCode(code)
    const secret = await deriveRecoverySecret(username, canonical)
    const { vault: sealed } = await this.json<{ vault: unknown }>('POST', '/api/auth/recovery/vault', { username, secret })
    const keys = await openVault(sealed, canonical, { username: username.toLowerCase() })
    try {
      const fresh = newRecoveryCode()
      await this.json('POST', '/api/auth/recovery/reset', {
        username,
        secret,
        password: await deriveAuthSecret(username, password),
        vault: await sealVault(keys, password, { username: username.toLowerCase(), iterations: this.#iterations }),
        recovery: await this.#recoveryOf(keys, username.toLowerCase(), fresh)
      })
      return { user: await this.signIn(username, password), recoveryCode: fresh }
    } finally {
      keys.signSeed.fill(0)
      keys.boxSecret.fill(0)
    }
  }

  /** An admin signs a user out everywhere; resolves to the account's new session epoch. */
  async endSessions (username: string): Promise<{ sessionEpoch: number }> {
    return await this.json('POST', `/api/accounts/${encodeURIComponent(username)}/end-sessions`)
  }

  /**
   * Signs in and opens the vault with the same password. Should the vault not open (BAD_PASSWORD,
   * BAD_VAULT), the session stays signed in but locked, and the error is thrown.
   */
  async signIn (username: string, password: string): Promise<ApiUser> {
    const secret = await deriveAuthSecret(username, password)
    const res = await this.json<{ user: ApiUser, vault: unknown, csrfToken: string }>('POST', '/api/auth/sign-in', { username, password: secret })
    this.#session(res)
    await this.unlock(password)
    return res.user
  }

  /**
   * Picks up the session the cookie names (a browser reload): user and CSRF token, with the vault
   * still locked until `unlock(password)`. Resolves null when there is no live session.
   */
  async resume (): Promise<ApiUser | null> {
    const res = await this.json<{ user: ApiUser | null, vault?: unknown, csrfToken?: string }>('GET', '/api/auth/session')
    if (res.user === null || typeof res.csrfToken !== 'string') {
      this.#forget()
      return null
    }
    this.#session({ user: res.user, vault: res.vault, csrfToken: res.csrfToken })
    return res.user
  }

  /** The member hospitals a patient may name as their home (public: the sign-in page lists them). */
  async homes (): Promise<ApiHome[]> {
    return (await this.json<{ homes: ApiHome[] }>('GET', '/api/auth/homes')).homes
  }

  /**
   * Signs in as typed on the shared portal: `alice@north` at the hospital whose short name is
   * `north` (relayed when that is not this one), an unqualified name here, or at `homeKey` when the
   * patient picked a hospital from the list. UNKNOWN_HOSPITAL when the qualifier names none, or more
   * than one (then the patient picks from `homes()`).
   */
  async signInAnywhere (typed: string, password: string, homeKey?: string): Promise<ApiUser> {
    const { username, qualifier } = parseTypedUsername(typed)
    if (qualifier === null && homeKey === undefined) return await this.signIn(username, password)
    const homes = await this.homes()
    const found = qualifier === null ? homes.filter(h => h.key === homeKey) : matchHome(qualifier, homes)
    if (found.length !== 1) throw new ApiError(404, 'UNKNOWN_HOSPITAL', found.length === 0 ? 'no member hospital has this name' : 'more than one hospital has this name: pick yours from the list')
    return found[0].self ? await this.signIn(username, password) : await this.signInRemote(username, password, found[0].key)
  }

  /**
   * Signs in through this peer at the home hospital `homeKey` (hex): the proof is sealed here to
   * the home hospital, so this peer only carries it, and the vault comes back encrypted for this
   * client alone (protocol/crypto/relay-sign-in.ts). Opens the vault like `signIn`.
   */
  async signInRemote (username: string, password: string, homeKey: string): Promise<ApiUser> {
    const peer = await this.peerInfo()
    const secretHex = await deriveAuthSecret(username, password)
    const { proof, replyKey } = sealRelayProof({ username, secretHex, home: fromHex(homeKey), via: peer.self, time: Date.now() })
    try {
      const res = await this.json<{ user: ApiUser, csrfToken: string, reply: string }>('POST', '/api/auth/remote-sign-in', { home: homeKey, proof: toBase64(proof) })
      const vault = await openRelayReply(fromBase64(res.reply), replyKey)
      this.#session({ user: res.user, vault, csrfToken: res.csrfToken })
    } finally {
      replyKey.fill(0)
    }
    await this.unlock(password)
    return this.#user as ApiUser
  }

  /** The patient's sign-ins at other hospitals, as their home hospital recorded them, newest first. */
  async mySignIns (): Promise<Array<{ hospital: string, hospitalName: string, time: number }>> {
    return (await this.json<{ entries: Array<{ hospital: string, hospitalName: string, time: number }> }>('GET', '/api/me/sign-ins')).entries
  }

  /**
   * Opens the vault of the current session with the password; BAD_PASSWORD when it is wrong. A
   * relayed session (after a reload) keeps no vault here: it signs in through the home hospital again.
   */
  async unlock (password: string): Promise<void> {
    const user = this.#user
    if (user?.remote !== undefined && this.#vault === null) {
      await this.signInRemote(user.username, password, user.hospital)
      return
    }
    if (user === null || this.#vault === null) throw new MedichainError('UNAUTHENTICATED', 'sign in first: there is no session to unlock')
    const keys = await openVault(this.#vault, password, { username: user.username })
    this.#dropKeys()
    this.#keys = keys
  }

  /** Locks the vault: the private keys are overwritten and dropped; the session stays. */
  lock (): void {
    this.#dropKeys()
  }

  /** Signs out and forgets the keys, also when the peer cannot be reached. */
  async signOut (): Promise<void> {
    try {
      await this.request('POST', '/api/auth/sign-out')
    } finally {
      this.#forget()
    }
  }

  #session (res: { user: ApiUser, vault: unknown, csrfToken: string }): void {
    this.#csrf = res.csrfToken
    this.#user = res.user
    this.#vault = res.vault
  }

  #dropKeys (): void {
    this.#keys?.signSeed.fill(0)
    this.#keys?.boxSecret.fill(0)
    this.#keys = null
  }

  #forget (): void {
    this.#dropKeys()
    this.#user = null
    this.#vault = null
    this.#csrf = null
    this.#cookie = null
  }
}
