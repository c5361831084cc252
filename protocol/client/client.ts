// The client SDK: everything a browser, a script or a test does against a peer's HTTP API, with
// the client-side cryptography of docs/design.md §3 and §5. Keys are generated and kept here; the peer
// only ever sees public keys, the sealed vault, wrapped keys and ciphertext. Runs in browsers and
// Node 24 (fetch, FormData, Blob, WebCrypto); in Node the session cookie is kept by hand.
import { CID } from 'multiformats/cid'
import { fromBase64, toBase64 } from '../base64.ts'
import { fromHex, toHex } from '../bytes.ts'
import { accountRegistrationProof, buildConsentGrant, buildConsentRevoke } from '../chain/consent.ts'
import type { PatientStudyKey } from '../chain/consent.ts'
import { decryptBytes } from '../crypto/content-crypto.ts'
import { deriveAuthSecret } from '../crypto/auth-secret.ts'
import { MedichainError } from '../errors.ts'
import { unwrapKey } from '../crypto/key-wrap.ts'
import type { AccessBasis, AccessUse, ConsentScope, Purpose, Role } from '../chain/tx.ts'
import { txToBase64 } from '../chain/tx-transport.ts'
import { openImageMeta } from '../image-meta.ts'
import { parsePatientCode } from '../patient-code.ts'
import type { ImageMeta } from '../image-meta.ts'
import { generateUserKeys } from '../crypto/user-keys.ts'
import type { UserKeys } from '../crypto/user-keys.ts'
import { openVault, sealVault } from '../crypto/vault.ts'
import { EncodedBody, multipartBody } from './multipart-body.ts'
import type { MultipartPart } from './multipart-body.ts'
import { matchHome, openRelayReply, parseTypedUsername, sealRelayProof } from '../crypto/relay-sign-in.ts'
import type { HomeChoice } from '../crypto/relay-sign-in.ts'
import { deriveRecoverySecret, newRecoveryCode, normaliseRecoveryCode } from '../crypto/recovery-code.ts'

/** An error answer of the API: its stable code, its message and the HTTP status. */
export class ApiError extends MedichainError {
  readonly status: number
  /** Seconds to wait before retrying, from `Retry-After` (RFC 9110 §10.2.3) on 429 and 503; else null. */
  readonly retryAfter: number | null
  constructor (status: number, code: string, message: string, retryAfter: number | null = null) {
    super(code, message)
    this.name = 'ApiError'
    this.status = status
    this.retryAfter = retryAfter
  }
}

/** Socket errors of a reused connection that the other side had closed before it answered. */
const STALE_CONNECTION_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])

/** True when `err` (or an error in its cause chain) is a connection closed before any answer. */
function isStaleConnection (err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && STALE_CONNECTION_CODES.has(code)) return true
  }
  return false
}

/** Thrown when the peer cannot be reached at all (fetch rejected: offline, refused, aborted). */
export class NetworkError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('NETWORK', message, options)
    this.name = 'NetworkError'
  }
}

/** Seconds of a `Retry-After` header in its delay-seconds form; null when absent or an HTTP date. */
export function parseRetryAfter (value: string | null): number | null {
  if (value === null || !/^\d{1,9}$/.test(value.trim())) return null
  return Number(value.trim())
}

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

/** An image as listed for the reader, with the reader's own wrapped keys (base64). */
/** What a ground-truth label is used for. */
export type LabelUse = 'train' | 'validation'

/** A ground-truth label as the peer describes it (the mask itself stays at the hospital). */
export interface ApiLabel {
  cid: string
  patientId: string
  record: string | null
  use: LabelUse
  width: number
  height: number
  lesionPixels: number
  /** Signing key of the clinician who labelled it (hex). */
  author: string
  /** That clinician's username at this hospital, or null when the account no longer exists. */
  authorName: string | null
  time: number
}

/** Labelled images and what the training consents let federated learning use now. */
export interface ApiTrainingSummary {
  labelled: Record<LabelUse, number>
  eligible: Record<LabelUse, { total: number, kept: number, excluded: number, reasons: Record<string, number> }>
}

