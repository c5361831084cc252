// The hospital's patient index (issue 13 item 4): the DICOM PatientID (the hospital's MRN) → the
// pseudonymous patient key of the ledger, and the instances held in the hospital's custody for an
// MRN no enrolled patient is linked to yet. A level store at `<data>/dicom-index`, every value
// sealed (AES-256-GCM) under a key derived from the hospital seed; MRNs never appear as level keys
// (they are named by an HMAC), and custody files are encrypted under a fresh key wrapped only for
// the hospital's box key (small instances are sealed inside their record). Nothing here reaches
// the ledger, gossip or logs.
import { createHmac, hkdfSync, randomBytes } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { access, mkdir, open, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Level } from 'level'
import { decode, encode } from '../../../protocol/codec.ts'
import { MedichainError } from '../../../protocol/errors.ts'
import { toHex } from '../../../protocol/bytes.ts'
import { DurableWrites } from '../../durable/level.ts'
import { GroupCommit } from '../../durable/group-commit.ts'
import { openVersioned } from '../../durable/level-schema.ts'
import { nodeBoxKeyOf, nodeUnwrapKey, nodeWrapKey } from '../../records/node-box.ts'
import type { HospitalBox } from '../../records/reader-keys.ts'
import { decryptContent, decryptContentSync, encryptContent, encryptContentSync } from '../../storage/seal/content-crypto-node.ts'
import { INDEX_KEY_INFO, INDEX_NAME_KEY_INFO } from '../constants.ts'

/** Bumped whenever the key layout or the record encoding changes. */
export const PATIENT_INDEX_SCHEMA_VERSION = '1'

/** Thrown when a stored index record does not open or decode (tampered or corrupted store). */
export class CorruptPatientIndexError extends MedichainError {
  constructor () {
    super('CORRUPT_PATIENT_INDEX', 'a record of the DICOM patient index does not decrypt or decode')
    this.name = 'CorruptPatientIndexError'
  }
}

/** One instance held in custody: where its encrypted bytes are and the key to open them. */
export interface HeldInstance {
  /** Random id: the custody file's name and the record's key suffix. */
  id: string
  size: number
  /** When it was received (ms since the epoch). */
  received: number
}

interface LinkRecord { mrn: string, patient: Uint8Array }
interface DemographicsRecord { mrn: string, name: string, birthDate: string, sex: string, seen: number }
interface EnrolmentRecord { mrn: string, expires: number }

/** A patient of this hospital as the desk finds them: the MRN's latest demographics, link and custody. */
export interface PatientMatch {
  mrn: string
  name: string
  birthDate: string
  sex: string
  /** The enrolled patient's ledger id, once linked. */
  patient: Uint8Array | undefined
  /** Instances held in custody for this MRN. */
  held: number
}

/** Folds a name or query for matching: case, and the PN component separators ^ and = as spaces. */
function fold (s: string): string {
  return s.toLowerCase().replace(/[\^=]+/g, ' ').replace(/\s+/g, ' ').trim()
}
/**
 * A held instance: in a custody file under a fresh key wrapped for the hospital (`wrapped`), or,
 * when small, inside the sealed record itself (`inline`): one synced write instead of two.
 */
interface HeldRecord { mrn: string, id: string, size: number, received: number, wrapped?: Uint8Array, inline?: Uint8Array }

/**
 * Largest instance held inside its index record (bytes). A 512² 16-bit slice is about 0.5 MiB;
 * LevelDB copies values on compaction, so whole multi-frame objects still go to files.
 */
export const HOLD_INLINE_MAX_BYTES = 1024 * 1024

/** MRNs remembered in memory at most (each map is emptied when full): a day of a busy department. */
const RECENT_MRNS = 4096

/** The two keys of the index, both from the hospital seed (RFC 5869 HKDF, one info per purpose). */
export function patientIndexKeys (seed: Uint8Array): { seal: Uint8Array, names: Uint8Array } {
  return {
    seal: new Uint8Array(hkdfSync('sha256', seed, new Uint8Array(0), INDEX_KEY_INFO, 32)),
    names: new Uint8Array(hkdfSync('sha256', seed, new Uint8Array(0), INDEX_NAME_KEY_INFO, 32))
  }
}

