// Reading images under the access rule: every read of keys or ciphertext by someone other than
// the patient appends `access.log` to the ledger (docs/design.md §5), naming what it was (one entry
// per listing, one per image opened) and the basis (custodian, consent with its tx id, or
// emergency) so the patient sees who looked and why.
import { appendFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { CID } from 'multiformats/cid'
import type { AccessBasis } from '../../protocol/chain/tx.ts'
import { equals, toHex } from '../../protocol/bytes.ts'
import { MedichainError } from '../../protocol/errors.ts'
import type { ConsentRecord, ImageRecord } from '../../ledger/queries/queries.ts'
import type { Clock, Ledger } from '../../ledger/types.ts'
import type { Storage } from '../storage/index.ts'
import { decideAccess, purposeOfRole } from './access.ts'
import type { AccessDecision, AccessPolicy, Reader } from './access.ts'
import type { FetchedCopies } from './fetched-copies.ts'
import { readSealedCard } from './card-bytes.ts'
import { hospitalDataKey, readerKeys } from './reader-keys.ts'
import { decryptContent } from '../storage/seal/content-crypto-node.ts'
import type { HospitalBox, ReaderKeys } from './reader-keys.ts'

/** One image as a reader sees it, with their own wrapped keys. */
export interface ReadableImage { image: ImageRecord, basis: Exclude<AccessDecision, { allowed: false }>['basis'], keys: ReaderKeys }

/** Thrown when the reader may not read what they asked for. */
export class AccessDeniedError extends MedichainError {
  constructor (code: 'FORBIDDEN' | 'NO_CONSENT', message: string) {
    super(code, message)
    this.name = 'AccessDeniedError'
  }
}

/** Thrown when break-glass is declared at a hospital that holds none of the patient's images. */
export class EmergencyNotCustodianError extends MedichainError {
  constructor () {
    super('EMERGENCY_NOT_CUSTODIAN', 'this hospital holds none of this patient\'s images; emergency access opens only images held here')
    this.name = 'EmergencyNotCustodianError'
  }
}

/** Decrypts a ciphertext stream, zeroing the key once the stream ends or fails. */
async function * decryptingWith (key: Uint8Array, source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield * decryptContent(key, source)
  } finally {
    key.fill(0)
  }
}

/** The one answer to a staff listing that opens nothing: the same whether the patient has images or not. */
const NOTHING_OPEN = 'no image of this patient is open to you: there are none, or no live consent covers them'

/** The sort key of an image in a patient's list: raw CID, then custodian (the ledger's index order). */
export function imageKey (image: ImageRecord): string {
  return `${image.raw.toString()}:${toHex(image.custodian)}`
}

/** Image records a listing reads from the index at a time (at least a page and one more). */
const LIST_CHUNK = 128

/** How long a declared emergency opens a patient's images to one clinician. */
export const EMERGENCY_WINDOW_MS = 60 * 60 * 1000

type Allowed = Exclude<AccessDecision, { allowed: false }>

/**
 * What one listing relied on, as its single access entry names it: an emergency if any image was
 * open only by one (the patient must see it), else the first consent any image relied on, else
 * custody. Null when nothing was listed, or only to the patient.
 */
export function listingBasis (decisions: readonly Allowed[]): { basis: AccessBasis, consent: Uint8Array | null } | null {
  const staff = decisions.filter(d => d.basis !== 'patient')
  if (staff.length === 0) return null
  if (staff.some(d => d.basis === 'emergency')) return { basis: 'emergency', consent: null }
  const consent = staff.find(d => d.basis === 'consent')
  if (consent !== undefined) return { basis: 'consent', consent: consent.consent }
  return { basis: 'custodian', consent: null }
}

/** What reads use. */
export interface ReadComponents {
  ledger: Ledger
  storage: Storage
  box: HospitalBox
  logger: Logger
  clock: Clock
  /** Told of every read under a consent, so the copy fetched for it is deleted when the consent ends. */
  copies?: Pick<FetchedCopies, 'noteFetched'>
  /** Keys other custodians released to this hospital in an emergency (node/emergency), while live. */
  emergencyKeys?: (reader: Reader, image: ImageRecord) => { raw: Uint8Array, result: Uint8Array | null } | undefined
}

