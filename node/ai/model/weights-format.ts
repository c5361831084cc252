// The byte format of model weights: what is stored in helia, published on the ledger by CID and
// sent in federated rounds (docs/design.md §6). Deterministic, so equal weights give equal bytes and an
// equal CID. Pure (no tfjs), so aggregation can read and write it without building a model.
//
//   offset 0   4 bytes   magic "MCW1" (Medichain weights, version 1)
//   offset 4   u32 LE    L, the byte length of the header
//   offset 8   L bytes   header, UTF-8 JSON with keys in this order and no whitespace:
//                        {"format":"medichain-unet","config":{"inputSize":…,"base":…,"depth":…},
//                         "tensors":[{"name":…,"shape":[…],"dtype":"float32"},…]}
//   then       0–3 zero bytes, so the data starts on a multiple of 4
//   then       every tensor's values as IEEE 754 float32 little-endian, row-major, in header order
//
// The tensor list must equal parameterLayout(config) exactly; values must be finite.
import { WeightsFormatError } from '../errors.ts'
import { parameterLayout, sizeOf, validateConfig } from './unet-config.ts'
import type { UNetConfig } from './unet-config.ts'

/** The four magic bytes, "MCW1". */
export const WEIGHTS_MAGIC = new Uint8Array([0x4d, 0x43, 0x57, 0x31])
/** Value of the header's `format` field. */
export const WEIGHTS_FORMAT = 'medichain-unet'
// A header for the largest allowed config is ~3 KiB; anything near this bound is hostile.
const MAX_HEADER = 64 * 1024

/** Decoded weights: the model config and one Float32Array per parameter, in layout order. */
export interface WeightsFile {
  config: UNetConfig
  weights: Float32Array[]
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

function headerJson (config: UNetConfig): string {
  const tensors = parameterLayout(config).map(p => ({ name: p.name, shape: p.shape, dtype: 'float32' }))
  return JSON.stringify({
    format: WEIGHTS_FORMAT,
    config: { inputSize: config.inputSize, base: config.base, depth: config.depth },
    tensors
  })
}

/** Throws BAD_WEIGHTS unless `weights` match parameterLayout(config) in count and size and are finite. */
export function checkWeights (config: UNetConfig, weights: readonly Float32Array[]): void {
  const layout = parameterLayout(config)
  if (weights.length !== layout.length) {
    throw new WeightsFormatError(`expected ${layout.length} tensors, got ${weights.length}`)
  }
  layout.forEach((p, i) => {
    const w = weights[i]
    if (w.length !== sizeOf(p.shape)) throw new WeightsFormatError(`${p.name}: expected ${sizeOf(p.shape)} values, got ${w.length}`)
    for (let j = 0; j < w.length; j++) {
      if (!Number.isFinite(w[j])) throw new WeightsFormatError(`${p.name}: value ${j} is not finite`)
    }
  })
}

/** Encodes weights laid out as parameterLayout(config). Throws BAD_WEIGHTS when they do not fit. */
export function encodeWeights (config: UNetConfig, weights: readonly Float32Array[]): Uint8Array {
  checkWeights(config, weights)
  const header = new TextEncoder().encode(headerJson(config))
  const dataStart = 8 + header.length + ((4 - (header.length % 4)) % 4)
  const total = weights.reduce((n, w) => n + w.length, 0)
  const out = new Uint8Array(dataStart + total * 4)
  out.set(WEIGHTS_MAGIC, 0)
  const view = new DataView(out.buffer)
  view.setUint32(4, header.length, true)
  out.set(header, 8)
  let offset = dataStart
  for (const w of weights) {
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), offset)
    } else {
      for (let j = 0; j < w.length; j++) view.setFloat32(offset + j * 4, w[j], true)
    }
    offset += w.byteLength
  }
  return out
}

function parseHeader (bytes: Uint8Array): { config: UNetConfig, headerEnd: number, dataStart: number } {
  if (bytes.length < 8 || !WEIGHTS_MAGIC.every((b, i) => bytes[i] === b)) {
    throw new WeightsFormatError('not a Medichain weights file (bad magic)')
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true)
  if (length > MAX_HEADER || 8 + length > bytes.length) throw new WeightsFormatError(`header length ${length} is out of range`)
  let header: unknown
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + length)))
  } catch (err) {
    throw new WeightsFormatError('header is not UTF-8 JSON', { cause: err })
  }
  if (typeof header !== 'object' || header === null || Reflect.get(header, 'format') !== WEIGHTS_FORMAT) {
    throw new WeightsFormatError(`header format is not ${WEIGHTS_FORMAT}`)
  }
  let config: UNetConfig
  try {
    config = validateConfig(Reflect.get(header, 'config'))
  } catch (err) {
    throw new WeightsFormatError(`header config is invalid: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
  // Requiring the exact canonical header makes the encoding unique: one set of weights, one CID.
  const canonical = new TextEncoder().encode(headerJson(config))
  if (canonical.length !== length || !canonical.every((b, i) => bytes[8 + i] === b)) {
    throw new WeightsFormatError('header does not list the tensors of its config in canonical form')
  }
  return { config, headerEnd: 8 + length, dataStart: 8 + length + ((4 - (length % 4)) % 4) }
}

/** Decodes and validates a weights file. Throws BAD_WEIGHTS on any deviation from the format. */
export function decodeWeights (bytes: Uint8Array): WeightsFile {
  const { config, headerEnd, dataStart } = parseHeader(bytes)
  const layout = parameterLayout(config)
  const total = layout.reduce((n, p) => n + sizeOf(p.shape), 0)
  if (bytes.length !== dataStart + total * 4) {
    throw new WeightsFormatError(`expected ${dataStart + total * 4} bytes, got ${bytes.length}`)
  }
  for (let i = headerEnd; i < dataStart; i++) {
    if (bytes[i] !== 0) throw new WeightsFormatError('header padding is not zero')
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let offset = dataStart
  const weights = layout.map(p => {
    const n = sizeOf(p.shape)
    const start = bytes.byteOffset + offset
    let w: Float32Array
    if (LITTLE_ENDIAN) {
      w = new Float32Array(bytes.buffer.slice(start, start + n * 4))
    } else {
      w = new Float32Array(n)
      for (let j = 0; j < n; j++) w[j] = view.getFloat32(offset + j * 4, true)
    }
    offset += n * 4
    return w
  })
  checkWeights(config, weights)
  return { config, weights }
}