/** Typed, encrypted access to the index and the custody folder. */
export class PatientIndex {
  readonly #db: Level<string, Uint8Array>
  readonly #keys: { seal: Uint8Array, names: Uint8Array }
  readonly #box: HospitalBox
  readonly #custodyDir: string
  readonly #writes: DurableWrites
  /** Custody records held inline: concurrent ones (STOW-RS parts) share one synced batch. */
  readonly #group: GroupCommit
  /**
   * What this process read or wrote lately, by MRN: HMAC names, links (a link is only ever
   * replaced, through `link`) and the demographics last noted. In memory only, like the records
   * they come from once opened; an instance of a series then costs no index read.
   */
  readonly #recent = { names: new Map<string, string>(), links: new Map<string, Uint8Array>(), noted: new Map<string, string>() }

  /** `dir` holds the level store (`db`) and the custody files (`custody/`). */
  constructor (dir: string, seed: Uint8Array, box: HospitalBox) {
    const path = join(dir, 'db')
    this.#db = new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
    this.#keys = patientIndexKeys(seed)
    this.#box = box
    this.#custodyDir = join(dir, 'custody')
    this.#writes = new DurableWrites({ db: this.#db, path, name: 'DICOM patient index', open: async () => await this.open() })
    this.#group = new GroupCommit(this.#db, this.#writes)
  }

