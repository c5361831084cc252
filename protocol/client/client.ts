// The client SDK: everything a browser, a script or a test does against a peer's HTTP API, with
// the client-side cryptography of docs/design.md §3 and §5. Keys are generated and kept here; the peer
// only ever sees public keys, the sealed vault, wrapped keys and ciphertext. Runs in browsers and
// Node 24 (fetch, FormData, Blob, WebCrypto); in Node the session cookie is kept by hand. The
// session and the account (sign-in, vault) are session.ts; this file adds images, consents, the
// directory and audit, membership and labels, and is the SDK's public face (the answers' shapes
// are api-types.ts).
import { CID } from 'multiformats/cid'
import { fromBase64 } from '../base64.ts'
import { fromHex, toHex } from '../bytes.ts'
import { buildConsentGrant, buildConsentRevoke } from '../chain/consent.ts'
import type { PatientStudyKey } from '../chain/consent.ts'
import type { ConsentScope, Purpose } from '../chain/tx.ts'
import { txToBase64 } from '../chain/tx-transport.ts'
import { decryptBytes } from '../crypto/content-crypto.ts'
import { unwrapKey } from '../crypto/key-wrap.ts'
import type { UserKeys } from '../crypto/user-keys.ts'
import { MedichainError } from '../errors.ts'
import { openImageMeta } from '../image-meta.ts'
import type { ImageMeta } from '../image-meta.ts'
import { parsePatientCode } from '../patient-code.ts'
import type { ApiImage, ApiLabel, ApiProposal, ApiStudyKey, ApiTrainingSummary, AuditPageOptions, DirectoryEntryJson, DisplayNameJson, LabelUse } from './api-types.ts'
import { uploadBody, uploadForm } from './request-body.ts'
import type { UploadCard } from './request-body.ts'
import { SessionClient } from './session.ts'

export { ApiError, NetworkError, parseRetryAfter } from './api-error.ts'
export { uploadBody, uploadForm } from './request-body.ts'
export type { UploadCard } from './request-body.ts'
export { SessionClient } from './session.ts'
export type { ApiHome, ApiUser, ClientOptions } from './session.ts'
export type { ApiImage, ApiLabel, ApiProposal, ApiStudyKey, ApiTrainingSummary, AuditEntryJson, AuditGroupJson, AuditPageOptions, DirectoryEntryJson, DisplayNameJson, LabelUse } from './api-types.ts'

/** `?cursor=…&limit=…` for a paged route, or '' when neither is given. */
function pageQuery (opts: { cursor?: string, limit?: number }, extra: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams()
  if (opts.cursor !== undefined) q.set('cursor', opts.cursor)
  if (opts.limit !== undefined) q.set('limit', String(opts.limit))
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) q.set(k, String(v))
  const text = q.toString()
  return text === '' ? '' : `?${text}`
}

/** A session with one peer and every call of the API (the session and account calls are SessionClient's). */
export class MedichainClient extends SessionClient {
  /**
   * Uploads one image file for a patient (clinician). `name` is the file name and `card` the
   * description and date a person gave it; the peer seals them, with a thumbnail and what a DICOM
   * header says, into the image's card (protocol/image-meta.ts), never onto the ledger.
   */
  async upload (patientId: string, file: Blob | Uint8Array, name?: string, card: UploadCard = {}): Promise<Record<string, unknown>> {
    return await this.json('POST', `/api/patients/${patientId}/images`, file instanceof Uint8Array ? uploadBody(file, name, card) : uploadForm(file, name, card))
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
      const page = await this.json<{ images: ApiImage[], next?: string | null }>('GET', `${path}${pageQuery({ cursor, limit: 500 })}`)
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
    return await this.json('GET', `/api/patients/by-code/${parsed.code}`)
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
    return (await this.json<{ studies: ApiStudyKey[] }>('GET', `/api/me/study-keys${record === undefined ? '' : `?record=${record}`}`)).studies
  }

  /** A page of the patient's consents (by grantee, then purpose), the next seq to sign with, and the cursor of the next page. */
  async myConsents (opts: { cursor?: string, limit?: number } = {}): Promise<{ nextSeq: number, consents: Array<Record<string, unknown>>, next: string | null }> {
    return await this.json('GET', `/api/me/consents${pageQuery(opts)}`)
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
      ? fromHex((await this.json<{ hospital: string }>('GET', `/api/accounts/by-key/${input.grantee}`)).hospital)
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
    return await this.json('POST', '/api/consents', { tx: txToBase64(tx) })
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
    return await this.json('POST', `/api/consents/${consentId}/revoke`, { tx: txToBase64(tx) })
  }

