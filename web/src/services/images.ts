// Decrypted images and image listings of the current session. Listing and opening an image each
// append `access.log` on the ledger (docs/design.md §5), so the grid, the thumbnails and the viewer share
// one copy instead of asking again. Cleared whenever the vault locks: plaintext medical images
// live no longer than the keys that opened them.
import type { ApiImage, MedichainClient } from '../../../protocol/client/client.ts'
import type { ImageMeta } from '../../../protocol/image-meta.ts'

/** Which part of an image: the uploaded file, or the detect-strange result overlay. */
export type ImagePart = 'raw' | 'result'

/** Bytes kept before the oldest decrypted images are dropped (a few large studies). */
export const MAX_CACHED_BYTES = 256 * 1024 * 1024

/** The session's image cache. */
export class ImageStore {
  readonly #client: MedichainClient
  readonly #lists = new Map<string, Promise<ApiImage[]>>()
  readonly #bytes = new Map<string, { promise: Promise<Uint8Array>, size: number }>()
  readonly #cards = new Map<string, Promise<ImageMeta | null>>()
  #generation = 0

  constructor (client: MedichainClient) {
    this.#client = client
  }

  /** The images of `patientId` (null: the signed-in patient's own); `fresh` asks the peer again. */
  async list (patientId: string | null, fresh = false): Promise<ApiImage[]> {
    const key = patientId ?? 'me'
    const cached = this.#lists.get(key)
    if (cached !== undefined && !fresh) return await cached
    const p = patientId === null ? this.#client.myImages() : this.#client.patientImages(patientId)
    this.#lists.set(key, p)
    p.catch(() => { if (this.#lists.get(key) === p) this.#lists.delete(key) })
    return await p
  }

  /** Finds one image of a listing by its raw CID. */
  async find (patientId: string | null, cid: string): Promise<ApiImage | undefined> {
    const hit = (await this.list(patientId)).find(i => i.raw === cid)
    return hit ?? (await this.list(patientId, true)).find(i => i.raw === cid)
  }

  /** Downloads and decrypts one part (in this page only), once per session. */
  async open (image: ApiImage, part: ImagePart): Promise<Uint8Array> {
    const key = `${image.raw}:${part}`
    const cached = this.#bytes.get(key)
    if (cached !== undefined) {
      this.#bytes.delete(key)
      this.#bytes.set(key, cached)
      return await cached.promise
    }
    const generation = this.#generation
    const entry = { promise: this.#client.openImage(image, part), size: part === 'raw' ? image.size : 0 }
    this.#bytes.set(key, entry)
    try {
      const bytes = await entry.promise
      entry.size = bytes.byteLength
      // Locked while downloading: hand the bytes to the caller that asked, keep nothing.
      if (generation !== this.#generation) this.#bytes.delete(key)
      this.#trim()
      return bytes
    } catch (err) {
      if (this.#bytes.get(key) === entry) this.#bytes.delete(key)
      throw err
    }
  }

  /**
   * The image's sealed card, opened in this page (file name, date, description, thumbnail), once
   * per session; null for an image from before cards. A few KiB, and no read is logged for it.
   */
  async card (image: ApiImage): Promise<ImageMeta | null> {
    const cached = this.#cards.get(image.raw)
    if (cached !== undefined) return await cached
    const p = this.#client.imageCard(image)
    this.#cards.set(image.raw, p)
    p.catch(() => { if (this.#cards.get(image.raw) === p) this.#cards.delete(image.raw) })
    return await p
  }

  /** Forgets listings, cards and decrypted bytes (lock, sign-out). */
  clear (): void {
    this.#generation++
    this.#lists.clear()
    this.#bytes.clear()
    this.#cards.clear()
  }

  #trim (): void {
    let total = 0
    for (const e of this.#bytes.values()) total += e.size
    for (const [key, e] of this.#bytes) {
      if (total <= MAX_CACHED_BYTES || this.#bytes.size <= 1) break
      this.#bytes.delete(key)
      total -= e.size
    }
  }
}
