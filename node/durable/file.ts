// Small files the peer rewrites (config.json) replaced atomically and durably: the new text goes to
// a temporary file in the same folder, is synced, renamed over the old file, and the folder is
// synced, so a crash leaves either the old file or the new one, never a torn one.
import { randomBytes } from 'node:crypto'
import { open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

/** fsyncs a folder so a new or renamed directory entry survives a crash (POSIX needs this). */
export async function syncDir (dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Replaces `path` with `text` (mode `mode`) atomically: temp file, fsync, rename, folder fsync. */
export async function replaceFile (path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const file = await open(tmp, 'wx', mode)
  try {
    try {
      await file.chmod(mode)
      await file.writeFile(text, 'utf8')
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await syncDir(dirname(path))
}
