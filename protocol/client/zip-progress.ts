// Follows a stored-entries ZIP (node/research/zip.ts writes one) as it downloads: counts the
// entries whose bytes have all arrived, for a count-based progress bar, and keeps the bytes of
// the entries asked for (the manifest) without a second pass over the archive. An entry of 4 GiB
// or more gives its size in the Zip64 extra field (APPNOTE §4.5.3).

const LOCAL_HEADER = 0x04034b50
const HEADER_BYTES = 30
const ZIP64_EXTRA_ID = 0x0001
const MAX_U32 = 0xffffffff

/** The compressed size in a local header's Zip64 extra field (after the original size), if there is one. */
function zip64Size (extra: Uint8Array): number | undefined {
  const v = new DataView(extra.buffer, extra.byteOffset, extra.byteLength)
  for (let at = 0; at + 4 <= extra.length;) {
    const id = v.getUint16(at, true)
    const size = v.getUint16(at + 2, true)
    if (id === ZIP64_EXTRA_ID && size >= 16 && at + 4 + size <= extra.length) return Number(v.getBigUint64(at + 12, true))
    at += 4 + size
  }
  return undefined
}

/** Reads local headers and skips each stored entry's data as chunks arrive. */
export class StoredZipProgress {
  /** Entries complete so far. */
  entries = 0
  readonly #keep: Set<string>
  readonly #kept = new Map<string, Uint8Array>()
  #head: number[] = []
  #need = HEADER_BYTES
  #left = 0
  #name = ''
  #parts: Uint8Array[] | null = null
  #ended = false

  constructor (keep: string[] = []) { this.#keep = new Set(keep) }

  /** The bytes of a kept entry once it has arrived. */
  kept (name: string): Uint8Array | undefined { return this.#kept.get(name) }

  /** Takes the next chunk of the archive. */
  push (chunk: Uint8Array): void {
    let at = 0
    while (at < chunk.length && !this.#ended) {
      if (this.#left > 0) {
        const n = Math.min(this.#left, chunk.length - at)
        this.#parts?.push(chunk.subarray(at, at + n))
        this.#left -= n
        at += n
        if (this.#left === 0) this.#finish()
        continue
      }
      while (at < chunk.length && this.#head.length < this.#need) this.#head.push(chunk[at++])
      if (this.#head.length < this.#need) return
      const v = new DataView(Uint8Array.from(this.#head).buffer)
      // The central directory follows the last entry: nothing more to count.
      if (v.getUint32(0, true) !== LOCAL_HEADER) { this.#ended = true; return }
      const nameLength = v.getUint16(26, true)
      const extra = v.getUint16(28, true)
      if (this.#need === HEADER_BYTES && nameLength + extra > 0) { this.#need += nameLength + extra; continue }
      this.#name = new TextDecoder().decode(Uint8Array.from(this.#head.slice(HEADER_BYTES, HEADER_BYTES + nameLength)))
      const size = v.getUint32(18, true)
      this.#left = size === MAX_U32 ? zip64Size(Uint8Array.from(this.#head.slice(HEADER_BYTES + nameLength))) ?? size : size
      this.#parts = this.#keep.has(this.#name) ? [] : null
      this.#head = []
      this.#need = HEADER_BYTES
      if (this.#left === 0) this.#finish()
    }
  }

  #finish (): void {
    this.entries++
    if (this.#parts !== null) {
      const out = new Uint8Array(this.#parts.reduce((n, p) => n + p.length, 0))
      let at = 0
      for (const p of this.#parts) { out.set(p, at); at += p.length }
      this.#kept.set(this.#name, out)
      this.#parts = null
    }
  }
}
