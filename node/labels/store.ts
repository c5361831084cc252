// The hospital's ground-truth labels: a lesion mask per image of its own, drawn or exported by its
// clinicians, that federated learning trains and validates on (docs/design.md §6). Labels are derived
// from pixels, so like the images they never leave the hospital: a level store at
// `<data>/labels`, each record sealed with the content format (AES-256-GCM) under a key derived
// from the hospital's seed, and only weights ever travel.
import { hkdfSync } from 'node:crypto'
import { deflateSync, inflateSync } from 'node:zlib'
import { Level } from 'level'
import { CID } from 'multiformats/cid'
import { decode, encode } from '../../protocol/codec.ts'
import { MedichainError } from '../../protocol/errors.ts'
import { DurableWrites } from '../durable/level.ts'
import { openVersioned } from '../durable/level-schema.ts'
import { decryptContentSync, encryptContentSync } from '../storage/seal/content-crypto-node.ts'

/** Bumped whenever the key layout or the record encoding changes. */
export const LABELS_SCHEMA_VERSION = '1'

/** HKDF info of the at-rest key (RFC 5869): one purpose, one key. */
const KEY_INFO = 'medichain/labels/at-rest/v1'

/** What a label is used for: training rounds, or the coordinator's held-out validation set. */
export type LabelUse = 'train' | 'validation'

/** The label's facts, without the mask. Patient ids are pseudonymous (as on the ledger). */
export interface LabelMeta {
  /** Raw CID of the image (its key on the ledger). */
  cid: string
  patient: Uint8Array
  record: Uint8Array | null
  use: LabelUse
  width: number
  height: number
  /** Pixels marked as lesion. */
  lesionPixels: number
  /** Signing key of the clinician who labelled it. */
  author: Uint8Array
  time: number
}

/** A label with its mask: one byte per pixel, non-zero = lesion. */
export interface Label extends LabelMeta { mask: Uint8Array }

/** Thrown when a stored label does not open or decode (tampered or corrupted store). */
export class CorruptLabelError extends MedichainError {
  constructor (cid: string) {
    super('CORRUPT_LABEL', `the stored label of ${cid} does not decrypt or decode`)
    this.name = 'CorruptLabelError'
  }
}

const K = {
  label: (cid: string) => `l:${cid}`,
  labels: { gte: 'l:', lt: 'l;' },
  /** Marks that the first training use of an image under one consent was logged on the ledger. */
  used: (cid: string, consentHex: string) => `u:${cid}:${consentHex}`
}

/** The stored record: the mask deflated, everything sealed. */
interface Sealed { cid: string, patient: Uint8Array, record: Uint8Array | null, use: LabelUse, width: number, height: number, lesionPixels: number, author: Uint8Array, time: number, mask: Uint8Array }

/** The at-rest key of a hospital's labels. */
export function labelKey (seed: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', seed, new Uint8Array(0), KEY_INFO, 32))
}

/** Typed, encrypted access to the label database. */
export class LabelStore {
  readonly #db: Level<string, Uint8Array>
  readonly #key: Uint8Array
  /** Every write goes through here: typed failures, and a reopen after one. */
  readonly #writes: DurableWrites

  /** `key` is the 32-byte at-rest key (labelKey(seed)). */
  constructor (path: string, key: Uint8Array) {
    this.#db = new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
    this.#key = key
    this.#writes = new DurableWrites({ db: this.#db, path, name: 'label store', open: async () => await this.open() })
  }

  /** Opens the store; a fresh one is stamped with the schema version, an old one is checked. */
  async open (): Promise<void> {
    await openVersioned(this.#db, 'label', LABELS_SCHEMA_VERSION)
  }

  async close (): Promise<void> {
    await this.#db.close()
  }

  /** Stores (or replaces) the label of one image, durably. */
  async put (label: Label): Promise<void> {
    const sealed: Sealed = { ...label, mask: new Uint8Array(deflateSync(label.mask)) }
    const value = encryptContentSync(this.#key, encode(sealed))
    await this.#writes.run(async () => await this.#db.put(K.label(label.cid), value, { sync: true }))
  }

  /** The label of one image, or undefined. Throws CORRUPT_LABEL when it does not open. */
  async get (cid: string): Promise<Label | undefined> {
    const bytes = await this.#db.get(K.label(cid))
    return bytes === undefined ? undefined : this.#open(cid, bytes)
  }

  /** Removes the label of one image; true when there was one. */
  async delete (cid: string): Promise<boolean> {
    const had = await this.#db.get(K.label(cid)) !== undefined
    if (had) await this.#writes.run(async () => await this.#db.del(K.label(cid), { sync: true }))
    return had
  }

  /**
   * Every label, without masks, in CID order. A record that does not open is reported to
   * `onCorrupt` and skipped, so one bad entry cannot stop training or listing.
   */
  async list (onCorrupt: (cid: string, err: CorruptLabelError) => void): Promise<LabelMeta[]> {
    const out: LabelMeta[] = []
    for await (const [key, bytes] of this.#db.iterator(K.labels)) {
      const cid = key.slice(2)
      try {
        const { mask: _mask, ...meta } = this.#open(cid, bytes)
        out.push(meta)
      } catch (err) {
        if (!(err instanceof CorruptLabelError)) throw err
        onCorrupt(cid, err)
      }
    }
    return out
  }

  /** Whether the first training use of `cid` under consent `consentHex` has been logged. */
  async usedUnder (cid: string, consentHex: string): Promise<boolean> {
    return await this.#db.get(K.used(cid, consentHex)) !== undefined
  }

  /** Records that the first training use of `cid` under consent `consentHex` was logged. */
  async markUsed (cid: string, consentHex: string): Promise<void> {
    await this.#writes.run(async () => await this.#db.put(K.used(cid, consentHex), new Uint8Array(0), { sync: true }))
  }

  #open (cid: string, bytes: Uint8Array): Label {
    try {
      const s = decode(decryptContentSync(this.#key, bytes)) as Sealed
      if (s.cid !== cid || (s.use !== 'train' && s.use !== 'validation') || !(s.mask instanceof Uint8Array)) throw new Error('bad record')
      CID.parse(s.cid)
      const mask = new Uint8Array(inflateSync(s.mask, { maxOutputLength: s.width * s.height + 1 }))
      if (mask.length !== s.width * s.height) throw new Error('mask size')
      return { ...s, mask }
    } catch {
      throw new CorruptLabelError(cid)
    }
  }
}
