// Bounded inflation of a Deflated Explicit VR Little Endian data set (PS3.5 §A.5). The attributes
// before Pixel Data are inflated first, from ever longer prefixes of the compressed stream, each
// inflate capped; the caller checks the pixel budget from them; only then is the whole stream
// inflated, capped at what that header declares. A deflate bomb thus costs at most the header
// cap, never the gigabytes its stream would expand to.
import { constants as zlib, inflateRawSync } from 'node:zlib'
import dicomParser from 'dicom-parser'
import type { DataSet } from 'dicom-parser'
import { DICOM_TRAILER_BYTES, MAX_DICOM_HEADER_INFLATE } from '../constants.ts'
import { CorruptImageError, describeThrown, PixelBudgetError } from '../errors.ts'

/** Compressed bytes tried first: deflate expands at most ~1032:1, so 1 KiB cannot pass the header cap. */
const FIRST_PREFIX = 1024

/** The Pixel Data tag as dicom-parser names it. */
const PIXEL_DATA = 'x7fe00010'

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

function tooLarge (err: unknown): boolean {
  return err instanceof RangeError && 'code' in err && err.code === 'ERR_BUFFER_TOO_LARGE'
}

/** Inflates `deflated` (a prefix of it when `finish` is false), refusing output past `cap`. */
function inflateCapped (deflated: Uint8Array, cap: number, finish: boolean, what: string): Uint8Array {
  try {
    // Z_SYNC_FLUSH lets a truncated stream give what it holds instead of failing.
    return inflateRawSync(deflated, { maxOutputLength: cap, ...(finish ? {} : { finishFlush: zlib.Z_SYNC_FLUSH }) })
  } catch (err) {
    if (tooLarge(err)) throw new PixelBudgetError(`${what} inflates past ${cap} bytes`)
    throw new CorruptImageError(`DICOM deflated data set does not inflate: ${describeThrown(err)}`)
  }
}

/** Parses meta + body up to Pixel Data; undefined while the body is still too short to hold it. */
function parseUntilPixels (full: Uint8Array): DataSet | undefined {
  try {
    const dataSet = dicomParser.parseDicom(full, { untilTag: PIXEL_DATA, inflater: () => full })
    return dataSet.elements[PIXEL_DATA] === undefined ? undefined : dataSet
  } catch {
    return undefined
  }
}

/** The attributes of a deflated file up to and including the Pixel Data element's header. */
export interface InflatedHeader {
  /** Meta group plus the inflated prefix: parse it with `untilTag` Pixel Data. */
  full: Uint8Array
  /** The parsed attributes, or undefined when the whole stream ends before Pixel Data. */
  dataSet: DataSet | undefined
}

/**
 * Inflates the data set's prefix that holds every attribute before Pixel Data, never more than
 * MAX_DICOM_HEADER_INFLATE bytes. `meta` is the file up to the data set (`position` of the
 * inflater callback). Throws PIXEL_BUDGET when those attributes would exceed the cap.
 */
export function inflateHeader (meta: Uint8Array, deflated: Uint8Array): InflatedHeader {
  for (let take = FIRST_PREFIX; ; take *= 4) {
    const whole = take >= deflated.length
    const body = inflateCapped(whole ? deflated : deflated.subarray(0, take), MAX_DICOM_HEADER_INFLATE, false, 'DICOM attributes before Pixel Data')
    const full = concat(meta, body)
    const dataSet = parseUntilPixels(full)
    if (dataSet !== undefined || whole) return { full, dataSet }
  }
}

/**
 * Inflates the whole data set, refusing with PIXEL_BUDGET once the output passes what the header
 * declared: `pixelOffset` (where Pixel Data's value starts in the inflated body) plus
 * `pixelBytes` plus a small allowance for trailing attributes.
 */
export function inflateDeclared (meta: Uint8Array, deflated: Uint8Array, pixelOffset: number, pixelBytes: number): Uint8Array {
  const cap = pixelOffset + pixelBytes + DICOM_TRAILER_BYTES
  if (!Number.isSafeInteger(cap) || cap < 1) throw new CorruptImageError('DICOM header declares no valid pixel data size')
  return concat(meta, inflateCapped(deflated, cap, true, 'DICOM data set'))
}
