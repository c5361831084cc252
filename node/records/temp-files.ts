// The upload temp folder holds plaintext image files (DICOM headers included) only while an upload
// is in flight. A crash leaves them behind, so at start the folder is emptied before HTTP listens:
// every file is overwritten with zeros, synced, and unlinked. Overwriting in place defeats reading
// the freed blocks back through the filesystem; it does not reach copies a journaling or
// copy-on-write filesystem or an SSD's flash translation layer kept elsewhere (docs/ops.md).
import { mkdir, open, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from 'pino'

/** Bytes overwritten per write: large enough to stream, small enough to hold. */
const WIPE_CHUNK = 1024 * 1024

/** What emptying the temp folder removed. */
export interface WipeReport { files: number, bytes: number }

/** Overwrites a file's bytes with zeros, syncs them to the device, then unlinks the file. */
export async function wipeFile (path: string): Promise<number> {
  const fh = await open(path, 'r+')
  let size = 0
  try {
    size = (await fh.stat()).size
    const zeros = new Uint8Array(Math.min(WIPE_CHUNK, size))
    for (let at = 0; at < size; at += zeros.byteLength) {
      await fh.write(zeros, 0, Math.min(zeros.byteLength, size - at), at)
    }
    // The zeros must reach the device before the unlink frees the blocks.
    await fh.datasync()
  } finally {
    await fh.close()
  }
  await rm(path, { force: true })
  return size
}

/**
 * Creates the temp folder (mode 0700) or empties it: files are wiped, anything else (a folder a
 * person put there) removed. Run at start, before any upload can write into it.
 */
export async function emptyTempDir (dir: string, logger: Logger): Promise<WipeReport> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const report: WipeReport = { files: 0, bytes: 0 }
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isFile()) {
      report.bytes += await wipeFile(path)
      report.files++
    } else {
      await rm(path, { recursive: true, force: true })
    }
  }
  // Only counts: names and contents of uploads stay out of the log.
  if (report.files > 0) logger.warn({ ...report }, 'removed partial uploads a crash left in the temp folder (overwritten, then unlinked)')
  return report
}
