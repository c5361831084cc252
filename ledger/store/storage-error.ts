// What a failed durable write becomes: a typed error that says whether the disk is full (the
// operator frees space) or the store failed otherwise (the operator looks at the disk), so that
// callers answer 507 or 503 with a stable code instead of an anonymous 500; and the free space a
// recovering store checks before it reopens.
import { statfs } from 'node:fs/promises'
import { MedichainError } from '../../protocol/errors.ts'

/** The two ways a store can refuse a write. */
export type StorageErrorCode = 'STORAGE_FULL' | 'STORE_FAILED'

/** Thrown when a write could not be made durable; nothing of it was acknowledged. */
export class StorageError extends MedichainError {
  override readonly code: StorageErrorCode
  constructor (code: StorageErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
    this.code = code
    this.name = 'StorageError'
  }
}

/**
 * LevelDB reports a full disk as `LEVEL_IO_ERROR` with the OS message in the text ("IO error:
 * …/000003.log: No space left on device", measured with classic-level 3 on a full tmpfs); node's
 * own fs calls carry `code: 'ENOSPC'`. EDQUOT (quota exceeded) is the same condition for the operator.
 */
const FULL_PATTERN = /ENOSPC|EDQUOT|No space left on device|Disk quota exceeded/i

function describe (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const code = 'code' in err && typeof err.code === 'string' ? `${err.code} ` : ''
  return `${code}${err.message} ${err.cause instanceof Error ? err.cause.message : ''}`
}

/** True when `err` says the disk (or the quota) is full. */
export function isDiskFull (err: unknown): boolean {
  return err instanceof StorageError ? err.code === 'STORAGE_FULL' : FULL_PATTERN.test(describe(err))
}

/** Classifies a write failure of `what` (a store name): STORAGE_FULL for a full disk, else STORE_FAILED. */
export function storageErrorOf (err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err
  if (isDiskFull(err)) {
    return new StorageError('STORAGE_FULL', `the disk holding the ${what} is full; nothing was written`, { cause: err })
  }
  return new StorageError('STORE_FAILED', `the ${what} could not write; nothing was written`, { cause: err })
}

/** Bytes free to an unprivileged writer on the filesystem holding `path`, or null when unknown. */
export async function freeBytes (path: string): Promise<number | null> {
  try {
    const s = await statfs(path, { bigint: true })
    return Number(s.bavail * s.bsize)
  } catch {
    return null
  }
}
