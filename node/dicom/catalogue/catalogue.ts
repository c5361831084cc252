// The hospital's DICOM catalogue (docs/design.md §5 "Studies and series"): for every instance this
// peer recorded on the ledger, the real UIDs and the patient, study, series and instance
// attributes that C-FIND (and QIDO-RS) match and answer with, under the instance's pseudonymous
// ids. A level store at `<data>/dicom/catalogue`, every value sealed (AES-256-GCM) under a key
// derived from the hospital seed; its keys are pseudonyms only. The ledger holds the structure
// (study = record, series and instance pseudonyms in `image.add`), this store holds what links it
// to PHI, so nothing here reaches the ledger, gossip or logs.
import { createHmac, hkdfSync } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { Level } from 'level'
import { decode, encode } from '../../../protocol/codec.ts'
import { toHex } from '../../../protocol/bytes.ts'
import { PSEUDONYM_BYTES } from '../../../protocol/chain/tx.ts'
import type { SeriesPlace } from '../../../protocol/chain/tx.ts'
import { DurableWrites } from '../../durable/level.ts'
import { GroupCommit } from '../../durable/group-commit.ts'
import { openVersioned } from '../../durable/level-schema.ts'
import { decryptContentSync, encryptContentSync } from '../../storage/seal/content-crypto-node.ts'
import { CATALOGUE_KEY_INFO, UID_PSEUDONYM_KEY_INFO } from '../constants.ts'
import type { InstanceHeader } from './instance-header.ts'
import { CorruptPatientIndexError } from '../custody/patient-index.ts'

/** Bumped whenever the key layout or the record encoding changes. */
export const CATALOGUE_SCHEMA_VERSION = '1'

/** The levels of the DICOM information model (PS3.4 §C.6). */
export type UidLevel = 'study' | 'series' | 'instance'

/** Where an instance goes on the ledger: its study is the `record`, its series place the `dicom` field. */
export interface Placement { record: Uint8Array, dicom: SeriesPlace }

/** One catalogued instance: its pseudonyms, the patient id it was recorded for, and its attributes. */
export interface CatalogueEntry {
  study: Uint8Array
  series: Uint8Array
  instance: Uint8Array
  /** Ledger patient id (SHA-256 of the patient's key). */
  patient: Uint8Array
  header: InstanceHeader
  /** When it was recorded (ms since the epoch). */
  stored: number
  /**
   * True when its detect-strange result carries the abnormal-region mask (node/imaging/
   * result-mask.ts): the result is then offered as a Segmentation too (ai-segmentation.ts).
   * Absent otherwise, and in entries catalogued before masks were kept.
   */
  resultMask?: true
}

/**
 * The pseudonym of a real UID at one level: HMAC-SHA256 under the hospital's pseudonym key,
 * truncated to 16 bytes (a record id's length). Deterministic, so the same study sent twice lands
 * in the same record; unlinkable to the UID without the hospital's key.
 */
export function uidPseudonym (key: Uint8Array, level: UidLevel, uid: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(`${level}\0${uid}`, 'utf8').digest()).subarray(0, PSEUDONYM_BYTES)
}

/** The two keys of the catalogue, both from the hospital seed (RFC 5869 HKDF, one info per purpose). */
export function catalogueKeys (seed: Uint8Array): { seal: Uint8Array, pseudonyms: Uint8Array } {
  return {
    seal: new Uint8Array(hkdfSync('sha256', seed, new Uint8Array(0), CATALOGUE_KEY_INFO, 32)),
    pseudonyms: new Uint8Array(hkdfSync('sha256', seed, new Uint8Array(0), UID_PSEUDONYM_KEY_INFO, 32))
  }
}

const entryKey = (study: Uint8Array, series?: Uint8Array, instance?: Uint8Array): string =>
  `c:${toHex(study)}:${series === undefined ? '' : `${toHex(series)}:`}${instance === undefined ? '' : toHex(instance)}`

