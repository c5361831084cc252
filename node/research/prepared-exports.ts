// Research exports prepared for DICOMweb (docs/design.md §10): the export runs once, as for the
// zip, with every batch's uses logged on the ledger before its images are kept, and its
// de-identified instances (the very bytes the zip would carry) are spooled to one file in the
// peer's temp folder, each sealed (AES-256-GCM, content format) under a key that lives only in
// memory. QIDO-RS and WADO-RS then answer from the spool. A prepared export expires (a restart
// ends it: the key is gone and the temp folder is wiped at start).
import { randomBytes } from 'node:crypto'
import { open, rm } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import { toHex } from '../../protocol/bytes.ts'
import { MedichainError } from '../../protocol/errors.ts'
import type { ImageRecord } from '../../ledger/queries/queries.ts'
import { readInstanceHeader } from '../dicom/catalogue/instance-header.ts'
import type { InstanceHeader } from '../dicom/catalogue/instance-header.ts'
import { decryptContentSync, encryptContentSync } from '../storage/seal/content-crypto-node.ts'
import type { ExportPlan } from './export.ts'

/** Live prepared exports one researcher may hold: each is a spool on disk. */
export const MAX_PREPARED_PER_RESEARCHER = 4

/** One de-identified instance of a prepared export. */
export interface PreparedInstance {
  /** Its de-identified attributes (UIDs, pseudonym as Patient's Name and ID, shifted dates). */
  header: InstanceHeader
  /** The source image and the consent that let it in, checked again at every pull. */
  image: ImageRecord
  at: number
  length: number
}

/** A prepared export. */
export interface Prepared {
  id: string
  project: Uint8Array
  username: string
  researcher: Uint8Array
  instances: PreparedInstance[]
  held: number
  skipped: number
  created: number
  expires: number
}

interface Spooled extends Prepared { path: string, key: Uint8Array, file: FileHandle }

/** Thrown when a researcher already holds the most prepared exports. */
export class TooManyExportsError extends MedichainError {
  constructor () {
    super('TOO_MANY_EXPORTS', `at most ${MAX_PREPARED_PER_RESEARCHER} exports prepared for DICOMweb at once; end one first`)
    this.name = 'TooManyExportsError'
  }
}

/** The prepared exports of one peer. */
export class PreparedExports {
  readonly #dir: string
  readonly #clock: () => number
  readonly #live = new Map<string, Spooled>()
  readonly #pending = new Map<string, Promise<Prepared>>()

  constructor (dir: string, clock: () => number) {
    this.#dir = dir
    this.#clock = clock
  }

  /**
   * Prepares `plan` for `owner` until `expires`: runs the export (logging its uses) and spools its
   * instances. The same export already prepared for the same researcher is answered as it is,
   * kept until the later expiry, and not run (nor logged) again.
   */
  async prepare (owner: { username: string, researcher: Uint8Array }, project: Uint8Array, plan: ExportPlan, expires: number): Promise<Prepared> {
    await this.sweep()
    const id = toHex(plan.exportId)
    const key = `${owner.username}:${id}`
    const live = this.#live.get(key)
    if (live !== undefined) {
      live.expires = Math.max(live.expires, expires)
      return live
    }
    const running = this.#pending.get(key)
    if (running !== undefined) return await running
    if (this.of(owner.username).length + [...this.#pending.keys()].filter(k => k.startsWith(`${owner.username}:`)).length >= MAX_PREPARED_PER_RESEARCHER) throw new TooManyExportsError()
    const job = this.#spool(owner, project, plan, id, expires)
    this.#pending.set(key, job)
    try {
      return await job
    } finally {
      this.#pending.delete(key)
    }
  }

  async #spool (owner: { username: string, researcher: Uint8Array }, project: Uint8Array, plan: ExportPlan, id: string, expires: number): Promise<Prepared> {
    const path = join(this.#dir, `research-dicomweb-${randomBytes(12).toString('hex')}.spool`)
    const sealKey = new Uint8Array(randomBytes(32))
    const file = await open(path, 'wx+', 0o600)
    const instances: PreparedInstance[] = []
    let at = 0
    let held = 0
    let skipped = 0
    try {
      for await (const e of plan.entries(new AbortController().signal)) {
        if (e.name === 'manifest.json') {
          const m = JSON.parse(new TextDecoder().decode(e.data)) as { held: number, skipped: unknown[] }
          held = m.held
          skipped = m.skipped.length
        }
        if (e.member === undefined) continue
        const header = readInstanceHeader(e.data)
        const sealed = encryptContentSync(sealKey, e.data)
        await file.write(sealed, 0, sealed.length, at)
        instances.push({ header, image: e.member.image, at, length: sealed.length })
        at += sealed.length
      }
    } catch (err) {
      await file.close().catch(() => undefined)
      await rm(path, { force: true })
      throw err
    }
    const prepared: Spooled = { id, project, username: owner.username, researcher: owner.researcher, instances, held, skipped, created: this.#clock(), expires, path, key: sealKey, file }
    this.#live.set(`${owner.username}:${id}`, prepared)
    return prepared
  }

  /** A live prepared export of `username`, or undefined. */
  get (username: string, id: string): Prepared | undefined {
    const p = this.#live.get(`${username}:${id}`)
    return p === undefined || p.expires <= this.#clock() ? undefined : p
  }

  /** A researcher's live prepared exports. */
  of (username: string): Prepared[] {
    const now = this.#clock()
    return [...this.#live.values()].filter(p => p.username === username && p.expires > now)
  }

  /** The de-identified Part 10 bytes of one instance, exactly as the zip carries them. */
  async read (p: Prepared, instance: PreparedInstance): Promise<Uint8Array> {
    const s = this.#live.get(`${p.username}:${p.id}`)
    if (s === undefined) throw new MedichainError('NOT_FOUND', 'this export is no longer prepared')
    const sealed = new Uint8Array(instance.length)
    await s.file.read(sealed, 0, instance.length, instance.at)
    return decryptContentSync(s.key, sealed)
  }

  /** Ends one prepared export: its spool is removed and its key forgotten. */
  async end (username: string, id: string): Promise<boolean> {
    const p = this.#live.get(`${username}:${id}`)
    if (p === undefined) return false
    this.#live.delete(`${username}:${id}`)
    p.key.fill(0)
    await p.file.close().catch(() => undefined)
    await rm(p.path, { force: true })
    return true
  }

  /** Ends every expired prepared export. */
  async sweep (): Promise<void> {
    const now = this.#clock()
    for (const p of [...this.#live.values()]) if (p.expires <= now) await this.end(p.username, p.id)
  }

  /** Ends every prepared export (the peer stops). */
  async close (): Promise<void> {
    for (const p of [...this.#live.values()]) await this.end(p.username, p.id)
  }
}
