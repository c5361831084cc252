// Work that must not overlap for one key (writes and deletes of one block file, attachments of one
// DICOM instance) runs in turn, while different keys run at once. A failure of one turn does not
// stop the next; the map keeps only keys with work queued.

/** Runs `fn` after every earlier call with the same `key` has settled; returns what `fn` returns. */
export type SerialPerKey = <T>(key: string, fn: () => Promise<T>) => Promise<T>

/** A fresh set of per-key turns. */
export function serialPerKey (): SerialPerKey {
  const last = new Map<string, Promise<unknown>>()
  return async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const run = (last.get(key) ?? Promise.resolve()).then(fn, fn)
    const tail = run.catch(() => undefined)
    last.set(key, tail)
    try {
      return await run
    } finally {
      if (last.get(key) === tail) last.delete(key)
    }
  }
}
