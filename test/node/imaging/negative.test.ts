// Bad input to the loaders: every failure is a typed error with a stable code, never a crash or
// a hang, and declared sizes are checked before allocation. Files are truncated at every offset,
// headers are patched to lie, a deflate bomb is tried, and a seeded fuzzer mutates valid files in
// a worker thread that must finish before a deadline.
import { crc32, deflateRawSync, deflateSync } from 'node:zlib'
import { Worker } from 'node:worker_threads'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MedichainError } from '../../../protocol/errors.ts'
import { TS } from '../../../node/imaging/constants.ts'
import { detectFormat } from '../../../node/imaging/detect.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import type { DicomWriteInit } from '../../../node/imaging/dicom/write.ts'
import { encodeJpeg, encodePng, toUint8 } from '../../../node/imaging/raster/encode.ts'
import { dicomSummary, loadImage } from '../../../node/imaging/load.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { createRng } from '../../../scripts/synth/prng.ts'
import { dicomBomb } from '../../helpers/imaging/bombs.ts'
import { withTimeout } from '../../helpers/timeout.ts'
import { throwsCode } from '../../helpers/assert.ts'

const CODES = ['UNSUPPORTED_FORMAT', 'UNSUPPORTED_TRANSFER_SYNTAX', 'UNSUPPORTED_PIXEL_FORMAT', 'CORRUPT_IMAGE', 'PIXEL_BUDGET']
const phantom = generatePhantom(31, { size: 32, lesionCount: 1 })
const PNG = encodePng(toUint8(phantom.pixels), 32, 32)
const JPEG = encodeJpeg(toUint8(phantom.pixels), 32, 32)
const UIDS = { sopInstanceUid: '2.25.1', studyInstanceUid: '2.25.2', seriesInstanceUid: '2.25.3' }

function dicom (init: Partial<DicomWriteInit> = {}): Uint8Array {
  return encodeDicom({ rows: 4, columns: 4, bitsAllocated: 16, bitsStored: 12, pixels: Uint16Array.from({ length: 16 }, (_, i) => i * 200), ...UIDS, ...init })
}
const DICOM = dicom()

/** The code of what loadImage throws, or 'ok'. Anything untyped fails the test. */
function outcome (bytes: Uint8Array, format?: 'png' | 'jpeg' | 'dicom'): string {
  try {
    loadImage(bytes, format)
    return 'ok'
  } catch (err) {
    if (err instanceof MedichainError) return err.code
    assert.unreachable(`untyped error: ${String(err)}`)
    return 'UNTYPED'
  }
}

/** Offset of an explicit-VR element's header: tag (group, element little endian) followed by `vr`. */
function findElement (bytes: Uint8Array, group: number, element: number, vr: string): number {
  const needle = [group & 0xff, group >> 8, element & 0xff, element >> 8, vr.charCodeAt(0), vr.charCodeAt(1)]
  for (let i = 132; i + needle.length <= bytes.length; i++) {
    if (needle.every((b, k) => bytes[i + k] === b)) return i
  }
  throw new Error(`element (${group.toString(16)},${element.toString(16)}) not found`)
}

/** A copy with a US element's value replaced. */
function patchUs (bytes: Uint8Array, group: number, element: number, value: number): Uint8Array {
  const out = bytes.slice()
  const at = findElement(out, group, element, 'US') + 8
  new DataView(out.buffer).setUint16(at, value, true)
  return out
}

/** A copy with an element's tag number changed, which hides the attribute from readers. */
function retag (bytes: Uint8Array, group: number, element: number, vr: string, newElement: number): Uint8Array {
  const out = bytes.slice()
  const at = findElement(out, group, element, vr)
  new DataView(out.buffer).setUint16(at + 2, newElement, true)
  return out
}