  /** Searches the consortium directory of hospitals and staff by name, department or hospital. */
  async directory (q = ''): Promise<DirectoryEntryJson[]> {
    return (await this.json<{ entries: DirectoryEntryJson[] }>('GET', `/api/directory${q === '' ? '' : `?q=${encodeURIComponent(q)}`}`)).entries
  }

  /** Gives this hospital its display name (admins). */
  async setHospitalName (name: string): Promise<void> {
    await this.json('PUT', '/api/hospital/name', { name })
  }

  /** Publishes the signed-in staff member's display name and department in the directory. */
  async setMyDirectoryEntry (name: string, department: string): Promise<void> {
    await this.json('PUT', '/api/me/directory', { name, department })
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
    return await this.json('GET', `/api/me/audit${pageQuery(opts, { group: opts.group, tz: opts.tz })}`)
  }

  /** One page of the patient's audit grouped by person, day, use, basis and consent, newest group first. */
  async myAuditGroups (opts: AuditPageOptions = {}): Promise<{ groups: Array<Record<string, unknown>>, next: string | null }> {
    return await this.json('GET', `/api/me/audit/groups${pageQuery(opts, { tz: opts.tz })}`)
  }

  /** Display names of keys (people and hospitals) from the directory; keys with no entry are missing. */
  async names (keys: readonly string[]): Promise<Record<string, DisplayNameJson>> {
    const all = [...new Set(keys)]
    const out: Record<string, DisplayNameJson> = {}
    // The peer answers at most 100 keys a request.
    for (let i = 0; i < all.length; i += 100) {
      Object.assign(out, (await this.json<{ names: Record<string, DisplayNameJson> }>('GET', `/api/directory?keys=${all.slice(i, i + 100).join(',')}`)).names)
    }
    return out
  }

  async myCredit (): Promise<Record<string, unknown>> {
    return await this.json('GET', '/api/me/credit')
  }

  async emergency (patientId: string, reason: string): Promise<{ until: number }> {
    return await this.json('POST', `/api/patients/${patientId}/emergency-access`, { reason })
  }

  async pendingAccounts (): Promise<Array<{ username: string, role: string }>> {
    return (await this.json<{ accounts: Array<{ username: string, role: string }> }>('GET', '/api/accounts?status=pending')).accounts
  }

  async approve (username: string): Promise<void> {
    await this.json('POST', `/api/accounts/${username}/approve`)
  }

  /**
   * Membership proposals of the consortium, oldest first (admin). A consortium makes few, so this
   * follows the pages (500 each) to the end.
   */
  async proposals (): Promise<ApiProposal[]> {
    const out: ApiProposal[] = []
    let cursor: string | undefined
    do {
      const page = await this.json<{ proposals: ApiProposal[], next: string | null }>('GET', `/api/members/proposals${pageQuery({ cursor, limit: 500 })}`)
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
    return await this.json('POST', '/api/members/proposals', input)
  }

  /** Approves a membership proposal on behalf of this peer's hospital (admin). Returns the approval's id. */
  async approveProposal (id: string): Promise<{ id: string }> {
    return await this.json('POST', `/api/members/proposals/${encodeURIComponent(id)}/approve`)
  }

  /**
   * Attaches a ground-truth lesion mask (a PNG of the image's size, non-zero = lesion) to one of
   * this hospital's images, for training or held out for validation (clinician of the custodian).
   */
  async putLabel (cid: string, maskPng: Uint8Array, use?: LabelUse): Promise<ApiLabel> {
    const query = use === undefined ? '' : `?use=${use}`
    return await this.json('PUT', `/api/images/${cid}/label${query}`, new Blob([maskPng as BlobPart], { type: 'image/png' }))
  }

  /** The label of an image (without the mask), or NOT_FOUND. */
  async label (cid: string): Promise<ApiLabel> {
    return await this.json('GET', `/api/images/${cid}/label`)
  }

  async deleteLabel (cid: string): Promise<void> {
    await this.json('DELETE', `/api/images/${cid}/label`)
  }

  /** How many images are labelled and how many federated learning may use now (clinician, admin). */
  async labelSummary (): Promise<ApiTrainingSummary> {
    return await this.json('GET', '/api/labels/summary')
  }

  #needKeys (): UserKeys {
    const keys = this.keys
    if (keys === null) throw new MedichainError('VAULT_LOCKED', 'sign in first: the vault is locked')
    return keys
  }
}
