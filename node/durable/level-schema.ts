// The schema-version stamp of the peer's own level stores (accounts, labels, FL history): a fresh
// folder is stamped, an existing one is checked, and a folder written by another version is
// refused before anything reads it, so an upgrade never misreads old records.
import type { Level } from 'level'
import { MedichainError } from '../../protocol/errors.ts'

/** Where every store keeps its version. */
export const SCHEMA_KEY = 'meta:schema'

/** Thrown when a store's folder was written by an incompatible schema version. */
export class SchemaVersionError extends MedichainError {
  constructor (store: string, found: string, expected: string) {
    super('SCHEMA_VERSION', `${store} store has schema version ${found.slice(0, 16)}, this peer reads version ${expected}`)
    this.name = 'SchemaVersionError'
  }
}

/**
 * Opens `db` and stamps or checks its schema `version` (stored as UTF-8 whatever the store's value
 * encoding). On a mismatch the store is closed again and SCHEMA_VERSION is thrown.
 */
export async function openVersioned<V> (db: Level<string, V>, store: string, version: string): Promise<void> {
  await db.open()
  const found = await db.get<string, string>(SCHEMA_KEY, { valueEncoding: 'utf8' })
  if (found === undefined) {
    await db.put<string, string>(SCHEMA_KEY, version, { valueEncoding: 'utf8', sync: true })
  } else if (found !== version) {
    await db.close()
    throw new SchemaVersionError(store, found, version)
  }
}