test('not an image and empty files: UNSUPPORTED_FORMAT, or CORRUPT_IMAGE when the format was forced', () => {
  const enc = new TextEncoder()
  for (const bytes of [new Uint8Array(0), enc.encode('hello, world'), enc.encode('%PDF-1.7\n'), Uint8Array.of(0x50, 0x4b, 0x03, 0x04), new Uint8Array(4096), Uint8Array.of(0xff, 0xd8), Uint8Array.of(0x89, 0x50, 0x4e, 0x47)]) {
    throwsCode(() => detectFormat(bytes), 'UNSUPPORTED_FORMAT')
    assert.is(outcome(bytes), 'UNSUPPORTED_FORMAT')
  }
  for (const format of ['png', 'jpeg', 'dicom'] as const) assert.is(outcome(new Uint8Array(0), format), 'CORRUPT_IMAGE')
  throwsCode(() => dicomSummary(new Uint8Array(0)), 'UNSUPPORTED_FORMAT')
  throwsCode(() => dicomSummary(PNG), 'UNSUPPORTED_FORMAT')
})

test('detectFormat needs 132 bytes for DICOM and finds each format', () => {
  assert.is(detectFormat(PNG.subarray(0, 8)), 'png')
  assert.is(detectFormat(JPEG.subarray(0, 3)), 'jpeg')
  assert.is(detectFormat(DICOM.subarray(0, 132)), 'dicom')
  throwsCode(() => detectFormat(DICOM.subarray(0, 131)), 'UNSUPPORTED_FORMAT')
  const shifted = new Uint8Array(140)
  shifted.set(new TextEncoder().encode('DICM'), 129)
  throwsCode(() => detectFormat(shifted), 'UNSUPPORTED_FORMAT')
})

test('truncation at every offset: PNG, JPEG and DICOM', () => {
  for (const [name, file, magic] of [['png', PNG, 8], ['jpeg', JPEG, 3], ['dicom', DICOM, 132]] as const) {
    for (let cut = 0; cut < file.length; cut++) {
      const code = outcome(file.subarray(0, cut))
      const expected = cut < magic ? 'UNSUPPORTED_FORMAT' : 'CORRUPT_IMAGE'
      if (code !== expected) assert.unreachable(`${name} cut at ${cut}/${file.length}: ${code}, expected ${expected}`)
    }
  }
})

test("'DICM' magic with garbage after it is CORRUPT_IMAGE", () => {
  const rng = createRng(99)
  for (const length of [132, 133, 140, 200, 1000, 5000]) {
    for (let k = 0; k < 20; k++) {
      const bytes = new Uint8Array(length)
      for (let i = 132; i < length; i++) bytes[i] = rng.u32() & 0xff
      bytes.set(new TextEncoder().encode('DICM'), 128)
      assert.is(outcome(bytes), 'CORRUPT_IMAGE', `length ${length}`)
    }
  }
})

test('RLE and JPEG 2000 are UNSUPPORTED_TRANSFER_SYNTAX, yet the summary reads (JPEG: dicom-compressed.test.ts)', () => {
  for (const ts of ['1.2.840.10008.1.2.5', '1.2.840.10008.1.2.4.90']) {
    const file = dicom({ encapsulated: { transferSyntaxUid: ts, frames: [JPEG] } })
    throwsCode(() => loadImage(file), 'UNSUPPORTED_TRANSFER_SYNTAX')
    assert.is(dicomSummary(file).transferSyntax, ts)
    assert.is(dicomSummary(file).rows, 4)
  }
})