/** Typed, sealed access to the catalogue. */
export class DicomCatalogue {
  readonly #db: Level<string, Uint8Array>
  readonly #keys: { seal: Uint8Array, pseudonyms: Uint8Array }
  readonly #dir: string
  readonly #writes: DurableWrites
  /** Concurrent puts (the intake's instances in flight) share one synced batch. */
  readonly #group: GroupCommit

  constructor (dir: string, seed: Uint8Array) {
    this.#dir = dir
    this.#db = new Level<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' })
    this.#keys = catalogueKeys(seed)
    this.#writes = new DurableWrites({ db: this.#db, path: dir, name: 'DICOM catalogue', open: async () => await this.open() })
    this.#group = new GroupCommit(this.#db, this.#writes)
  }

  async open (): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 })
    await openVersioned(this.#db, 'dicom catalogue', CATALOGUE_SCHEMA_VERSION)
  }

  async close (): Promise<void> {
    await this.#db.close()
  }

  /** The pseudonym of a real UID at a level (what the ledger and this store's keys carry). */
  pseudonym (level: UidLevel, uid: string): Uint8Array {
    return uidPseudonym(this.#keys.pseudonyms, level, uid)
  }

  /** Where an instance with this header goes on the ledger. */
  place (header: InstanceHeader): Placement {
    return {
      record: this.pseudonym('study', header.study.uid),
      dicom: { series: this.pseudonym('series', header.series.uid), instance: this.pseudonym('instance', header.instance.uid), number: header.instance.number }
    }
  }

  /** Records an instance durably (replacing an earlier entry of the same instance). */
  async put (entry: CatalogueEntry): Promise<void> {
    const value = encryptContentSync(this.#keys.seal, encode(entry))
    await this.#group.put(entryKey(entry.study, entry.series, entry.instance), value)
  }

  /** The entry of one instance by its pseudonyms, or undefined. */
  async get (study: Uint8Array, series: Uint8Array, instance: Uint8Array): Promise<CatalogueEntry | undefined> {
    const bytes = await this.#db.get(entryKey(study, series, instance))
    return bytes === undefined ? undefined : this.#open(bytes)
  }

  /**
   * The entries under a study (and series), or every entry: decrypted one by one, in key order
   * (study, series, instance pseudonyms). Matching on attributes is the caller's (query.ts).
   */
  async * entries (scope: { study?: Uint8Array, series?: Uint8Array } = {}): AsyncGenerator<CatalogueEntry> {
    const prefix = scope.study === undefined ? 'c:' : entryKey(scope.study, scope.series)
    for await (const bytes of this.#db.values({ gte: prefix, lt: `${prefix}~` })) yield this.#open(bytes)
  }

  /** The entries of the study, series or instance with this real UID (its pseudonym's prefix). */
  async * byUid (level: UidLevel, uid: string): AsyncGenerator<CatalogueEntry> {
    const id = this.pseudonym(level, uid)
    if (level === 'study') { yield * this.entries({ study: id }); return }
    // Series and instances are found under their study: one scan of the (pseudonym) keys, no decryption.
    const at = level === 'series' ? 2 : 3
    for await (const key of this.#db.keys({ gte: 'c:', lt: 'c:~' })) {
      const parts = key.split(':')
      if (parts[at] !== toHex(id)) continue
      const bytes = await this.#db.get(key)
      if (bytes !== undefined) yield this.#open(bytes)
    }
  }

  #open (bytes: Uint8Array): CatalogueEntry {
    try {
      const v = decode(decryptContentSync(this.#keys.seal, bytes)) as unknown as CatalogueEntry
      if (!(v.study instanceof Uint8Array) || !(v.patient instanceof Uint8Array) || typeof v.header !== 'object') throw new Error('shape')
      return v
    } catch {
      throw new CorruptPatientIndexError()
    }
  }
}