  async open (): Promise<void> {
    await mkdir(this.#custodyDir, { recursive: true, mode: 0o700 })
    await openVersioned(this.#db, 'dicom patient index', PATIENT_INDEX_SCHEMA_VERSION)
  }

  async close (): Promise<void> {
    await this.#db.close()
  }

  /** The patient key linked to `mrn`, or undefined. */
  async patientOf (mrn: string): Promise<Uint8Array | undefined> {
    const known = this.#recent.links.get(mrn)
    if (known !== undefined) return known
    const bytes = await this.#db.get(`p:${this.#name(mrn)}`)
    if (bytes === undefined) return undefined
    const r = this.#open(bytes) as LinkRecord
    if (r.mrn !== mrn || !(r.patient instanceof Uint8Array)) throw new CorruptPatientIndexError()
    this.#remember(this.#recent.links, mrn, r.patient)
    return r.patient
  }

  /** Links `mrn` to a patient key, durably (replacing any earlier link). */
  async link (mrn: string, patient: Uint8Array): Promise<void> {
    const value = this.#seal({ mrn, patient } satisfies LinkRecord)
    await this.#writes.run(async () => await this.#db.put(`p:${this.#name(mrn)}`, value, { sync: true }))
    this.#remember(this.#recent.links, mrn, patient)
  }

  /**
   * Takes a received instance file into custody: encrypted under a fresh key wrapped for the
   * hospital only, fsynced, then recorded. When the caller has the file's `bytes` and they are
   * small, they are sealed inside the record instead (one synced write). The plaintext file is
   * left to the caller.
   */
  async hold (mrn: string, plainPath: string, size: number, now: number, bytes?: Uint8Array): Promise<HeldInstance> {
    if (bytes !== undefined && bytes.length <= HOLD_INLINE_MAX_BYTES) {
      const { held, durable } = this.holdInline(mrn, size, now, bytes)
      await durable
      return held
    }
    const id = toHex(new Uint8Array(randomBytes(16)))
    const name = `h:${this.#name(mrn)}:${id}`
    const key = new Uint8Array(randomBytes(32))
    const dest = join(this.#custodyDir, id)
    try {
      await pipeline(Readable.from(encryptContent(key, createReadStream(plainPath, { highWaterMark: 1 << 20 }))), createWriteStream(dest, { mode: 0o600 }))
      const fh = await open(dest, 'r')
      try { await fh.sync() } finally { await fh.close() }
      const record: HeldRecord = { mrn, id, size, received: now, wrapped: nodeWrapKey(key, this.#box.publicKey) }
      await this.#writes.run(async () => await this.#db.put(name, this.#seal(record), { sync: true }))
    } catch (err) {
      await rm(dest, { force: true })
      throw err
    } finally {
      key.fill(0)
    }
    return { id, size, received: now }
  }

  /**
   * Takes a small instance (up to HOLD_INLINE_MAX_BYTES) into custody inside its sealed record.
   * Returns at once with its id; `durable` resolves once the record is fsynced, in one batch with
   * the records held meanwhile. `settled` waits for every such write.
   */
  holdInline (mrn: string, size: number, now: number, bytes: Uint8Array): { held: HeldInstance, durable: Promise<void> } {
    const id = toHex(new Uint8Array(randomBytes(16)))
    const record: HeldRecord = { mrn, id, size, received: now, inline: bytes }
    const durable = this.#group.put(`h:${this.#name(mrn)}:${id}`, this.#seal(record))
    durable.catch(() => {})
    return { held: { id, size, received: now }, durable }
  }

  /** Resolves once every inline hold asked for so far is written (or has failed). */
  async settled (): Promise<void> {
    await this.#group.settled()
  }

  /** The instances held for `mrn`, oldest first. */
  async held (mrn: string): Promise<HeldInstance[]> {
    const prefix = `h:${this.#name(mrn)}:`
    const out: HeldInstance[] = []
    for await (const bytes of this.#db.values({ gte: prefix, lt: `${prefix}~` })) {
      const r = this.#open(bytes) as HeldRecord
      if (r.mrn !== mrn) throw new CorruptPatientIndexError()
      out.push({ id: r.id, size: r.size, received: r.received })
    }
    return out.sort((a, b) => a.received - b.received)
  }

  /** Every instance held, with its MRN, oldest first (what a restart resumes attaching). */
  async allHeld (): Promise<Array<HeldInstance & { mrn: string }>> {
    const out: Array<HeldInstance & { mrn: string }> = []
    for await (const bytes of this.#db.values({ gte: 'h:', lt: 'h:~' })) {
      const r = this.#open(bytes) as HeldRecord
      out.push({ mrn: r.mrn, id: r.id, size: r.size, received: r.received })
    }
    return out.sort((a, b) => a.received - b.received)
  }

  /** Decrypts a held instance to `plainPath` (for the upload pipeline). */
  async restore (mrn: string, id: string, plainPath: string): Promise<void> {
    const bytes = await this.#db.get(`h:${this.#name(mrn)}:${id}`)
    if (bytes === undefined) throw new MedichainError('NOT_FOUND', 'no such instance in custody')
    const r = this.#open(bytes) as HeldRecord
    if (r.inline instanceof Uint8Array) {
      await writeFile(plainPath, r.inline, { mode: 0o600 })
      return
    }
    if (!(r.wrapped instanceof Uint8Array)) throw new CorruptPatientIndexError()
    const key = nodeUnwrapKey(r.wrapped, nodeBoxKeyOf(this.#box))
    try {
      await pipeline(Readable.from(decryptContent(key, createReadStream(join(this.#custodyDir, id), { highWaterMark: 1 << 20 }))), createWriteStream(plainPath, { mode: 0o600 }))
    } finally {
      key.fill(0)
    }
  }

  /**
   * Removes a held instance once it has been ingested. A record that holds its instance inline is
   * deleted without an fsync of its own (the next synced write covers it): if a crash brings it
   * back, the restart finds its image.add on the ledger and releases it again (ingest.ts). A held
   * file goes only after its record is durably gone, so no record ever names a missing file.
   */
  async release (mrn: string, id: string): Promise<void> {
    const file = join(this.#custodyDir, id)
    const inFile = await access(file).then(() => true, () => false)
    await this.#writes.run(async () => await this.#db.del(`h:${this.#name(mrn)}:${id}`, { sync: inFile }))
    if (inFile) await rm(file, { force: true })
  }

  /** Keeps the latest patient attributes DICOM brought for an MRN (for the desk's search). */
  async note (p: { mrn: string, name: string, birthDate: string, sex: string }, now: number): Promise<void> {
    // A series brings the same attributes in every instance: they are read and decrypted once.
    const said = JSON.stringify([p.name, p.birthDate, p.sex])
    if (this.#recent.noted.get(p.mrn) === said) return
    const key = `d:${this.#name(p.mrn)}`
    const bytes = await this.#db.get(key)
    const old = bytes === undefined ? undefined : this.#open(bytes) as DemographicsRecord
    if (old === undefined || old.name !== p.name || old.birthDate !== p.birthDate || old.sex !== p.sex) {
      const record: DemographicsRecord = { mrn: p.mrn, name: p.name, birthDate: p.birthDate, sex: p.sex, seen: now }
      await this.#writes.run(async () => await this.#db.put(key, this.#seal(record), { sync: true }))
    }
    this.#remember(this.#recent.noted, p.mrn, said)
  }

  /**
   * Patients of this hospital whose MRN equals `query` or whose name contains every word of it
   * (case-insensitive; ^ counts as a space), at most `limit`. Decrypts the index locally: the
   * names never leave this peer but in the answer to the hospital's own staff.
   */
  async search (query: string, limit: number): Promise<PatientMatch[]> {
    const words = fold(query).split(' ').filter(w => w.length > 0)
    if (words.length === 0) return []
    const found: DemographicsRecord[] = []
    const exact = await this.#db.get(`d:${this.#name(query.trim())}`)
    if (exact !== undefined) found.push(this.#open(exact) as DemographicsRecord)
    for await (const bytes of this.#db.values({ gte: 'd:', lt: 'd:~' })) {
      if (found.length >= limit) break
      const r = this.#open(bytes) as DemographicsRecord
      if (found.some(f => f.mrn === r.mrn)) continue
      const name = fold(r.name)
      if (words.every(w => name.includes(w))) found.push(r)
    }
    const out: PatientMatch[] = []
    for (const r of found.slice(0, limit)) {
      out.push({ mrn: r.mrn, name: r.name, birthDate: r.birthDate, sex: r.sex, patient: await this.patientOf(r.mrn), held: (await this.held(r.mrn)).length })
    }
    return out
  }

  /**
   * Keeps a printed enrolment code for `mrn` until `expires`, under its HMAC (the code itself is
   * never stored): the patient redeems it once in their portal (`redeem`).
   */
  async issueCode (code: string, mrn: string, expires: number): Promise<void> {
    const record: EnrolmentRecord = { mrn, expires }
    await this.#writes.run(async () => await this.#db.put(`e:${this.#name(`code\0${code}`)}`, this.#seal(record), { sync: true }))
  }

  /** The MRN a live enrolment code names; undefined for an unknown or expired one. */
  async codeMrn (code: string, now: number): Promise<string | undefined> {
    const bytes = await this.#db.get(`e:${this.#name(`code\0${code}`)}`)
    if (bytes === undefined) return undefined
    const r = this.#open(bytes) as EnrolmentRecord
    return r.expires > now ? r.mrn : undefined
  }

  /** Removes an enrolment code once redeemed (single use). */
  async spendCode (code: string): Promise<void> {
    await this.#writes.run(async () => await this.#db.del(`e:${this.#name(`code\0${code}`)}`, { sync: true }))
  }

  /** The HMAC name of an MRN: stable, and tells nothing without the hospital's key. */
  #name (mrn: string): string {
    const known = this.#recent.names.get(mrn)
    if (known !== undefined) return known
    const name = createHmac('sha256', this.#keys.names).update(mrn, 'utf8').digest('hex')
    this.#remember(this.#recent.names, mrn, name)
    return name
  }

  /** Keeps `value` under `key` in one of the recent-MRN maps, forgetting them all past RECENT_MRNS. */
  #remember<T> (map: Map<string, T>, key: string, value: T): void {
    if (map.size >= RECENT_MRNS) map.clear()
    map.set(key, value)
  }

  #seal (record: LinkRecord | HeldRecord | DemographicsRecord | EnrolmentRecord): Uint8Array {
    return encryptContentSync(this.#keys.seal, encode(record))
  }

  #open (bytes: Uint8Array): unknown {
    try {
      return decode(decryptContentSync(this.#keys.seal, bytes))
    } catch {
      throw new CorruptPatientIndexError()
    }
  }
}