export interface ApiImage {
  raw: string
  result: string | null
  /** CID of the sealed card (file name, date, description, thumbnail), or null for images from before cards. */
  meta: string | null
  patientId: string
  modality: string
  size: number
  score: number | null
  model: string | null
  custodian: string
  custodianName: string | null
  time: number
  basis: string
  keys: { raw: string, result: string | null }
  /** The record the image belongs to (hex), or null; for a DICOM instance, its study. */
  record: string | null
  /**
   * A DICOM instance's place in its series (docs/design.md §5 "Studies and series"): the
   * pseudonymous series and instance ids (hex) and its InstanceNumber; null for other images.
   */
  dicom: { series: string, instance: string, number: number } | null
  /** The study key (its id, hex) the image's data keys are also sealed under, or null (older images, non-DICOM). */
  study: { kid: string } | null
}

/** One of the patient's study keys as `GET /api/me/study-keys` gives it (hex, the key in base64, wrapped for the patient). */
export interface ApiStudyKey { patientId: string, record: string, custodian: string, kid: string, key: string }

/** A membership proposal as `GET /api/members/proposals` lists it (keys and ids in hex). */
export interface ApiProposal {
  id: string
  action: 'add' | 'remove' | 'resolve'
  member: string
  name: string
  addrs: string[]
  /** For a 'resolve': the height of the equivocation and the hash of the block kept (hex); else null. */
  height: number | null
  keep: string | null
  proposer: string
  proposerName: string | null
  time: number
  /** Hospitals that approved, besides the proposer (whose vote is implied). */
  approvers: string[]
  /** True once the member's status is what the proposal asked for. */
  enacted: boolean
}

/** One entry of the consortium directory, as `GET /api/directory` answers it. */
export interface DirectoryEntryJson { key: string, name: string, department: string, hospital: string, hospitalName: string | null, kind: 'hospital' | 'staff' }

/** A key's display name, as `GET /api/directory?keys=` answers it: "Dr Lee", "Radiology", and the hospital. */
export interface DisplayNameJson { name: string, department: string, hospital: string, hospitalName: string | null }

/** One access entry as `GET /api/me/audit` answers it (docs/api.md "Access entries"). */
export interface AuditEntryJson {
  id: string
  time: number
  /** The raw CID read; null for a listing, which names no image. */
  image: string | null
  use: AccessUse
  /** True for an entry written before uses existed, whose use is inferred. */
  inferred: boolean
  accessor: string
  /** The accessor's directory name and department, and their hospital's name; null where there is none. */
  accessorName: string | null
  department: string | null
  hospital: string
  hospitalName: string | null
  basis: AccessBasis
  consent: string | null
  /** The purpose and grantee of the consent the read relied on (null without one). */
  purpose: Purpose | null
  consentTo: string | null
  consentToName: string | null
  emergency: boolean
}

/** One group of `GET /api/me/audit/groups`: the entries of one person, local day, use, basis and consent. */
export interface AuditGroupJson extends Omit<AuditEntryJson, 'id' | 'time' | 'image' | 'inferred'> {
  key: string
  /** The local day, YYYY-MM-DD, in the offset the page asked for. */
  day: string
  first: number
  last: number
  /** Ledger entries in the group, and the distinct images they name (0 for listings). */
  entries: number
  images: number
}

/** Which page of the patient's audit: `tz` is the page's offset from UTC in minutes (east positive), which sets the day of a group. */
export interface AuditPageOptions { cursor?: string, limit?: number, tz?: number }

/** What a person says about an image at upload: sealed into its card with the file name. */
export interface UploadCard { description?: string, date?: string }

/**
 * The multipart form of an upload: the file, and the card's `name`, `description` and `date`
 * fields (docs/api.md). The name always goes as a field too: a part without a file name would be
 * no file at all, so an unnamed upload sends `image` as the part's name and an empty `name`.
 */
