// The sealed image card (docs/design.md §5 "Image cards"): what a person needs to recognise an
// image — the uploader's file name, the date it was taken, a description, the modality as the file
// wrote it and a small thumbnail — kept beside the image in IPFS, encrypted under a key derived
// from the image's own data key. Only its CID reaches the ledger (`image.add` `meta`); whoever may
// open the raw image may open its card, and nobody else. The web upload, the SDK and the DICOM
// ingest all produce this one format; the peer seals it at upload, the reader opens it in the
// browser or the SDK.
//
//   card    = dag-cbor { v: 1, name?, date?, description?, modality?, thumbnail? }
//   key     = HKDF-SHA256(ikm = raw data key, salt = empty, info = 'medichain/image-meta/v1') (RFC 5869)
//   sealed  = MCE1 content encryption of `card` under `key` (protocol/crypto/content-crypto.ts)
import { bufferSource, utf8 } from './bytes.ts'
import { decode, encode } from './codec.ts'
import { assertContentKey, decryptBytes, encryptBytes } from './crypto/content-crypto.ts'
import { EncodingError, MedichainError, SchemaError } from './errors.ts'
import { expectBytes, expectEnum, expectFields, expectString, expectUint } from './schema.ts'

/** Version of the card format; a reader refuses any other. */
export const IMAGE_META_VERSION = 1
/** The HKDF label of the card key: a card key never equals the image key it comes from. */
export const IMAGE_META_KEY_INFO = 'medichain/image-meta/v1'
/** Longest file name kept (common file systems cap a name at 255). */
export const MAX_META_NAME = 255
/** Longest description: a DICOM Study and Series Description (LO, 64 each, PS3.5 §6.2) with room for a person's own words. */
export const MAX_META_DESCRIPTION = 512
/** Longest modality as written in the file (CS, 16 characters, PS3.5 §6.2). */
export const MAX_META_MODALITY = 16
/** Longest side of a thumbnail in pixels: the card draws it at 160 CSS pixels. */
export const THUMBNAIL_SIDE = 160
/** Largest thumbnail: small enough that a list of many cards loads at once. */
export const MAX_THUMBNAIL_BYTES = 64 * 1024
/** Largest sealed card: the thumbnail, the text and the content-encryption framing. */
export const MAX_SEALED_META_BYTES = MAX_THUMBNAIL_BYTES + 4096

/** Thumbnail encodings a browser draws natively. */
export const THUMBNAIL_TYPES = ['image/jpeg', 'image/png'] as const
export type ThumbnailType = typeof THUMBNAIL_TYPES[number]

/** A small preview of the image, already scaled for a card. */
export interface ImageThumbnail { type: ThumbnailType, width: number, height: number, bytes: Uint8Array }

/**
 * What a card says. Every field is optional: a C-STORE has no file name, a PNG has no study date.
 * `date` is ISO 8601 local time as the source gave it: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`.
 */
export interface ImageMeta {
  name?: string
  date?: string
  description?: string
  modality?: string
  thumbnail?: ImageThumbnail
}

/** Thrown when a card does not decode to the format above (or opens under the wrong key). */
export class ImageMetaError extends MedichainError {
  constructor (message: string, options?: ErrorOptions) {
    super('BAD_IMAGE_META', message, options)
    this.name = 'ImageMetaError'
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/

/** True when `s` is `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` naming a real calendar day and time. */
export function isMetaDate (s: string): boolean {
  const m = DATE.exec(s)
  if (m === null) return false
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const day = new Date(Date.UTC(y, mo - 1, d))
  if (y < 1800 || day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return false
  return m[4] === undefined || (Number(m[4]) < 24 && Number(m[5]) < 60)
}

/**
 * A card date from what a source gives: ISO (`2026-12-06`, `2026-12-06T14:05`, longer ISO times
 * cut to the minute) or DICOM DA and TM (`20261206`, with `140512.123`; PS3.5 §6.2). Undefined when
 * it is none of these or not a real date, so a malformed header never fails an upload.
 */
export function toMetaDate (date: string | undefined, time?: string): string | undefined {
  const d = (date ?? '').trim()
  let out: string | undefined
  const dicom = /^(\d{4})(\d{2})(\d{2})$/.exec(d)
  if (dicom !== null) {
    out = `${dicom[1]}-${dicom[2]}-${dicom[3]}`
    const t = /^(\d{2})(\d{2})/.exec((time ?? '').trim())
    if (t !== null) out += `T${t[1]}:${t[2]}`
  } else {
    const iso = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}))?/.exec(d)
    if (iso !== null) out = iso[2] === undefined ? iso[1] : `${iso[1]}T${iso[2]}`
  }
  if (out !== undefined && !isMetaDate(out)) out = isMetaDate(out.slice(0, 10)) ? out.slice(0, 10) : undefined
  return out
}

/**
 * Text cleaned for a card: control characters become spaces, runs of space collapse, and it is cut
 * to `max` characters. Undefined when nothing is left. For values read from files and forms.
 */
