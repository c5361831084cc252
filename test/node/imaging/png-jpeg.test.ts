// PNG and JPEG loading: the generator's own output round-trips, and hand-built PNGs cover what
// pngjs cannot write (1-bit gray, palette, gray+alpha, interlaced), so every colour type and
// depth path of the decoder runs. Colour becomes BT.601 luma; alpha is ignored.
import { crc32, deflateSync } from 'node:zlib'
import jpeg from 'jpeg-js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { encodeJpeg, encodePng, toUint16, toUint8 } from '../../../node/imaging/raster/encode.ts'
import { loadImage } from '../../../node/imaging/load.ts'
import { generatePhantom } from '../../../scripts/synth/phantom.ts'
import { throwsCode } from '../../helpers/assert.ts'

/** A PNG chunk: length, type, data, CRC over type and data (ISO/IEC 15948 §5.3). */
function chunk (type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  out.set(new TextEncoder().encode(type), 4)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

/** A PNG from raw (already filtered) scanlines; `extra` chunks go between IHDR and IDAT. */
function pngOf (width: number, height: number, depth: number, colorType: number, scanlines: Uint8Array, extra: Uint8Array[] = [], interlace = 0): Uint8Array {
  const ihdr = new Uint8Array(13)
  const view = new DataView(ihdr.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  ihdr.set([depth, colorType, 0, 0, interlace], 8)
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), ...extra, chunk('IDAT', deflateSync(scanlines)), chunk('IEND', new Uint8Array(0))]
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

function close (actual: Float32Array, expected: number[], tolerance: number): void {
  assert.is(actual.length, expected.length)
  expected.forEach((e, i) => {
    if (Math.abs(actual[i] - e) > tolerance) assert.unreachable(`pixel ${i}: ${actual[i]} is not ${e} ± ${tolerance}`)
  })
}

test("the generator's 8-bit PNG round-trips within half a grey level", () => {
  const p = generatePhantom(21, { size: 64, lesionCount: 2 })
  const img = loadImage(encodePng(toUint8(p.pixels), 64, 64))
  assert.equal([img.format, img.width, img.height, img.bitsStored, img.modality], ['png', 64, 64, 8, 'OT'])
  assert.is(img.window, undefined)
  close(img.pixels, Array.from(p.pixels), 0.5 / 255 + 1e-6)
})

test('16-bit gray PNG keeps all 16 bits', () => {
  const values = Uint16Array.of(0, 1, 255, 256, 32767, 65534, 65535, 12345)
  const img = loadImage(encodePng(values, 4, 2))
  assert.is(img.bitsStored, 16)
  close(img.pixels, Array.from(values, v => v / 65535), 1e-7)
})

test('RGB and RGBA PNG become BT.601 luma; alpha is ignored', () => {
  const rgba = Uint8Array.of(255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 128, 100, 100, 100, 7)
  const img = loadImage(encodePng(rgba, 2, 2, 4))
  close(img.pixels, [0.299, 0.587, 0.114, 100 / 255], 1e-6)
  const rgb = pngOf(2, 1, 8, 2, Uint8Array.of(0, 255, 255, 255, 10, 20, 30))
  close(loadImage(rgb).pixels, [1, (0.299 * 10 + 0.587 * 20 + 0.114 * 30) / 255], 1e-6)
})

test('gray+alpha, 1-bit gray, 16-bit RGB and palette PNGs decode', () => {
  close(loadImage(pngOf(2, 1, 8, 4, Uint8Array.of(0, 50, 0, 200, 255))).pixels, [50 / 255, 200 / 255], 1e-6)
  // 1-bit: one byte holds eight pixels, most significant bit first (§7.2).
  close(loadImage(pngOf(8, 1, 1, 0, Uint8Array.of(0, 0b10110001))).pixels, [1, 0, 1, 1, 0, 0, 0, 1], 0)
  const rgb16 = pngOf(1, 1, 16, 2, Uint8Array.of(0, 0xff, 0xff, 0, 0, 0, 0))
  close(loadImage(rgb16).pixels, [0.299], 1e-6)
  const plte = chunk('PLTE', Uint8Array.of(0, 0, 0, 255, 255, 255, 0, 0, 255))
  const palette = loadImage(pngOf(3, 1, 8, 3, Uint8Array.of(0, 0, 1, 2), [plte]))
  close(palette.pixels, [0, 1, 0.114], 1e-6)
  assert.is(palette.bitsStored, 8)
})

test('an Adam7-interlaced PNG decodes', () => {
  // 1×1: only pass 1 holds a pixel (§8.2), so the data is one filter byte and one sample.
  close(loadImage(pngOf(1, 1, 8, 0, Uint8Array.of(0, 77), [], 1)).pixels, [77 / 255], 1e-6)
})

test("the generator's JPEG round-trips within JPEG's loss", () => {
  const p = generatePhantom(22, { size: 64, lesionCount: 1 })
  const img = loadImage(encodeJpeg(toUint8(p.pixels), 64, 64, 95))
  assert.equal([img.format, img.width, img.height, img.bitsStored, img.modality], ['jpeg', 64, 64, 8, 'OT'])
  let sum = 0; let worst = 0
  for (let i = 0; i < p.pixels.length; i++) {
    const d = Math.abs(img.pixels[i] - p.pixels[i])
    sum += d
    worst = Math.max(worst, d)
  }
  assert.ok(sum / p.pixels.length < 0.015, `mean error ${sum / p.pixels.length}`)
  assert.ok(worst < 0.15, `worst error ${worst}`)
})

test('a colour JPEG becomes BT.601 luma', () => {
  const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [90, 90, 90]]
  const rgba = new Uint8Array(32 * 8 * 4)
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 32; x++) rgba.set([...colours[x >> 3], 255], (y * 32 + x) * 4)
  }
  const img = loadImage(jpeg.encode({ data: rgba, width: 32, height: 8 }, 100).data)
  colours.forEach(([r, g, b], k) => {
    const expected = (0.299 * r + 0.587 * g + 0.114 * b) / 255
    const got = img.pixels[4 * 32 + k * 8 + 4]
    assert.ok(Math.abs(got - expected) < 0.02, `colour ${k}: ${got} vs ${expected}`)
  })
})

test('bytes at an offset inside a larger buffer decode like a fresh copy (PNG, JPEG, DICOM)', () => {
  const p = generatePhantom(23, { size: 32 })
  const dicom = encodeDicom({ rows: 32, columns: 32, bitsAllocated: 16, pixels: toUint16(p.pixels), sopInstanceUid: '2.25.1', studyInstanceUid: '2.25.2', seriesInstanceUid: '2.25.3' })
  for (const file of [encodePng(toUint8(p.pixels), 32, 32), encodeJpeg(toUint8(p.pixels), 32, 32), dicom]) {
    const host = new Uint8Array(file.length + 7)
    host.set(file, 7)
    assert.equal(Array.from(loadImage(host.subarray(7)).pixels), Array.from(loadImage(file).pixels))
  }
})

test('format can be forced; bytes of another format are then refused', () => {
  const png = encodePng(new Uint8Array(4), 2, 2)
  assert.is(loadImage(png, 'png').format, 'png')
  throwsCode(() => loadImage(png, 'jpeg'), 'UNSUPPORTED_FORMAT')
  throwsCode(() => loadImage(png, 'dicom'), 'UNSUPPORTED_FORMAT')
  throwsCode(() => loadImage(encodeJpeg(new Uint8Array(4), 2, 2), 'png'), 'UNSUPPORTED_FORMAT')
})

test.run()
