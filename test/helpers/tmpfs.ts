// A small real filesystem for disk-full tests: a tmpfs of a given size mounted on a fresh temp
// folder (root only, as in CI), a filler file that takes every free byte, and the unmount. Tests
// that need one call `tmpfsOrSkip` and skip with a clear message when the runner is not root.
import { spawnSync } from 'node:child_process'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { freeBytes } from '../../ledger/store/storage-error.ts'
import { tempDir } from './ledger/fixture.ts'

/** A mounted tmpfs. */
export interface Tmpfs {
  /** The mount point. */
  readonly path: string
  /** Writes a filler file until the filesystem refuses another byte (ENOSPC). */
  fill(): Promise<void>
  /** Removes the filler file: the space is free again. */
  free(): Promise<void>
  /** Bytes free now. */
  available(): Promise<number>
  /** Unmounts (lazily, so a process still holding a file cannot keep it mounted). */
  unmount(): void
}

/** Why a tmpfs cannot be mounted here, or null when it can (the runner is root). */
export function tmpfsUnavailable (): string | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return 'SKIPPED: disk-full tests mount a tmpfs, which needs root (CI runs them as root)'
  }
  return null
}

function run (args: string[]): void {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr || r.error?.message}`)
}

/** Mounts a tmpfs of `bytes` on a fresh temp folder. Throws when mount fails even as root. */
export async function mountTmpfs (bytes: number): Promise<Tmpfs> {
  const path = await tempDir('medichain-tmpfs-')
  run(['mount', '-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', path])
  const filler = join(path, 'filler')
  let mounted = true
  return {
    path,
    async fill () {
      const fh = await open(filler, 'a')
      try {
        // Large chunks first, then pages: tmpfs allocates 4 KiB pages, so this leaves none free.
        for (const size of [1024 * 1024, 64 * 1024, 4096, 512]) {
          const chunk = new Uint8Array(size)
          for (;;) {
            try {
              await fh.write(chunk)
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break
              throw err
            }
          }
        }
      } finally {
        await fh.close()
      }
    },
    async free () {
      await rm(filler, { force: true })
    },
    async available () {
      return await freeBytes(path) ?? 0
    },
    unmount () {
      if (!mounted) return
      mounted = false
      run(['umount', '-l', path])
    }
  }
}