export function cleanMetaText (s: string | undefined, max: number): string | undefined {
  // eslint-disable-next-line no-control-regex
  const t = (s ?? '').replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/\s+/g, ' ').trim()
  return t === '' ? undefined : t.slice(0, max).trim()
}

function thumbnailOf (v: unknown, p: string): ImageThumbnail {
  const f = expectFields(v, p, ['type', 'width', 'height', 'bytes'])
  return {
    type: expectEnum(f.type, `${p}.type`, THUMBNAIL_TYPES),
    width: expectUint(f.width, `${p}.width`, THUMBNAIL_SIDE),
    height: expectUint(f.height, `${p}.height`, THUMBNAIL_SIDE),
    bytes: expectBytes(f.bytes, `${p}.bytes`, undefined, MAX_THUMBNAIL_BYTES)
  }
}

/** Checks a card's fields; throws ImageMetaError (BAD_IMAGE_META) naming the first bad one. */
export function parseImageMeta (v: unknown): ImageMeta {
  try {
    const f = expectFields(v, 'meta', ['v'], ['name', 'date', 'description', 'modality', 'thumbnail'])
    if (f.v !== IMAGE_META_VERSION) throw new SchemaError(`meta.v: expected ${IMAGE_META_VERSION}`)
    const out: ImageMeta = {}
    if ('name' in f) out.name = expectString(f.name, 'meta.name', MAX_META_NAME)
    if ('date' in f) {
      const date = expectString(f.date, 'meta.date', 16)
      if (!isMetaDate(date)) throw new SchemaError('meta.date: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM')
      out.date = date
    }
    if ('description' in f) out.description = expectString(f.description, 'meta.description', MAX_META_DESCRIPTION)
    if ('modality' in f) out.modality = expectString(f.modality, 'meta.modality', MAX_META_MODALITY)
    if ('thumbnail' in f) {
      const t = thumbnailOf(f.thumbnail, 'meta.thumbnail')
      if (t.width < 1 || t.height < 1) throw new SchemaError('meta.thumbnail: expected a width and height of at least 1')
      out.thumbnail = t
    }
    return out
  } catch (err) {
    if (err instanceof ImageMetaError) throw err
    throw new ImageMetaError(err instanceof Error ? err.message : 'not an image card', { cause: err })
  }
}

/** The canonical dag-cbor bytes of a card; throws BAD_IMAGE_META when a field breaks the format. */
export function encodeImageMeta (meta: ImageMeta): Uint8Array {
  const value: Record<string, unknown> = { v: IMAGE_META_VERSION }
  for (const k of ['name', 'date', 'description', 'modality', 'thumbnail'] as const) if (meta[k] !== undefined) value[k] = meta[k]
  // The same checks a reader applies: a peer never seals a card its readers would refuse.
  parseImageMeta(value)
  return encode(value)
}

/** Decodes a card's bytes; throws BAD_IMAGE_META on anything but a canonical card. */
export function decodeImageMeta (bytes: Uint8Array): ImageMeta {
  let value: unknown
  try {
    value = decode(bytes)
  } catch (err) {
    if (err instanceof EncodingError) throw new ImageMetaError(`the image card does not decode: ${err.message}`, { cause: err })
    throw err
  }
  return parseImageMeta(value)
}

/** The card key of an image: HKDF-SHA256 of its 32-byte raw data key under IMAGE_META_KEY_INFO. */
export async function imageMetaKey (rawKey: Uint8Array): Promise<Uint8Array> {
  assertContentKey(rawKey)
  const subtle = globalThis.crypto.subtle
  const ikm = await subtle.importKey('raw', bufferSource(rawKey), 'HKDF', false, ['deriveBits'])
  const bits = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: bufferSource(utf8(IMAGE_META_KEY_INFO)) }, ikm, 256)
  return new Uint8Array(bits)
}

/** Seals a card under the card key of the image whose raw data key is `rawKey`. */
export async function sealImageMeta (rawKey: Uint8Array, meta: ImageMeta): Promise<Uint8Array> {
  const plain = encodeImageMeta(meta)
  const key = await imageMetaKey(rawKey)
  try {
    return await encryptBytes(key, plain)
  } finally {
    key.fill(0)
  }
}

/**
 * Opens a sealed card with the image's raw data key. Throws BAD_IMAGE_META when it is larger than
 * a card may be or is no card, and the content decryption's codes (BAD_CIPHERTEXT, …) when the
 * key does not open it.
 */
export async function openImageMeta (rawKey: Uint8Array, sealed: Uint8Array): Promise<ImageMeta> {
  if (sealed.length > MAX_SEALED_META_BYTES) throw new ImageMetaError(`a sealed image card is at most ${MAX_SEALED_META_BYTES} bytes, got ${sealed.length}`)
  const key = await imageMetaKey(rawKey)
  try {
    return decodeImageMeta(await decryptBytes(key, sealed))
  } finally {
    key.fill(0)
  }
}
