// Turns the low-level errors a first-day user meets into ones that say what is wrong: a data folder
// held by another Medichain process (level's LOCK), a read-only folder, a port already in use.
// Libraries report these as LEVEL_DATABASE_NOT_OPEN, EROFS or libp2p's advice about
// `transportManager.faultTolerance`, none of which names the cause in the user's terms.
import { access, constants } from 'node:fs/promises'
import { dirname } from 'node:path'
import { MedichainError } from '../../protocol/errors.ts'

/** Thrown when another process (usually another Medichain peer or CLI command) holds the data folder. */
export class DataFolderInUseError extends MedichainError {
  constructor (path: string) {
    super('DATA_FOLDER_IN_USE', `the data folder ${path} is in use by another Medichain process: stop it first, or pass another --data`)
    this.name = 'DataFolderInUseError'
  }
}

/** Thrown when the data folder (or a file in it) cannot be written because it is read-only. */
export class DataFolderReadOnlyError extends MedichainError {
  constructor (path: string) {
    super('DATA_FOLDER_READ_ONLY', `${path} is read-only: Medichain needs to write its data folder (check the mount and the permissions)`)
    this.name = 'DataFolderReadOnlyError'
  }
}

/** Thrown when the HTTP or p2p port is taken by another process. */
export class PortInUseError extends MedichainError {
  constructor (what: 'http' | 'p2p', address: string) {
    super('PORT_IN_USE', `the ${what} port ${address} is in use by another process: stop it, or pick another with --${what}-port`)
    this.name = 'PortInUseError'
  }
}

interface ErrorLike { code?: unknown, cause?: unknown, message?: unknown, name?: unknown, path?: unknown, address?: unknown, port?: unknown, syscall?: unknown }

function chain (err: unknown): ErrorLike[] {
  const out: ErrorLike[] = []
  let e: unknown = err
  while (typeof e === 'object' && e !== null && out.length < 8) {
    out.push(e as ErrorLike)
    e = (e as ErrorLike).cause
  }
  return out
}

/** The folder a level "lock …/LOCK" message names, without the LOCK file. */
function lockedFolder (message: string): string | undefined {
  // level locks a store inside the data folder (ledger/, accounts/, …): name the data folder.
  const m = /lock (.+)\/[^/]+\/LOCK\b/.exec(message)
  return m?.[1]
}

/**
 * A typed error that names the cause of `err` in a user's terms, or undefined when `err` is none
 * of the known cases. `dataDir` is the folder being opened, used when the error names no path.
 */
export function explainError (err: unknown, dataDir?: string): MedichainError | undefined {
  for (const e of chain(err)) {
    const message = typeof e.message === 'string' ? e.message : ''
    if (e.code === 'LEVEL_LOCKED') return new DataFolderInUseError(lockedFolder(message) ?? dataDir ?? 'data folder')
    if (e.code === 'EROFS' || ((e.code === 'EACCES' || e.code === 'EPERM') && typeof e.path === 'string')) {
      const path = typeof e.path === 'string' ? e.path : undefined
      return new DataFolderReadOnlyError(dataDir !== undefined && (path === undefined || path.startsWith(dataDir)) ? dataDir : path ?? 'the data folder')
    }
    if (/read-only file system/i.test(message)) return new DataFolderReadOnlyError(dataDir ?? 'the data folder')
    if (e.code === 'EADDRINUSE' && e.syscall === 'listen') return new PortInUseError('http', `${String(e.address)}:${String(e.port)}`)
    if (e.name === 'UnsupportedListenAddressesError' || /transportManager\.faultTolerance/.test(message)) {
      const m = /EADDRINUSE: address already in use (\S+)/.exec(message)
      if (m !== null) return new PortInUseError('p2p', m[1])
    }
  }
  return undefined
}

/**
 * Fails with DATA_FOLDER_READ_ONLY before anything is written when `dir`, or the nearest folder
 * above it that exists, cannot be written. access(W_OK) reports a read-only mount even to root.
 */
export async function assertWritable (dir: string): Promise<void> {
  let probe = dir
  for (;;) {
    try {
      await access(probe, constants.W_OK)
      return
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOENT' && dirname(probe) !== probe) {
        probe = dirname(probe)
        continue
      }
      if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') throw new DataFolderReadOnlyError(dir)
      throw err
    }
  }
}
