// WADO-RS (PS3.18 §10.4): instances (multipart/related of application/dicom), metadata (DICOM
// JSON, pixel data as a bulk data URI), frames (multipart/related of application/octet-stream,
// native transfer syntaxes) and rendered (image/png or image/jpeg through the file's window).
// Every instance is opened through the reads service: the access check and the ledger's access
// log of the web UI, then this hospital's own key opens it here. An object derived from a
// detect-strange result (Secondary Capture, Segmentation) is made from the opened result.
import { randomBytes } from 'node:crypto'
import type { Context } from 'koa'
import dcmjs from 'dcmjs'
import { MedichainError } from '../../protocol/errors.ts'
import type { Reader } from '../records/access.ts'
import type { Reads } from '../records/reads.ts'
import { parseDicomFile, readHeader, readTransferSyntax } from '../imaging/dicom/header.ts'
import { loadCodecs } from '../imaging/dicom/codecs.ts'
import { checkDecodable, decodeStoredFrame } from '../imaging/dicom/decode.ts'
import { COMPRESSED_DECODABLE_TS } from '../imaging/constants.ts'
import { DEFAULT_LIMITS } from '../imaging/limits.ts'
import { encodeJpeg, encodePng } from '../imaging/raster/encode.ts'
import { loadImage } from '../imaging/load.ts'
import { maskBit, readResultMask } from '../imaging/derived/result-mask.ts'
import { derivedBytes } from '../dicom/catalogue/retrieve.ts'
import { DICOM_FILE, DICOM_JSON, DICOMWEB_BASE, OCTET_STREAM } from './constants.ts'
import type { DicomJson } from './json.ts'
import { collect } from './instances.ts'
import type { VisibleInstance } from './instances.ts'

/** Thrown when the Accept header names no media type this resource is served in (406). */
export class NotAcceptableError extends MedichainError {
  constructor (message: string) {
    super('NOT_ACCEPTABLE', message)
    this.name = 'NotAcceptableError'
  }
}

/** Whether the Accept header allows `type`: absent, any type, the type itself, or multipart/related with that type. */
function accepts (ctx: Context, type: string, multipart: boolean): boolean {
  const accept = ctx.get('accept').toLowerCase()
  if (accept === '' || accept.includes('*/*')) return true
  return accept.split(',').some(a => {
    const t = a.trim()
    if (multipart) return t.startsWith('multipart/related') && (!t.includes('type=') || t.includes(type))
    return t.startsWith(type)
  })
}

/** NOT_FOUND for a study, series or instance the caller sees none of (nothing was opened yet). */
export class NotVisibleError extends MedichainError {
  constructor () { super('NOT_FOUND', 'no such study, series or instance is open to you') }
}

/** The instances of the path (study, series, instance) among the visible ones; NotVisibleError when none. */
export function selected (ctx: Context, visible: VisibleInstance[]): VisibleInstance[] {
  const { study, series, instance } = ctx.params as Record<string, string | undefined>
  const out = visible.filter(v => v.entry.header.study.uid === study &&
    (series === undefined || v.entry.header.series.uid === series) &&
    (instance === undefined || v.entry.header.instance.uid === instance))
  if (out.length === 0) throw new NotVisibleError()
  return out.sort((a, b) => a.entry.header.series.uid.localeCompare(b.entry.header.series.uid) || a.entry.header.instance.number - b.entry.header.instance.number)
}

/** Opens one instance's Part 10 bytes as the reader (access check, access log, key, decrypt). */
async function open (reads: Pick<Reads, 'plaintext'>, reader: Reader, v: VisibleInstance): Promise<Uint8Array> {
  if (v.derived !== undefined) return derivedBytes(v.derived, await openResult(reads, reader, v))
  const { stream } = await reads.plaintext(reader, v.image.raw)
  return await collect(stream)
}

/** Opens the result image (PNG) a derived object is made from, as the reader. */
async function openResult (reads: Pick<Reads, 'plaintext'>, reader: Reader, v: VisibleInstance): Promise<Uint8Array> {
  if (v.image.result === null) throw new MedichainError('NOT_FOUND', 'the image has no result')
  const { stream } = await reads.plaintext(reader, v.image.result)
  return await collect(stream)
}

