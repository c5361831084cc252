// Decoders of the compressed transfer syntaxes we read (constants.ts COMPRESSED_DECODABLE_TS):
// JPEG Lossless with jpeg-lossless-decoder-js (plain JavaScript), JPEG-LS with CharLS and JPEG
// Baseline with libjpeg-turbo (both WebAssembly builds from @cornerstonejs). The WebAssembly
// modules compile asynchronously: loadCodecs() is awaited once per thread (the decode worker at
// start, the main thread before it renders), after which decoding is synchronous. Every decoder
// returns the frame as native little-endian stored values, which decode.ts reads as it reads an
// uncompressed frame; the stream's own frame header is checked against the DICOM header first
// (encapsulated.ts), so a codec never allocates more than the pixel budget allowed. The packages
// are loaded, not imported: a peer where they are not installed still runs, reads native files
// and refuses compressed ones (UNSUPPORTED_TRANSFER_SYNTAX; the SCP then does not accept them).
import { createRequire } from 'node:module'
import type { Decoder as LosslessDecoderType } from 'jpeg-lossless-decoder-js'
import { TS } from '../constants.ts'
import { CorruptImageError, describeThrown, UnsupportedPixelFormatError, UnsupportedTransferSyntaxError } from '../errors.ts'
import { checkStreamFrame, streamFrame } from './encapsulated.ts'
import type { DicomHeader } from './header.ts'
import { MedichainError } from '../../../protocol/errors.ts'

interface FrameInfo { width: number, height: number, bitsPerSample: number, componentCount: number }
/** The Emscripten decoder objects both WebAssembly codecs expose. */
interface WasmDecoder {
  getEncodedBuffer: (length: number) => Uint8Array
  getDecodedBuffer: () => Uint8Array
  decode: () => void
  getFrameInfo: () => FrameInfo
  getInterleaveMode?: () => number
  delete: () => void
}
interface CharlsModule { JpegLSDecoder: new () => WasmDecoder }
interface TurboModule { JPEGDecoder: new () => WasmDecoder }

const require = createRequire(import.meta.url)
let loaded: Promise<void> | undefined
let settled = false
let charls: CharlsModule | undefined
let turbo: TurboModule | undefined
let LosslessDecoder: typeof LosslessDecoderType | undefined

/**
 * Loads the codecs of this thread and compiles their WebAssembly, once; every later call returns
 * the same promise. Never rejects: without the packages, compressed files are refused instead.
 */
export async function loadCodecs (): Promise<void> {
  loaded ??= (async () => {
    try {
      const charlsFactory = require('@cornerstonejs/codec-charls/decodewasmjs') as () => Promise<CharlsModule>
      const turboFactory = require('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs') as () => Promise<TurboModule>
      const lossless = require('jpeg-lossless-decoder-js') as { Decoder: typeof LosslessDecoderType }
      ;[charls, turbo] = await Promise.all([charlsFactory(), turboFactory()])
      LosslessDecoder = lossless.Decoder
    } catch {
      charls = turbo = LosslessDecoder = undefined
    } finally {
      settled = true
    }
  })()
  await loaded
}

/** Whether this thread decodes the compressed syntaxes: loadCodecs() settled and found the packages. */
export function codecsInstalled (): boolean {
  return settled && charls !== undefined && turbo !== undefined && LosslessDecoder !== undefined
}

/** The decoded frame: stored values as native little-endian bytes, and for colour how they are laid out. */
export interface DecodedFrame {
  bytes: Uint8Array
  /** The header as the bytes are to be read: a baseline colour frame comes out as interleaved RGB. */
  header: DicomHeader
}

/** A typed array's bytes (little endian on every host Node runs on). */
const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength)