test('a deflated data set is inflated within what its header declares; deflate bombs are PIXEL_BUDGET', () => {
  // Build a valid deflated file from an explicit one: same meta group except the UID, data set deflated.
  const shell = dicom({ encapsulated: { transferSyntaxUid: TS.deflatedExplicitLittle, frames: [] } })
  const metaEnd = (file: Uint8Array): number => 132 + 12 + new DataView(file.buffer, file.byteOffset).getUint32(140, true)
  const meta = shell.subarray(0, metaEnd(shell))
  const withBody = (body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(meta.length + body.length)
    out.set(meta)
    out.set(body, meta.length)
    return out
  }
  const deflated = withBody(deflateRawSync(DICOM.subarray(metaEnd(DICOM))))
  assert.equal(Array.from(loadImage(deflated).pixels), Array.from(loadImage(DICOM).pixels))
  const bomb = withBody(deflateRawSync(new Uint8Array(48 * 2 ** 20)))
  assert.ok(bomb.length < 100_000, 'the bomb is small on the wire')
  throwsCode(() => loadImage(bomb, undefined, { limits: { maxSide: 64, maxPixels: 64 * 64 } }), 'PIXEL_BUDGET')
  // A 4×4 header followed by 48 MiB of zeros: refused at the bound its own header sets, with the defaults.
  const padded = new Uint8Array(48 * 2 ** 20)
  padded.set(DICOM.subarray(metaEnd(DICOM)))
  throwsCode(() => loadImage(withBody(deflateRawSync(padded))), 'PIXEL_BUDGET')
  // A header declaring 4096² × 16 bits × 16 frames (512 MiB) is refused from the header alone.
  const bigBomb = dicomBomb(4096, 16)
  assert.ok(bigBomb.length < 1_000_000, 'the bomb is small on the wire')
  const before = process.memoryUsage().arrayBuffers
  throwsCode(() => loadImage(bigBomb), 'PIXEL_BUDGET')
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 2 ** 20, 'nothing near the declared size was allocated')
  assert.is(dicomSummary(bigBomb).frames, 16, 'the summary reads the header without inflating the pixels')
})

test('absurd dimensions are PIXEL_BUDGET before any allocation; zero sides are CORRUPT_IMAGE', () => {
  const ihdr = (width: number, height: number): Uint8Array => {
    const out = PNG.slice()
    const view = new DataView(out.buffer)
    view.setUint32(16, width)
    view.setUint32(20, height)
    view.setUint32(29, crc32(out.subarray(12, 29)))
    return out
  }
  assert.is(outcome(ihdr(100_000, 100_000)), 'PIXEL_BUDGET')
  assert.is(outcome(ihdr(0x7fffffff, 1)), 'PIXEL_BUDGET')
  assert.is(outcome(ihdr(8193, 8)), 'PIXEL_BUDGET')
  assert.is(outcome(ihdr(0, 32)), 'CORRUPT_IMAGE')
  const sof = JPEG.findIndex((b, i) => b === 0xff && JPEG[i + 1] === 0xc0)
  const jpegOf = (width: number, height: number, precision = 8, marker = 0xc0, components = -1): Uint8Array => {
    const out = JPEG.slice()
    out[sof + 1] = marker
    out[sof + 4] = precision
    new DataView(out.buffer).setUint16(sof + 5, height)
    new DataView(out.buffer).setUint16(sof + 7, width)
    if (components >= 0) out[sof + 9] = components
    return out
  }
  assert.is(outcome(jpegOf(65535, 65535)), 'PIXEL_BUDGET')
  assert.is(outcome(jpegOf(32, 0)), 'CORRUPT_IMAGE')
  assert.is(outcome(DICOM.slice()), 'ok')
  assert.is(outcome(patchUs(patchUs(DICOM, 0x28, 0x10, 65535), 0x28, 0x11, 65535)), 'PIXEL_BUDGET')
  assert.is(outcome(patchUs(DICOM, 0x28, 0x10, 0)), 'CORRUPT_IMAGE')
  // Limits are configurable, per side and in total.
  throwsCode(() => loadImage(PNG, undefined, { limits: { maxSide: 31 } }), 'PIXEL_BUDGET')
  throwsCode(() => loadImage(JPEG, undefined, { limits: { maxPixels: 32 * 31 } }), 'PIXEL_BUDGET')
  throwsCode(() => loadImage(DICOM, undefined, { limits: { maxSide: 3 } }), 'PIXEL_BUDGET')
  // JPEG features jpeg-js cannot decode are refused by the frame header, before decoding.
  assert.is(outcome(jpegOf(32, 32, 12)), 'UNSUPPORTED_PIXEL_FORMAT')
  assert.is(outcome(jpegOf(32, 32, 8, 0xc3)), 'UNSUPPORTED_PIXEL_FORMAT')
  assert.is(outcome(jpegOf(32, 32, 8, 0xc0, 4)), 'UNSUPPORTED_PIXEL_FORMAT')
})