/** Reads of one peer; `breakGlassLog` is the hospital's own file of emergency reasons (never on the ledger). */
export function createReads (init: { policy: AccessPolicy, breakGlassLog: string }, c: ReadComponents) {
  const emergencies = new Map<string, number>()
  const emergencyKey = (reader: Reader, patient: Uint8Array): string => `${toHex(reader.signPub)}:${toHex(patient)}`

  /**
   * The consents of a patient id, where a recovered key (issue 16.3) in effect overrides, per
   * grantee and purpose, what the old key signed: the old consents stay valid until the new key
   * revokes them.
   */
  async function consentsOf (patient: Uint8Array): Promise<ConsentRecord[]> {
    const own = await c.ledger.queries.consentsOf(patient)
    const successor = await c.ledger.queries.rekeys.successorOf(patient, c.clock())
    if (successor === undefined) return own
    const later = await c.ledger.queries.consentsOf(successor.patient)
    const same = (a: ConsentRecord, b: ConsentRecord): boolean => a.purpose === b.purpose && equals(a.grantee, b.grantee)
    return [...own.filter(o => !later.some(l => same(o, l))), ...later]
  }

  /**
   * A patient reading an image of the patient id their key took over by assisted recovery: the
   * custodian's re-wrapped keys once the request is in effect; undefined otherwise.
   */
  async function recoveredKeys (reader: Reader, image: ImageRecord): Promise<AccessDecision | undefined> {
    if (reader.patientId === undefined) return undefined
    const successor = await c.ledger.queries.rekeys.successorOf(image.patient, c.clock())
    if (successor === undefined || !equals(successor.patient, reader.patientId)) return undefined
    const wrapped = await c.ledger.queries.rekeys.rewrapped(successor.tx, image.raw.toString(), image.custodian)
    if (wrapped === undefined) return undefined
    return { allowed: true, basis: 'patient', keys: { from: 'patient', wrapped }, consent: null }
  }

  /** Decides one read; the consents looked at are those for the purpose the reader's role reads under. */
  async function decide (reader: Reader, image: ImageRecord, patientConsents?: ConsentRecord[]): Promise<AccessDecision> {
    if (reader.role === 'patient' && reader.patientId !== undefined && !equals(reader.patientId, image.patient)) {
      const recovered = await recoveredKeys(reader, image)
      if (recovered !== undefined) return recovered
    }
    const purpose = purposeOfRole(reader.role)
    const all = purpose === undefined ? [] : patientConsents ?? await consentsOf(image.patient)
    const forMe = (grantee: Uint8Array): ConsentRecord | undefined => all.find(x => x.purpose === purpose && equals(x.grantee, grantee))
    const consents = { user: forMe(reader.signPub), hospital: forMe(reader.hospital) }
    const until = emergencies.get(emergencyKey(reader, image.patient)) ?? 0
    const decision = decideAccess({ reader, image, consents, policy: init.policy, now: c.clock(), emergency: until > c.clock() })
    if (decision.allowed || reader.role !== 'clinician') return decision
    // An emergency declared here for images held elsewhere: the keys the custodian released, until its window ends.
    const released = c.emergencyKeys?.(reader, image)
    return released === undefined ? decision : { allowed: true, basis: 'emergency', keys: { from: 'emergency', wrapped: released }, consent: null }
  }

  /** Logs the opening of one image (its ciphertext went out). */
  async function logOpen (reader: Reader, image: ImageRecord, decision: Allowed): Promise<void> {
    if (decision.basis === 'patient') return
    await c.ledger.submitOwn('access.log', { patient: image.patient, image: image.raw, accessor: reader.signPub, basis: decision.basis, consent: decision.consent, use: 'open' })
  }

  /** Logs one listing of a patient's images, whatever its length: one entry, naming no image. */
  async function logListing (reader: Reader, patient: Uint8Array, decisions: Allowed[]): Promise<void> {
    const basis = listingBasis(decisions)
    if (basis === null) return
    await c.ledger.submitOwn('access.log', { patient, image: null, accessor: reader.signPub, basis: basis.basis, consent: basis.consent, use: 'list' })
  }

  return {
    /** The patient's images the reader may open, each with the reader's keys; logs the listing once. */
    async imagesOf (reader: Reader, patient: Uint8Array): Promise<ReadableImage[]> {
      return (await this.imagesPage(reader, patient, { limit: Number.POSITIVE_INFINITY })).images
    },

    /**
     * One page of imagesOf, in (raw CID, custodian) order: at most `limit` images the reader may
     * open after the one keyed `after` (`imageKey`), and whether any remain. Only the images on
     * the page are unwrapped and logged.
     */
    async imagesPage (reader: Reader, patient: Uint8Array, page: { after?: string, limit: number }): Promise<{ images: ReadableImage[], more: boolean }> {
      const out: ReadableImage[] = []
      const allowed: Allowed[] = []
      let more = false
      // One read of the patient's consents for the whole list, not one per image.
      const consents = purposeOfRole(reader.role) === undefined ? [] : await consentsOf(patient)
      // The index is read a chunk at a time from the cursor on, so a page costs what it shows
      // (plus the images it skips as not open to this reader), not the patient's whole list.
      const chunk = Number.isFinite(page.limit) ? Math.max(page.limit + 1, LIST_CHUNK) : undefined
      let after = page.after
      scan: for (;;) {
        const images = await c.ledger.queries.imagesOf(patient, { after, limit: chunk })
        for (const image of images) {
          const decision = await decide(reader, image, consents)
          if (!decision.allowed) continue
          if (out.length === page.limit) { more = true; break scan }
          out.push({ image, basis: decision.basis, keys: readerKeys(image, decision.keys, reader.boxPub, c.box) })
          allowed.push(decision)
        }
        const last = images.at(-1)
        if (chunk === undefined || images.length < chunk || last === undefined) break
        after = imageKey(last)
      }
      // One entry for the whole listing (issue 14): the keys go out only once it is durable.
      await logListing(reader, patient, allowed)
      // A patient's first page also lists the images of the ids their key took over by assisted
      // recovery (issue 16.3), with the keys the custodians re-wrapped: tens of images, not pages.
      if (!more && page.after === undefined && reader.role === 'patient' && reader.patientId !== undefined && equals(reader.patientId, patient)) {
        for (const former of await c.ledger.queries.rekeys.predecessorsOf(patient, c.clock())) {
          for (const image of await c.ledger.queries.imagesOf(former)) {
            const decision = await decide(reader, image)
            if (decision.allowed) out.push({ image, basis: decision.basis, keys: readerKeys(image, decision.keys, reader.boxPub, c.box) })
          }
        }
      }
      // "No images" and "none open to you" answer alike, so nobody learns whether a patient id has
      // images anywhere without being allowed to see them.
      if (out.length === 0 && page.after === undefined && reader.role !== 'patient') throw new AccessDeniedError('NO_CONSENT', NOTHING_OPEN)
      return { images: out, more }
    },

    /**
     * Logs that `reader` was shown records of each patient in `listed` outside a page of images (a
     * C-FIND or QIDO-RS answer): per patient one `access.log` of use 'list' naming no image, on the
     * basis the listing relied on (listingBasis), counting only images open to the reader; none for
     * a patient none of whose images is. The entries are submitted together, so they share group commits.
     */
    async logListed (reader: Reader, listed: Iterable<{ patient: Uint8Array, images: ImageRecord[] }>): Promise<void> {
      await Promise.all([...listed].map(async ({ patient, images }) => {
        const consents = purposeOfRole(reader.role) === undefined ? [] : await consentsOf(patient)
        const allowed: Allowed[] = []
        for (const image of images) {
          const decision = await decide(reader, image, consents)
          if (decision.allowed) allowed.push(decision)
        }
        await logListing(reader, patient, allowed)
      }))
    },

    /** The encrypted bytes of a raw or result CID, after the access check and an access log. */
    async ciphertext (reader: Reader, cid: CID): Promise<{ stream: AsyncIterable<Uint8Array>, image: ImageRecord }> {
      const found = await c.ledger.queries.imagesByAnyCid(cid.toString())
      if (found.length === 0) throw new MedichainError('NOT_FOUND', 'no image on the ledger has this CID')
      let last: AccessDecision | null = null
      for (const { image } of found) {
        const decision = await decide(reader, image)
        if (!decision.allowed) { last = decision; continue }
        await logOpen(reader, image, decision)
        if (decision.basis === 'consent') c.copies?.noteFetched(cid, image)
        return { stream: c.storage.cat(cid), image }
      }
      const denied = last as Extract<AccessDecision, { allowed: false }>
      throw new AccessDeniedError(denied.code, denied.reason)
    },

    /** Whether the reader may open `image` now (the access check alone: no log, no keys). */
    async mayRead (reader: Reader, image: ImageRecord, patientConsents?: ConsentRecord[]): Promise<boolean> {
      return (await decide(reader, image, patientConsents)).allowed
    },

    /**
     * The plaintext of a raw or result CID, for a reader whose client cannot decrypt (a DICOMweb
     * viewer): the same access check and access log as `ciphertext`, then this hospital's own copy
     * of the data key (as custodian, or bound to this image in a consent to the hospital or its
     * user) opens it here. The key never leaves the peer; the plaintext goes to the signed-in reader.
     */
    async plaintext (reader: Reader, cid: CID): Promise<{ stream: AsyncIterable<Uint8Array>, image: ImageRecord }> {
      const found = await c.ledger.queries.imagesByAnyCid(cid.toString())
      let last: AccessDecision | null = null
      for (const { image, part } of found) {
        const decision = await decide(reader, image)
        if (!decision.allowed) { last = decision; continue }
        const key = hospitalDataKey(image, decision.keys, c.box, part)
        await logOpen(reader, image, decision)
        if (decision.basis === 'consent') c.copies?.noteFetched(cid, image)
        return { stream: decryptingWith(key, c.storage.cat(cid)), image }
      }
      if (last === null) throw new MedichainError('NOT_FOUND', 'no image on the ledger has this CID')
      const denied = last as Extract<AccessDecision, { allowed: false }>
      throw new AccessDeniedError(denied.code, denied.reason)
    },

    /**
     * The sealed card of the image whose raw CID is `raw`, after the same access check as the
     * image. It appends no `access.log` of its own: the card opens only with the raw data key, and
     * the reader received that key from a listing, which was logged; a card is what that listing
     * shows. NOT_FOUND when the image has no card (uploaded before cards existed).
     */
    async card (reader: Reader, raw: CID): Promise<Uint8Array> {
      const found = (await c.ledger.queries.imagesByAnyCid(raw.toString())).filter(x => x.part === 'raw')
      if (found.length === 0) throw new MedichainError('NOT_FOUND', 'no image on the ledger has this raw CID')
      let last: AccessDecision | null = null
      for (const { image } of found) {
        const decision = await decide(reader, image)
        if (!decision.allowed) { last = decision; continue }
        const meta = image.meta ?? undefined
        if (meta === undefined) throw new MedichainError('NOT_FOUND', 'this image has no card: it was uploaded before cards existed')
        if (decision.basis === 'consent') c.copies?.noteFetched(meta, image)
        return await readSealedCard(c.storage, meta)
      }
      const denied = last as Extract<AccessDecision, { allowed: false }>
      throw new AccessDeniedError(denied.code, denied.reason)
    },

    /** Break-glass: opens the patient's images to this clinician for an hour, where policy allows. */
    async declareEmergency (reader: Reader, patient: Uint8Array, reason: string): Promise<{ until: number }> {
      if (!init.policy.breakGlass) throw new AccessDeniedError('FORBIDDEN', 'this hospital does not allow emergency access')
      if (reader.role !== 'clinician') throw new AccessDeniedError('FORBIDDEN', 'only clinicians may declare an emergency')
      // Break-glass opens what this hospital holds, with its own key. Until cross-hospital emergency
      // access exists, a declaration here that could open nothing is refused, never acknowledged.
      const held = (await c.ledger.queries.imagesOf(patient)).some(i => equals(i.custodian, c.ledger.self))
      if (!held) throw new EmergencyNotCustodianError()
      const until = c.clock() + EMERGENCY_WINDOW_MS
      emergencies.set(emergencyKey(reader, patient), until)
      // The reason may contain clinical detail: it stays in the hospital's own file, not the ledger or logs.
      await appendFile(init.breakGlassLog, JSON.stringify({ at: c.clock(), clinician: toHex(reader.signPub), patient: toHex(patient), reason }) + '\n', { mode: 0o600 })
      c.logger.warn({ clinician: toHex(reader.signPub).slice(0, 16) }, 'emergency access declared')
      return { until }
    }
  }
}

/** The reads service type. */
export type Reads = ReturnType<typeof createReads>
