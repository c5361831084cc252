// The level store under the ledger: one keyspace, one atomic batch per block, and a schema
// version checked at open (like helia's datastore version key). Only this file touches level.
import { Level } from 'level'
import { MedichainError } from '../../protocol/errors.ts'
import { utf8 } from '../../protocol/bytes.ts'
import { freeBytes, isDiskFull, StorageError, storageErrorOf } from './storage-error.ts'

/**
 * Bumped whenever the key layout or a value encoding changes. 2: consents are keyed per
 * (patient, grantee, purpose) instead of per (patient, grantee). 3: the `i:cidpat:` index (the
 * image.add ids of each image per patient) and every id per (signer, seq) in `i:seq:`, which
 * the consent and replay rules read: a folder without them would judge blocks differently.
 * 4: `s:cust:` (the hospitals holding each patient's images), which the assisted-recovery rules
 * read (ledger/rules/patient-rekey.ts).
 */
export const SCHEMA_VERSION = '4'

/** One write of a batch: put bytes, or delete. */
export type StoreOp = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

/** Thrown when a data folder was written by an incompatible schema version. */
export class SchemaVersionError extends MedichainError {
  constructor (found: string) {
    super('SCHEMA_VERSION', `ledger store has schema version ${found}, this peer reads version ${SCHEMA_VERSION}`)
    this.name = 'SchemaVersionError'
  }
}

/** The upper bound of a key prefix range: every key starting with `prefix` sorts below it. */
export function prefixEnd (prefix: string): string {
  return prefix + '\uffff'
}

/** A thin typed wrapper over level with the operations the ledger needs. */
export class LedgerStore {
  readonly db: Level<string, Uint8Array>
  readonly path: string
  /** The error of a failed batch, until the store is reopened. */
  #failed: StorageError | null = null

  constructor (path: string) {
    this.path = path
    this.db = new Level<string, Uint8Array>(path, { keyEncoding: 'utf8', valueEncoding: 'view' })
  }

  /**
   * Opens the store and checks its schema version. A fresh store gets no stamp here: the caller
   * writes `schemaStamp()` in the same batch as its first contents, so a crash in between leaves
   * a store that is still fresh, never a stamped but half-initialised one.
   */
  async open (): Promise<{ fresh: boolean }> {
    try {
      await this.db.open()
    } catch (err) {
      // Opening replays the log into a table: on a full disk say so, not "failed to open".
      if (isDiskFull(err)) throw new StorageError('STORAGE_FULL', 'the disk holding the ledger store is full: it cannot be opened', { cause: err })
      throw err
    }
    const found = await this.db.get('meta:schema')
    if (found === undefined) return { fresh: true }
    const version = new TextDecoder().decode(found)
    if (version !== SCHEMA_VERSION) {
      await this.db.close()
      throw new SchemaVersionError(version)
    }
    return { fresh: false }
  }

  /** The schema-version write that belongs in a fresh store's first batch. */
  schemaStamp (): StoreOp {
    return { type: 'put', key: 'meta:schema', value: utf8(SCHEMA_VERSION) }
  }

  async close (): Promise<void> {
    await this.db.close()
  }

  async get (key: string): Promise<Uint8Array | undefined> {
    return await this.db.get(key)
  }

  async getMany (keys: string[]): Promise<Array<Uint8Array | undefined>> {
    return await this.db.getMany(keys)
  }

  /**
   * Applies all ops atomically and durably (fsync): an acknowledged append survives kill -9. A
   * failed batch may leave a torn record at the end of LevelDB's log, and LevelDB drops every
   * record after a torn one when it next opens (measured: 20 of 20 writes acknowledged after a
   * full disk had been freed were gone after a reopen). So after one failure every batch is
   * refused with that failure until `reopen()` has recovered the log.
   */
  async batch (ops: StoreOp[]): Promise<void> {
    if (this.#failed !== null) throw this.#failed
    try {
      await this.db.batch(ops, { sync: true })
    } catch (err) {
      this.#failed = storageErrorOf(err, 'ledger store')
      throw this.#failed
    }
  }

  /**
   * Closes and opens the store again: LevelDB replays its log up to the last whole record, so what
   * a failed batch left behind is cut off and new batches are safe. Throws (and stays closed) when
   * the disk still refuses; a later call tries again.
   */
  async reopen (): Promise<void> {
    if (this.db.status === 'open') await this.db.close()
    try {
      await this.open()
    } catch (err) {
      throw storageErrorOf(err, 'ledger store')
    }
    this.#failed = null
  }

  /**
   * Tries to make a store whose batch failed take writes again: once the disk has `minFreeBytes`
   * free (or cannot say), reopens it and proves it with a synced probe write. Resolves false and
   * changes nothing while the disk is short of room; throws the StorageError of a failed attempt.
   */
  async recover (minFreeBytes: number, probeBytes: number): Promise<boolean> {
    const free = await freeBytes(this.path)
    if (free !== null && free < minFreeBytes) return false
    await this.reopen()
    const probe = new Uint8Array(probeBytes).fill(0x5a)
    await this.batch([{ type: 'put', key: 'meta:probe', value: probe }, { type: 'del', key: 'meta:probe' }])
    return true
  }

  /** Entries whose key starts with `prefix`, in key order. */
  async * entries (prefix: string, opts: { limit?: number, gte?: string } = {}): AsyncGenerator<[string, Uint8Array]> {
    for await (const entry of this.db.iterator({ gte: opts.gte ?? prefix, lt: prefixEnd(prefix), limit: opts.limit ?? -1 })) {
      yield entry
    }
  }

  /** Keys starting with `prefix`, in key order (from `gte` when given, which must start with `prefix`). */
  async * keys (prefix: string, opts: { limit?: number, reverse?: boolean, gte?: string } = {}): AsyncGenerator<string> {
    for await (const key of this.db.keys({ gte: opts.gte ?? prefix, lt: prefixEnd(prefix), limit: opts.limit ?? -1, reverse: opts.reverse ?? false })) {
      yield key
    }
  }

  /** True when at least one key starts with `prefix`. */
  async has (prefix: string): Promise<boolean> {
    for await (const _ of this.keys(prefix, { limit: 1 })) return true
    return false
  }
}
