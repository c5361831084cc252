// Synced writes to one of the peer's own level stores (accounts, labels) that never acknowledge a
// write a restart would lose. After a failed write LevelDB's log may end in a torn record, and
// LevelDB drops every record after a torn one when it next opens; so the next write first reopens
// the store (which cuts the log at its last whole record), once the disk has room for that.
import { STORE_RECOVERY_FREE_BYTES } from '../../ledger/constants.ts'
import { freeBytes, storageErrorOf } from '../../ledger/store/storage-error.ts'
import type { StorageError } from '../../ledger/store/storage-error.ts'

/** What DurableWrites needs of a store. */
export interface DurableWritesInit {
  /** The level database: its status, and close. */
  db: { readonly status: string, close: () => Promise<void> }
  /** Folder of the database (for its free space). */
  path: string
  /** Name in error messages: "account store", "label store". */
  name: string
  /** Opens the database again (with its schema check). */
  open: () => Promise<void>
}

/** Runs a store's synced writes; failures are typed STORAGE_FULL (507) or STORE_FAILED (503). */
export class DurableWrites {
  readonly #init: DurableWritesInit
  /** A failed write, until the store is reopened. */
  #failed: StorageError | null = null

  constructor (init: DurableWritesInit) {
    this.#init = init
  }

  /**
   * Runs one synced write, reopening the store first if an earlier write failed. A reopen waits
   * until the disk has room: one that failed would leave the store closed, and reads need it open.
   */
  async run<T> (write: () => Promise<T>): Promise<T> {
    const { db, path, name, open } = this.#init
    try {
      if (this.#failed !== null) {
        const free = await freeBytes(path)
        if (free !== null && free < STORE_RECOVERY_FREE_BYTES) throw this.#failed
        if (db.status === 'open') await db.close()
        await open()
        this.#failed = null
      }
      return await write()
    } catch (err) {
      this.#failed = storageErrorOf(err, name)
      throw this.#failed
    }
  }
}