export function uploadForm (file: Blob | Uint8Array, name: string | undefined, card: UploadCard = {}): FormData {
  const form = new FormData()
  form.append('name', name ?? '')
  if (card.description !== undefined) form.append('description', card.description)
  if (card.date !== undefined) form.append('date', card.date)
  form.append('file', file instanceof Blob ? file : new Blob([file as BlobPart]), name === undefined || name === '' ? 'image' : name)
  return form
}

/**
 * Node's fetch (undici) sends a stream body piece by piece as the pieces are, where it copies an
 * array body twice first (with the array built from the pieces, three copies of the file: about
 * 0.3 s of CPU for a 105 MB image). Browsers send a streamed body only over HTTP/2, so there an
 * EncodedBody goes as one Blob, which they build natively.
 */
const PIECES_AS_THEY_ARE = typeof process === 'object' && typeof process.versions?.node === 'string'

/** The pieces as a plain (not byte) stream, which fetch reads as they are: no copy, no transfer. */
function inOrder (pieces: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start (controller) {
      for (const p of pieces) controller.enqueue(p)
      controller.close()
    }
  })
}

/**
 * The same form as `uploadForm` for a file already in memory, kept as pieces around the file and
 * sent without copying it (protocol/client/multipart-body.ts). The caller leaves the file as it is
 * until the upload is answered.
 */
export function uploadBody (file: Uint8Array, name: string | undefined, card: UploadCard = {}): EncodedBody {
  const parts: MultipartPart[] = [{ name: 'name', value: name ?? '' }]
  if (card.description !== undefined) parts.push({ name: 'description', value: card.description })
  if (card.date !== undefined) parts.push({ name: 'date', value: card.date })
  parts.push({ name: 'file', file, fileName: name === undefined || name === '' ? 'image' : name })
  return multipartBody(parts)
}

/** Options of the client. */
export interface ClientOptions {
  /** Base URL of the peer, e.g. `http://127.0.0.1:8080` (empty string in a page served by it). */
  baseUrl: string
  fetch?: typeof fetch
  /** PBKDF2 iterations for new vaults (default: the vault module's 600k; tests lower it). */
  vaultIterations?: number
}

/** `?cursor=…&limit=…` for a paged route, or '' when neither is given. */
function pageQuery (opts: { cursor?: string, limit?: number }, extra: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams()
  if (opts.cursor !== undefined) q.set('cursor', opts.cursor)
  if (opts.limit !== undefined) q.set('limit', String(opts.limit))
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) q.set(k, String(v))
  const text = q.toString()
  return text === '' ? '' : `?${text}`
}

/** A session with one peer. */
export class MedichainClient {
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
    const headers: Record<string, string> = {}
    let payload: BodyInit | undefined
    const extra: { duplex?: 'half' } = {}
    if (body instanceof FormData) {
      payload = body
    } else if (body instanceof EncodedBody) {
      headers['content-type'] = body.type
      if (PIECES_AS_THEY_ARE) {
        // The declared length keeps the body unchunked, so the peer refuses an oversized upload up front.
        headers['content-length'] = String(body.length)
        payload = inOrder(body.pieces)
        extra.duplex = 'half'
      } else {
        payload = new Blob(body.pieces as Array<Uint8Array<ArrayBuffer>>)
      }
    } else if (body instanceof Blob) {
      headers['content-type'] = body.type
      payload = body
    } else if (typeof body === 'string') {
      // Already-serialised JSON, sent as is.
      headers['content-type'] = 'application/json'
      payload = body
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json'
      payload = JSON.stringify(body)
    }
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

