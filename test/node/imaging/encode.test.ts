// The encoders the result renderer and the generator use: PNG gray 8/16-bit and RGBA read back by
// pngjs itself (all four channels, not only luma), JPEG read back by jpeg-js, deterministic
// bytes, quantisers that clamp, and size checks with a stable code.
import jpeg from 'jpeg-js'
import { PNG } from 'pngjs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { encodeJpeg, encodePng, toUint16, toUint8 } from '../../../node/imaging/raster/encode.ts'
import { throwsCode } from '../../helpers/assert.ts'

function readPng (bytes: Uint8Array): ReturnType<typeof PNG.sync.read> {
  return PNG.sync.read(Buffer.from(bytes), { skipRescale: true })
}

test('RGBA PNG: every channel survives, colour type 6, 8-bit', () => {
  const rgba = Uint8Array.from({ length: 3 * 2 * 4 }, (_, i) => (i * 37) % 256)
  const png = readPng(encodePng(rgba, 3, 2, 4))
  assert.equal([png.width, png.height, png.colorType, png.depth], [3, 2, 6, 8])
  assert.equal(Array.from(png.data), Array.from(rgba))
})

test('gray PNG: 8-bit and 16-bit, colour type 0, exact samples', () => {
  const g8 = Uint8Array.of(0, 1, 128, 255, 7, 9)
  const p8 = readPng(encodePng(g8, 3, 2))
  assert.equal([p8.colorType, p8.depth], [0, 8])
  assert.equal(Array.from({ length: 6 }, (_, i) => p8.data[i * 4]), Array.from(g8))
  const g16 = Uint16Array.of(0, 1, 256, 40000, 65535, 258)
  const p16 = readPng(encodePng(g16, 3, 2))
  assert.equal([p16.colorType, p16.depth], [0, 16])
  assert.equal(Array.from({ length: 6 }, (_, i) => p16.data[i * 4]), Array.from(g16))
  // A view into a larger buffer encodes only its own samples.
  const big = new Uint16Array(20).fill(9)
  big.set(g16, 7)
  assert.equal(Array.from(encodePng(big.subarray(7, 13), 3, 2)), Array.from(encodePng(g16, 3, 2)))
})

test('JPEG: decodes to the right size, close to the input; output is deterministic', () => {
  const gray = Uint8Array.from({ length: 16 * 8 }, (_, i) => 40 + (i % 16) * 10)
  const bytes = encodeJpeg(gray, 16, 8, 95)
  const back = jpeg.decode(bytes, { useTArray: true })
  assert.equal([back.width, back.height], [16, 8])
  for (let i = 0; i < gray.length; i++) assert.ok(Math.abs(back.data[i * 4] - gray[i]) <= 6, `pixel ${i}`)
  assert.equal(Array.from(encodeJpeg(gray, 16, 8, 95)), Array.from(bytes))
  assert.equal(Array.from(encodePng(gray, 16, 8)), Array.from(encodePng(gray, 16, 8)))
})

test('quantisers round, clamp and map NaN to 0', () => {
  const f = Float32Array.of(-0.5, 0, 0.5, 1, 2, Number.NaN, 1 / 255 * 0.49)
  assert.equal(Array.from(toUint8(f)), [0, 0, 128, 255, 255, 0, 0])
  assert.equal(Array.from(toUint16(Float32Array.of(0, 1, 0.5), 12)), [0, 4095, 2048])
  assert.equal(Array.from(toUint16(Float32Array.of(1))), [65535])
})

test('sample counts and sizes are checked with INVALID', () => {
  throwsCode(() => encodePng(new Uint8Array(5), 2, 2), 'INVALID')
  throwsCode(() => encodePng(new Uint8Array(16), 2, 2, 1), 'INVALID')
  throwsCode(() => encodePng(new Uint8Array(4), 2, 2, 4), 'INVALID')
  throwsCode(() => encodePng(new Uint8Array(0), 0, 0), 'INVALID')
  throwsCode(() => encodePng(new Uint16Array(16), 2, 2, 4), 'INVALID')
  throwsCode(() => encodeJpeg(new Uint8Array(3), 2, 2), 'INVALID')
  throwsCode(() => encodeJpeg(new Uint8Array(4), 2.5, 2), 'INVALID')
})

test.run()