test('DICOM headers that lie: each inconsistency has its code', () => {
  assert.is(outcome(retag(DICOM, 0x28, 0x10, 'US', 0x0f)), 'CORRUPT_IMAGE', 'no Rows')
  assert.is(outcome(retag(DICOM, 0x28, 0x100, 'US', 0xff)), 'CORRUPT_IMAGE', 'no Bits Allocated')
  assert.is(outcome(retag(DICOM, 0x7fe0, 0x10, 'OW', 0x11)), 'CORRUPT_IMAGE', 'no Pixel Data')
  assert.is(outcome(retag(DICOM, 0x02, 0x10, 'UI', 0x11)), 'CORRUPT_IMAGE', 'no Transfer Syntax UID')
  assert.is(outcome(patchUs(DICOM, 0x28, 0x100, 32)), 'UNSUPPORTED_PIXEL_FORMAT', '32 bits allocated')
  assert.is(outcome(patchUs(DICOM, 0x28, 0x100, 1)), 'UNSUPPORTED_PIXEL_FORMAT', '1 bit allocated')
  assert.is(outcome(patchUs(DICOM, 0x28, 0x101, 17)), 'CORRUPT_IMAGE', 'bits stored above bits allocated')
  assert.is(outcome(patchUs(DICOM, 0x28, 0x102, 3)), 'CORRUPT_IMAGE', 'high bit below bits stored')
  assert.is(outcome(patchUs(DICOM, 0x28, 0x103, 2)), 'CORRUPT_IMAGE', 'pixel representation 2')
  assert.is(outcome(patchUs(DICOM, 0x28, 0x02, 3)), 'UNSUPPORTED_PIXEL_FORMAT', 'three samples of MONOCHROME2')
  assert.is(outcome(patchUs(DICOM, 0x28, 0x10, 5)), 'CORRUPT_IMAGE', 'more rows than pixel data')
  assert.is(outcome(dicom({ rescale: { slope: 0, intercept: 0 } })), 'CORRUPT_IMAGE', 'zero rescale slope')
  const ybr = DICOM.slice()
  const at = findElement(ybr, 0x28, 0x04, 'CS') + 8
  ybr.set(new TextEncoder().encode('YBR_FULL    '), at)
  assert.is(outcome(ybr), 'UNSUPPORTED_PIXEL_FORMAT', 'YBR_FULL')
  assert.is(outcome(dicom({ frames: 2, pixels: new Uint16Array(32) })), 'ok')
})

test('PNG structure errors: bad CRC, IHDR not first, invalid depth, no IDAT, bad zlib, interlace bomb', () => {
  const flipped = PNG.slice()
  flipped[flipped.length - 20] ^= 0xff // inside IDAT: CRC mismatch (and likely bad zlib)
  assert.is(outcome(flipped), 'CORRUPT_IMAGE')
  const crcOnly = PNG.slice()
  crcOnly[29] ^= 1 // IHDR CRC
  assert.is(outcome(crcOnly), 'CORRUPT_IMAGE')
  const badDepth = PNG.slice()
  badDepth[24] = 4 // bit depth 4 …
  badDepth[25] = 2 // … with RGB is not allowed
  new DataView(badDepth.buffer).setUint32(29, crc32(badDepth.subarray(12, 29)))
  assert.is(outcome(badDepth), 'CORRUPT_IMAGE')
  const chunkAt = (bytes: Uint8Array, type: string): number => bytes.findIndex((_, i) => String.fromCharCode(...bytes.subarray(i, i + 4)) === type) - 4
  const idat = chunkAt(PNG, 'IDAT')
  const iend = chunkAt(PNG, 'IEND')
  const noIdat = new Uint8Array([...PNG.subarray(0, idat), ...PNG.subarray(iend)])
  assert.is(outcome(noIdat), 'CORRUPT_IMAGE')
  const ihdrSecond = new Uint8Array([...PNG.subarray(0, 8), ...PNG.subarray(iend, iend + 12), ...PNG.subarray(8)])
  assert.is(outcome(ihdrSecond), 'CORRUPT_IMAGE')
  // An interlaced 1×1 image whose IDAT inflates to 32 MiB: pngjs would inflate it all unbounded.
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + data.length)
    const view = new DataView(out.buffer)
    view.setUint32(0, data.length)
    out.set(new TextEncoder().encode(type), 4)
    out.set(data, 8)
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
    return out
  }
  const ihdr = Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 1)
  const bomb = new Uint8Array([...PNG.subarray(0, 8), ...chunk('IHDR', ihdr), ...chunk('IDAT', deflateSync(new Uint8Array(32 * 2 ** 20))), ...chunk('IEND', new Uint8Array(0))])
  assert.is(outcome(bomb), 'CORRUPT_IMAGE')
  const garbageZlib = new Uint8Array([...PNG.subarray(0, 8), ...chunk('IHDR', Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0)), ...chunk('IDAT', Uint8Array.of(1, 2, 3, 4)), ...chunk('IEND', new Uint8Array(0))])
  assert.is(outcome(garbageZlib), 'CORRUPT_IMAGE')
})