  async #json<T> (method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body)
    return res.status === 204 ? undefined as T : await res.json() as T
  }

  /** Ledger id and hospital key of the peer (needed to sign registrations and consents). */
  async peerInfo (): Promise<{ ledger: Uint8Array, self: Uint8Array }> {
    const h = await this.#json<{ ledger: string, self: string }>('GET', '/api/health')
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
    const made = await this.#json<{ username: string, role: Role, status: string, patientId?: string }>('POST', '/api/auth/sign-up', {
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
    const res = await this.#json<{ sessionEpoch: number }>('POST', '/api/auth/password', {
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
    const { vault: sealed } = await this.#json<{ vault: unknown }>('POST', '/api/auth/recovery/vault', { username, secret })
    const keys = await openVault(sealed, canonical, { username: username.toLowerCase() })
    try {
      const fresh = newRecoveryCode()
      await this.#json('POST', '/api/auth/recovery/reset', {
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
    return await this.#json('POST', `/api/accounts/${encodeURIComponent(username)}/end-sessions`)
  }

  /**
   * Signs in and opens the vault with the same password. Should the vault not open (BAD_PASSWORD,
   * BAD_VAULT), the session stays signed in but locked, and the error is thrown.
   */
  async signIn (username: string, password: string): Promise<ApiUser> {
    const secret = await deriveAuthSecret(username, password)
    const res = await this.#json<{ user: ApiUser, vault: unknown, csrfToken: string }>('POST', '/api/auth/sign-in', { username, password: secret })
    this.#session(res)
    await this.unlock(password)
    return res.user
  }

  /**
   * Picks up the session the cookie names (a browser reload): user and CSRF token, with the vault
   * still locked until `unlock(password)`. Resolves null when there is no live session.
   */
  async resume (): Promise<ApiUser | null> {
    const res = await this.#json<{ user: ApiUser | null, vault?: unknown, csrfToken?: string }>('GET', '/api/auth/session')
    if (res.user === null || typeof res.csrfToken !== 'string') {
      this.#forget()
      return null
    }
    this.#session({ user: res.user, vault: res.vault, csrfToken: res.csrfToken })
    return res.user
  }

  /** The member hospitals a patient may name as their home (public: the sign-in page lists them). */
  async homes (): Promise<ApiHome[]> {
    return (await this.#json<{ homes: ApiHome[] }>('GET', '/api/auth/homes')).homes
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
      const res = await this.#json<{ user: ApiUser, csrfToken: string, reply: string }>('POST', '/api/auth/remote-sign-in', { home: homeKey, proof: toBase64(proof) })
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
    return (await this.#json<{ entries: Array<{ hospital: string, hospitalName: string, time: number }> }>('GET', '/api/me/sign-ins')).entries
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

  /**
   * Uploads one image file for a patient (clinician). `name` is the file name and `card` the
   * description and date a person gave it; the peer seals them, with a thumbnail and what a DICOM
   * header says, into the image's card (protocol/image-meta.ts), never onto the ledger.
   */
  async upload (patientId: string, file: Blob | Uint8Array, name?: string, card: UploadCard = {}): Promise<Record<string, unknown>> {
    return await this.#json('POST', `/api/patients/${patientId}/images`, file instanceof Uint8Array ? uploadBody(file, name, card) : uploadForm(file, name, card))
  }

  /**
   * The card of an image, opened here with the reader's raw data key: file name, date,
   * description, modality as the file wrote it and a thumbnail. Null for an image from before
   * cards. Fetching it appends no access log (the listing that gave the key did).
   */
  async imageCard (image: ApiImage): Promise<ImageMeta | null> {
    const keys = this.#needKeys()
    if (image.meta === null) return null
    const res = await this.request('GET', `/api/images/${image.raw}/meta`)
    const sealed = new Uint8Array(await res.arrayBuffer())
    const dataKey = unwrapKey(fromBase64(image.keys.raw), keys.boxSecret)
    try {
      return await openImageMeta(dataKey, sealed)
    } finally {
      dataKey.fill(0)
    }
  }

  /** Every image of the patient this user may open (following the pages; each listed image is logged). */
  async patientImages (patientId: string): Promise<ApiImage[]> {
    return await this.#allImages(`/api/patients/${patientId}/images`)
  }

  /** Every one of the signed-in patient's own images (following the pages). */
  async myImages (): Promise<ApiImage[]> {
    return await this.#allImages('/api/me/images')
  }

  /** A patient's images are tens, not thousands: the pages (500 each) are followed to the end. */
  async #allImages (path: string): Promise<ApiImage[]> {
    const out: ApiImage[] = []
    let cursor: string | undefined
    do {
      const page = await this.#json<{ images: ApiImage[], next?: string | null }>('GET', `${path}${pageQuery({ cursor, limit: 500 })}`)
      out.push(...page.images)
      cursor = page.next ?? undefined
    } while (cursor !== undefined)
    return out
  }

  /**
   * Finds a patient by the short code they read out at a desk (clinician, admin). The code's check
   * runs here first, so a typo throws PatientCodeError (BAD_PATIENT_CODE) without asking the peer;
   * the peer answers UNKNOWN_PATIENT or PATIENT_CODE_AMBIGUOUS when no or two patients have it.
   */
  async patientByCode (code: string): Promise<{ patientId: string, code: string }> {
    const parsed = parsePatientCode(code)
    return await this.#json('GET', `/api/patients/by-code/${parsed.code}`)
  }

  /** Downloads and decrypts the raw image or the result image, in this process only. */
  async openImage (image: ApiImage, part: 'raw' | 'result' = 'raw'): Promise<Uint8Array> {
    const keys = this.#needKeys()
    const cid = part === 'raw' ? image.raw : image.result
    const wrapped = part === 'raw' ? image.keys.raw : image.keys.result
    if (cid === null || wrapped === null) throw new MedichainError('NOT_FOUND', `this image has no ${part} part`)
    const res = await this.request('GET', `/api/images/${cid}`)
    const dataKey = unwrapKey(fromBase64(wrapped), keys.boxSecret)
    try {
      return await decryptBytes(dataKey, new Uint8Array(await res.arrayBuffer()))
    } finally {
      dataKey.fill(0)
    }
  }

  /** The signed-in patient's study keys (of one study, hex, when given), wrapped for their box key. */
  async myStudyKeys (record?: string): Promise<ApiStudyKey[]> {
    return (await this.#json<{ studies: ApiStudyKey[] }>('GET', `/api/me/study-keys${record === undefined ? '' : `?record=${record}`}`)).studies
  }

  /** A page of the patient's consents (by grantee, then purpose), the next seq to sign with, and the cursor of the next page. */
  async myConsents (opts: { cursor?: string, limit?: number } = {}): Promise<{ nextSeq: number, consents: Array<Record<string, unknown>>, next: string | null }> {
    return await this.#json('GET', `/api/me/consents${pageQuery(opts)}`)
  }

  /**
   * Grants a consent: the patient's own keys for the chosen images are unwrapped here and
   * re-wrapped for the grantee, then the consent is signed here and sent. A consent naming a study
   * (or all images) carries the study keys of the studies it covers instead of the keys of the
   * instances sealed under them (docs/design.md §5 "Study keys"), so its size does not grow with
   * the study; only instances without a study key (ingested before they existed) add a key each.
   */
  async grant (input: { grantee: string, kind: 'user' | 'hospital', purpose: Purpose, expires: number, scope?: ConsentScope, images?: string[], project?: string }): Promise<{ id: string }> {
    const keys = this.#needKeys()
    const peer = await this.peerInfo()
    const mine = await this.myImages()
    const chosen = input.images === undefined ? mine : mine.filter(i => input.images?.includes(i.raw))
    // A user's keys go to their home hospital's peer, which re-wraps them only while the consent is live.
    const granteeHospital = input.kind === 'user'
      ? fromHex((await this.#json<{ hospital: string }>('GET', `/api/accounts/by-key/${input.grantee}`)).hospital)
      : undefined
    const { nextSeq } = await this.myConsents()
    const scope: ConsentScope = input.scope ?? (input.images === undefined ? { kind: 'all' } : { kind: 'images', images: chosen.map(i => CID.parse(i.raw)) })
    // Only keys some image is sealed under now: a key replaced by "revoke and re-key" opens nothing current.
    const used = new Set(mine.flatMap(i => i.study === null ? [] : [`${i.record ?? ''}:${i.custodian}:${i.study.kid}`]))
    const studies = scope.kind === 'images' ? [] : (await this.myStudyKeys(scope.kind === 'record' ? toHex(scope.record) : undefined)).filter(s => used.has(`${s.record}:${s.custodian}:${s.kid}`))
    const sealed = new Set(studies.map(s => `${s.record}:${s.custodian}:${s.kid}`))
    const keyed = chosen.filter(i => i.study === null || !sealed.has(`${i.record ?? ''}:${i.custodian}:${i.study.kid}`))
    const tx = buildConsentGrant({
      ledgerId: peer.ledger,
      patient: keys,
      grantee: fromHex(input.grantee),
      kind: input.kind,
      granteeHospital,
      purpose: input.purpose,
      scope,
      expires: input.expires,
      studies: studies.map((s): PatientStudyKey => ({ patient: fromHex(s.patientId), record: fromHex(s.record), custodian: fromHex(s.custodian), kid: fromHex(s.kid), key: fromBase64(s.key) })),
      images: keyed.map(i => ({ cid: CID.parse(i.raw), raw: fromBase64(i.keys.raw), result: i.keys.result === null ? null : fromBase64(i.keys.result) })),
      seq: nextSeq,
      time: Date.now(),
      project: input.project === undefined ? undefined : fromHex(input.project)
    })
    return await this.#json('POST', '/api/consents', { tx: txToBase64(tx) })
  }

  /**
   * Revokes the consent with id `consentId` (to `grantee`): for `purpose` only when given (the
   * consent's own purpose; the peer refuses another), else for every purpose of that grantee.
   * With `rekey`, the custodians also re-encrypt the patient's images under new keys and every
   * member deletes the old ciphertext ("revoke and re-key").
   */
  async revoke (consentId: string, grantee: string, purpose?: Purpose, options: { rekey?: boolean } = {}): Promise<{ id: string }> {
    const keys = this.#needKeys()
    const peer = await this.peerInfo()
    const { nextSeq } = await this.myConsents()
    const tx = buildConsentRevoke({ ledgerId: peer.ledger, patient: keys, grantee: fromHex(grantee), purpose, rekey: options.rekey, seq: nextSeq, time: Date.now() })
    return await this.#json('POST', `/api/consents/${consentId}/revoke`, { tx: txToBase64(tx) })
  }

  /** Searches the consortium directory of hospitals and staff by name, department or hospital. */
  async directory (q = ''): Promise<DirectoryEntryJson[]> {
    return (await this.#json<{ entries: DirectoryEntryJson[] }>('GET', `/api/directory${q === '' ? '' : `?q=${encodeURIComponent(q)}`}`)).entries
  }

  /** Gives this hospital its display name (admins). */
  async setHospitalName (name: string): Promise<void> {
    await this.#json('PUT', '/api/hospital/name', { name })
  }

  /** Publishes the signed-in staff member's display name and department in the directory. */
  async setMyDirectoryEntry (name: string, department: string): Promise<void> {
    await this.#json('PUT', '/api/me/directory', { name, department })
  }

  /** The newest page (100 entries) of who viewed the patient's images, newest first. */
  async myAudit (): Promise<Array<Record<string, unknown>>> {
    return (await this.myAuditPage()).entries
  }

  /**
   * One page of the patient's audit, newest first; pass `next` back as `cursor` for older entries.
   * With `group` (a key from myAuditGroups, with the same `tz`), only that group's entries.
   */
  async myAuditPage (opts: AuditPageOptions & { group?: string } = {}): Promise<{ entries: Array<Record<string, unknown>>, next: string | null }> {
    return await this.#json('GET', `/api/me/audit${pageQuery(opts, { group: opts.group, tz: opts.tz })}`)
  }

  /** One page of the patient's audit grouped by person, day, use, basis and consent, newest group first. */
  async myAuditGroups (opts: AuditPageOptions = {}): Promise<{ groups: Array<Record<string, unknown>>, next: string | null }> {
    return await this.#json('GET', `/api/me/audit/groups${pageQuery(opts, { tz: opts.tz })}`)
  }

  /** Display names of keys (people and hospitals) from the directory; keys with no entry are missing. */
  async names (keys: readonly string[]): Promise<Record<string, DisplayNameJson>> {
    const all = [...new Set(keys)]
    const out: Record<string, DisplayNameJson> = {}
    // The peer answers at most 100 keys a request.
    for (let i = 0; i < all.length; i += 100) {
      Object.assign(out, (await this.#json<{ names: Record<string, DisplayNameJson> }>('GET', `/api/directory?keys=${all.slice(i, i + 100).join(',')}`)).names)
    }
    return out
  }

  async myCredit (): Promise<Record<string, unknown>> {
    return await this.#json('GET', '/api/me/credit')
  }

  async emergency (patientId: string, reason: string): Promise<{ until: number }> {
    return await this.#json('POST', `/api/patients/${patientId}/emergency-access`, { reason })
  }

  async pendingAccounts (): Promise<Array<{ username: string, role: string }>> {
    return (await this.#json<{ accounts: Array<{ username: string, role: string }> }>('GET', '/api/accounts?status=pending')).accounts
  }

  async approve (username: string): Promise<void> {
    await this.#json('POST', `/api/accounts/${username}/approve`)
  }

  /**
   * Membership proposals of the consortium, oldest first (admin). A consortium makes few, so this
   * follows the pages (500 each) to the end.
   */
  async proposals (): Promise<ApiProposal[]> {
    const out: ApiProposal[] = []
    let cursor: string | undefined
    do {
      const page = await this.#json<{ proposals: ApiProposal[], next: string | null }>('GET', `/api/members/proposals${pageQuery({ cursor, limit: 500 })}`)
      out.push(...page.proposals)
      cursor = page.next ?? undefined
    } while (cursor !== undefined)
    return out
  }

  /**
   * Proposes admitting (`add`, with a name and multiaddrs) or removing a hospital by its 64-hex
   * Ed25519 key, or resolving its equivocation at `height` by keeping the block whose hash is
   * `keep` (`resolve`), signed by this peer's hospital key (admin). Returns the proposal's id.
   */
  async propose (input: { action: 'add' | 'remove', member: string, name?: string, addrs?: string[] } | { action: 'resolve', member: string, height: number, keep: string }): Promise<{ id: string }> {
    return await this.#json('POST', '/api/members/proposals', input)
  }

  /** Approves a membership proposal on behalf of this peer's hospital (admin). Returns the approval's id. */
  async approveProposal (id: string): Promise<{ id: string }> {
    return await this.#json('POST', `/api/members/proposals/${encodeURIComponent(id)}/approve`)
  }

  /**
   * Attaches a ground-truth lesion mask (a PNG of the image's size, non-zero = lesion) to one of
   * this hospital's images, for training or held out for validation (clinician of the custodian).
   */
  async putLabel (cid: string, maskPng: Uint8Array, use?: LabelUse): Promise<ApiLabel> {
    const query = use === undefined ? '' : `?use=${use}`
    return await this.#json('PUT', `/api/images/${cid}/label${query}`, new Blob([maskPng as BlobPart], { type: 'image/png' }))
  }

  /** The label of an image (without the mask), or NOT_FOUND. */
  async label (cid: string): Promise<ApiLabel> {
    return await this.#json('GET', `/api/images/${cid}/label`)
  }

  async deleteLabel (cid: string): Promise<void> {
    await this.#json('DELETE', `/api/images/${cid}/label`)
  }

  /** How many images are labelled and how many federated learning may use now (clinician, admin). */
  async labelSummary (): Promise<ApiTrainingSummary> {
    return await this.#json('GET', '/api/labels/summary')
  }

  #needKeys (): UserKeys {
    if (this.#keys === null) throw new MedichainError('VAULT_LOCKED', 'sign in first: the vault is locked')
    return this.#keys
  }
}
