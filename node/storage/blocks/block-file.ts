// One block file, written as blockstore-fs lays it out (`<shard>/<base32 multihash>.data`) and
// as atomically: the bytes go to a temp file of a name no other writer uses, which is renamed into
// place, so a reader never sees part of a block and a crash leaves at most a temp file (its name
// ends in `.tmp`: the collector and the block counts skip it, and the next start removes it). Through the callback API on a
// bare descriptor, as fsyncPath does (blocks.ts): blockstore-fs's put (a mkdir, then steno's
// FileHandle write and rename) cost the main thread several times as much per block, and a
// cross-hospital read writes one block per MiB while the reader waits on the same thread.
import { access, close, constants, fsync, mkdir, open, rename, unlink, write } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { threadId } from 'node:worker_threads'

/** Temp files this thread has started: with the process and thread, a name no other writer uses. */
let temps = 0

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | null)?.code

/** Resolves with the callback's value, rejects with its error. */
async function call<T> (fn: (done: (err: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return await new Promise<T>((resolve, reject) => fn((err, value) => err === null ? resolve(value) : reject(err)))
}

/** True when the block file exists; any error but "no such file" is thrown. */
export async function blockFileExists (path: string): Promise<boolean> {
  try {
    await call<void>(done => access(path, constants.F_OK, err => done(err, undefined)))
    return true
  } catch (err) {
    if (errno(err) === 'ENOENT') return false
    throw err
  }
}

/**
 * Writes `bytes` as the block file `path`, creating its shard folder when missing. With `sync`,
 * the file's data reaches the device before the rename (the folder's own fsync is the caller's:
 * blocks.ts Hold.sync). A failed write leaves no temp file behind and nothing at `path`.
 */
export async function writeBlockFile (path: string, bytes: Uint8Array, options: { sync: boolean }): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}-${threadId}-${++temps}.tmp`)
  const openTemp = async (): Promise<number> => await call<number>(done => open(temp, 'wx', 0o644, done))
  let fd: number
  try {
    fd = await openTemp()
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err
    // The shard folder's first block: the one extra call only then.
    await call<string | undefined>(done => mkdir(dirname(path), { recursive: true }, done))
    fd = await openTemp()
  }
  try {
    try {
      for (let at = 0; at < bytes.byteLength;) {
        at += await call<number>(done => write(fd, bytes, at, bytes.byteLength - at, null, done))
      }
      if (options.sync) await call<void>(done => fsync(fd, err => done(err, undefined)))
    } finally {
      await call<void>(done => close(fd, err => done(err, undefined)))
    }
    await call<void>(done => rename(temp, path, err => done(err, undefined)))
  } catch (err) {
    await call<void>(done => unlink(temp, () => done(null, undefined)))
    throw err
  }
}