test('JPEG structure errors: segment past the end, scan before frame, no frame', () => {
  const longSegment = JPEG.slice()
  new DataView(longSegment.buffer).setUint16(4, 0xfff0) // APP0 length
  assert.is(outcome(longSegment), 'CORRUPT_IMAGE')
  assert.is(outcome(Uint8Array.of(0xff, 0xd8, 0xff, 0xda, 0, 2, 0, 0)), 'CORRUPT_IMAGE')
  assert.is(outcome(Uint8Array.of(0xff, 0xd8, 0xff, 0xd9)), 'CORRUPT_IMAGE')
  assert.is(outcome(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 1, 0, 0)), 'CORRUPT_IMAGE')
  const notMarker = JPEG.slice()
  notMarker[2] = 0xff
  notMarker[3] = 0xe0
  notMarker[20] = 0x00 // breaks the marker after APP0
  assert.ok(['CORRUPT_IMAGE', 'ok'].includes(outcome(notMarker)))
})

/** Runs in a worker: decodes every input and reports codes, so a hang can be cut off by a deadline. */
const FUZZ_WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
import(workerData.load).then(({ loadImage }) => {
  const results = workerData.inputs.map(bytes => {
    try {
      const img = loadImage(bytes)
      const ok = img.pixels.length === img.width * img.height && img.pixels.every(v => v >= 0 && v <= 1)
      return ok ? 'ok' : 'BAD_OUTPUT'
    } catch (err) {
      return typeof err.code === 'string' && err.name !== 'Error' ? err.code : 'UNTYPED:' + String(err)
    }
  })
  parentPort.postMessage(results)
})
`

test('fuzz: 1,500 seeded mutations of valid files decode or fail typed, within a deadline', async () => {
  const rng = createRng(2024)
  const inputs: Uint8Array[] = []
  for (const file of [PNG, JPEG, DICOM, dicom({ transferSyntax: 'implicit' }), dicom({ bitsAllocated: 8, bitsStored: 8, pixels: new Uint8Array(16), photometric: 'MONOCHROME1' })]) {
    for (let k = 0; k < 300; k++) {
      const bytes = file.slice()
      const flips = 1 + rng.int(0, 7)
      // Keep the magic so the mutation reaches the decoder rather than the detector.
      const start = file === PNG ? 8 : file === JPEG ? 3 : 132
      for (let f = 0; f < flips; f++) bytes[start + rng.int(0, bytes.length - start - 1)] = rng.u32() & 0xff
      inputs.push(rng.chance(0.2) ? bytes.subarray(0, rng.int(start, bytes.length)) : bytes)
    }
  }
  const worker = new Worker(FUZZ_WORKER, { eval: true, workerData: { inputs, load: new URL('../../../node/imaging/load.ts', import.meta.url).href } })
  try {
    const results = await withTimeout(new Promise<string[]>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    }), 60_000, 'the fuzz worker')
    const tally = new Map<string, number>()
    for (const r of results) tally.set(r, (tally.get(r) ?? 0) + 1)
    for (const code of tally.keys()) assert.ok(code === 'ok' || CODES.includes(code), `unexpected outcome ${code}`)
    assert.ok((tally.get('CORRUPT_IMAGE') ?? 0) > 100, 'the mutations do reach the decoders')
  } finally {
    await worker.terminate()
  }
})

test.run()