/**
 * Frame `n` (1-based) of native pixel data of `frameBits` bits each: a byte slice, or for a
 * 1-bit Segmentation whose frames do not start on a byte, the frame's bits moved to bit 0 (PS3.5 §8.1.1).
 */
function frameOf (bytes: Uint8Array, offset: number, n: number, frameBits: number): Uint8Array {
  const start = (n - 1) * frameBits
  if (start % 8 === 0 && frameBits % 8 === 0) return bytes.slice(offset + start / 8, offset + (start + frameBits) / 8)
  const out = new Uint8Array(Math.ceil(frameBits / 8))
  for (let i = 0; i < frameBits; i++) {
    const b = start + i
    if ((bytes[offset + (b >> 3)] & (1 << (b & 7))) !== 0) out[i >> 3] |= 1 << (i & 7)
  }
  return out
}

/** Writes parts as a multipart/related body (RFC 2387) of `type`. */
function multipart (ctx: Context, type: string, parts: Uint8Array[]): void {
  const boundary = `medichain-${randomBytes(12).toString('hex')}`
  const enc = new TextEncoder()
  const chunks: Uint8Array[] = []
  for (const p of parts) chunks.push(enc.encode(`--${boundary}\r\nContent-Type: ${type}\r\n\r\n`), p, enc.encode('\r\n'))
  chunks.push(enc.encode(`--${boundary}--\r\n`))
  ctx.type = `multipart/related; type="${type}"; boundary=${boundary}`
  ctx.body = Buffer.concat(chunks)
}

/** Retrieve instances (a study, a series, or one instance). */
export async function answerInstances (ctx: Context, reads: Pick<Reads, 'plaintext'>, reader: Reader, visible: VisibleInstance[]): Promise<void> {
  if (!accepts(ctx, DICOM_FILE, true)) throw new NotAcceptableError('instances are served as multipart/related; type="application/dicom"')
  const chosen = selected(ctx, visible)
  const parts: Uint8Array[] = []
  for (const v of chosen) parts.push(await open(reads, reader, v))
  multipart(ctx, DICOM_FILE, parts)
}