function runWasm (decoder: WasmDecoder, stream: Uint8Array, expected: number, h: DicomHeader): { bytes: Uint8Array, interleave?: number } {
  try {
    decoder.getEncodedBuffer(stream.length).set(stream)
    decoder.decode()
    const info = decoder.getFrameInfo()
    if (info.width !== h.columns || info.height !== h.rows || info.componentCount !== h.samplesPerPixel) throw new CorruptImageError('the decoded frame does not match the DICOM header')
    const out = decoder.getDecodedBuffer()
    if (out.length !== expected) throw new CorruptImageError(`the decoded frame has ${out.length} bytes, ${expected} expected`)
    return { bytes: Uint8Array.from(out), ...(decoder.getInterleaveMode === undefined ? {} : { interleave: decoder.getInterleaveMode() }) }
  } catch (err) {
    if (err instanceof CorruptImageError) throw err
    // Emscripten throws numbers and strings; a corrupt stream must be a typed refusal.
    throw new CorruptImageError(`the compressed frame does not decode: ${describeThrown(err)}`)
  } finally {
    decoder.delete()
  }
}

/**
 * Decodes one compressed frame (its bit stream from encapsulated.ts) of a file in `transferSyntax`.
 * Throws CORRUPT_IMAGE (a stream that contradicts the header or does not decode) or
 * UNSUPPORTED_PIXEL_FORMAT; the caller checked the pixel budget and the layout already.
 */
export function decodeCompressedFrame (transferSyntax: string, stream: Uint8Array, h: DicomHeader): DecodedFrame {
  // A programming error, not a corrupt file: typed apart so loadImage does not call it CORRUPT_IMAGE.
  if (!settled) throw new MedichainError('INTERNAL', 'loadCodecs() was not awaited on this thread')
  if (charls === undefined || turbo === undefined || LosslessDecoder === undefined) throw new UnsupportedTransferSyntaxError(`DICOM transfer syntax ${transferSyntax} is not supported here (its codec package is not installed)`)
  const frame = streamFrame(stream)
  checkStreamFrame(frame, h)
  const bytesPerSample = h.bitsAllocated / 8
  const expected = h.rows * h.columns * h.samplesPerPixel * bytesPerSample
  switch (transferSyntax) {
    case TS.jpegLosslessP14:
    case TS.jpegLosslessSV1: {
      if (frame.marker !== 0xc3 && frame.marker !== 0xc7) throw new CorruptImageError('a JPEG Lossless transfer syntax carries a frame that is not lossless (SOF3)')
      if (h.samplesPerPixel !== 1) throw new UnsupportedPixelFormatError('JPEG Lossless colour frames are not supported')
      let out: Uint8Array
      try {
        out = bytesOf(new LosslessDecoder().decode(stream.buffer as ArrayBuffer, stream.byteOffset, stream.byteLength, bytesPerSample))
      } catch (err) {
        throw new CorruptImageError(`the compressed frame does not decode: ${describeThrown(err)}`)
      }
      if (out.length !== expected) throw new CorruptImageError(`the decoded frame has ${out.length} bytes, ${expected} expected`)
      return { bytes: out, header: h }
    }
    case TS.jpegLsLossless:
    case TS.jpegLsNearLossless: {
      if (frame.marker !== 0xf7) throw new CorruptImageError('a JPEG-LS transfer syntax carries a frame that is not JPEG-LS (SOF55)')
      const { bytes, interleave } = runWasm(new charls.JpegLSDecoder(), stream, expected, h)
      // CharLS gives colour planes one after the other when the stream is not interleaved (T.87 ILV 0).
      return { bytes, header: h.samplesPerPixel === 3 ? { ...h, planarConfiguration: interleave === 0 ? 1 : 0 } : h }
    }
    case TS.jpegBaseline: {
      if (frame.marker !== 0xc0 && frame.marker !== 0xc1) throw new CorruptImageError('the JPEG Baseline transfer syntax carries a frame that is not baseline (SOF0)')
      if (h.bitsAllocated !== 8 || frame.precision !== 8) throw new UnsupportedPixelFormatError('JPEG Baseline frames are 8-bit')
      const { bytes } = runWasm(new turbo.JPEGDecoder(), stream, expected, h)
      // libjpeg-turbo converts YCbCr to interleaved RGB (PS3.5 §8.2.1: YBR_FULL_422 in the file).
      return { bytes, header: h.samplesPerPixel === 3 ? { ...h, photometric: 'RGB', planarConfiguration: 0 } : h }
    }
    default:
      throw new UnsupportedPixelFormatError(`no decoder for transfer syntax ${transferSyntax}`)
  }
}