/** The DICOM JSON of a Part 10 file: every attribute but the bulk ones, pixel data as a bulk data URI. */
function metadataOf (bytes: Uint8Array, v: VisibleInstance, base: string): DicomJson {
  const file = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, { ignoreErrors: false })
  const out: DicomJson = {}
  for (const [tag, value] of Object.entries(file.dict as Record<string, { vr: string, Value?: unknown[] }>)) {
    if (['OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'UN'].includes(value.vr)) continue
    out[tag] = value.Value === undefined ? { vr: value.vr } : { vr: value.vr, Value: value.Value }
  }
  const h = v.entry.header
  out['7FE00010'] = { vr: 'OW', BulkDataURI: `${base}/studies/${h.study.uid}/series/${h.series.uid}/instances/${h.instance.uid}/frames/1` } as unknown as DicomJson[string]
  return out
}

/** Retrieve metadata (a study, a series, or one instance); BulkDataURIs start at `base`. */
export async function answerMetadata (ctx: Context, reads: Pick<Reads, 'plaintext'>, reader: Reader, visible: VisibleInstance[], base = `${ctx.origin}${DICOMWEB_BASE}`): Promise<void> {
  if (!accepts(ctx, DICOM_JSON, false) && !accepts(ctx, 'application/json', false)) throw new NotAcceptableError('metadata is served as application/dicom+json')
  const out: DicomJson[] = []
  for (const v of selected(ctx, visible)) out.push(metadataOf(await open(reads, reader, v), v, base))
  ctx.type = DICOM_JSON
  ctx.body = out
}

/** The 1-based frame numbers of a `frames` path segment ("1,3,4"); INVALID for anything else. */
function frameNumbers (list: string, frames: number): number[] {
  const out = list.split(',').map(Number)
  if (out.length === 0 || out.some(n => !Number.isSafeInteger(n) || n < 1 || n > frames)) throw new MedichainError('INVALID', `frames: numbers from 1 to ${frames}`)
  return out
}

/**
 * Retrieve frames of one instance, uncompressed: its native pixel data frame by frame, or for a
 * JPEG Lossless, JPEG-LS or JPEG Baseline instance each frame decoded to native little-endian
 * stored values. Other transfer syntaxes are UNSUPPORTED_TRANSFER_SYNTAX.
 */
export async function answerFrames (ctx: Context, reads: Pick<Reads, 'plaintext'>, reader: Reader, visible: VisibleInstance[]): Promise<void> {
  if (!accepts(ctx, OCTET_STREAM, true)) throw new NotAcceptableError('frames are served as multipart/related; type="application/octet-stream"')
  const [v] = selected(ctx, visible)
  const bytes = await open(reads, reader, v)
  const compressed = COMPRESSED_DECODABLE_TS.has(readTransferSyntax(bytes))
  const { dataSet, transferSyntax } = parseDicomFile(bytes, { headerOnly: false, requireNative: !compressed })
  checkDecodable(transferSyntax)
  const h = readHeader(dataSet, transferSyntax)
  const pixel = dataSet.elements.x7fe00010
  if (pixel === undefined) throw new MedichainError('NOT_FOUND', 'the instance has no pixel data')
  const numbers = frameNumbers(String(ctx.params.frames), h.frames)
  if (compressed) await loadCodecs()
  const frameBits = h.rows * h.columns * h.samplesPerPixel * h.bitsAllocated
  const parts = numbers.map(n => compressed ? decodeStoredFrame(dataSet, transferSyntax, n - 1, DEFAULT_LIMITS) : frameOf(dataSet.byteArray, pixel.dataOffset, n, frameBits))
  multipart(ctx, OCTET_STREAM, parts)
}

/** Retrieve an instance (or one frame of it) rendered for display: 8-bit gray through its window, PNG or JPEG. */
export async function answerRendered (ctx: Context, reads: Pick<Reads, 'plaintext'>, reader: Reader, visible: VisibleInstance[]): Promise<void> {
  const jpeg = accepts(ctx, 'image/jpeg', false) && !ctx.get('accept').includes('image/png')
  if (!jpeg && !accepts(ctx, 'image/png', false)) throw new NotAcceptableError('rendered images are image/png or image/jpeg')
  const [v] = selected(ctx, visible)
  if (v.derived?.part === 'segmentation') {
    // A Segmentation renders as its mask: white where the model flagged, black elsewhere.
    const mask = readResultMask(await openResult(reads, reader, v))
    if (mask === undefined) throw new MedichainError('NOT_FOUND', 'the result carries no mask')
    const gray = new Uint8Array(mask.width * mask.height)
    for (let i = 0; i < gray.length; i++) gray[i] = maskBit(mask, i) ? 255 : 0
    ctx.type = jpeg ? 'image/jpeg' : 'image/png'
    ctx.body = Buffer.from(jpeg ? encodeJpeg(gray, mask.width, mask.height) : encodePng(gray, mask.width, mask.height))
    return
  }
  await loadCodecs()
  const image = loadImage(await open(reads, reader, v), 'dicom')
  const [low, high] = image.window !== undefined && image.window.width > 0
    ? [image.window.center - image.window.width / 2, image.window.center + image.window.width / 2]
    : [Math.min(...image.pixels.subarray(0, 1 << 16)), Math.max(...image.pixels.subarray(0, 1 << 16))]
  const span = high - low > 1e-9 ? high - low : 1
  const gray = new Uint8Array(image.pixels.length)
  for (let i = 0; i < gray.length; i++) gray[i] = Math.round(Math.min(1, Math.max(0, (image.pixels[i] - low) / span)) * 255)
  ctx.type = jpeg ? 'image/jpeg' : 'image/png'
  ctx.body = Buffer.from(jpeg ? encodeJpeg(gray, image.width, image.height) : encodePng(gray, image.width, image.height))
}
