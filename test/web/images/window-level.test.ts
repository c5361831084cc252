// Window/level for the viewer (web/src/lib/images/window-level.ts): the VOI linear function of PS3.3
// §C.11.2.1.2.1 at its breakpoints, bit masking and sign extension, MONOCHROME1 inversion, and
// agreement with the peer's own DICOM decoder under the file's window on signed and unsigned data.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decodeDicom } from '../../../node/imaging/dicom/decode.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import { DEFAULT_LIMITS } from '../../../node/imaging/limits.ts'
import { parseDicom } from '../../../web/src/lib/images/dicom.ts'
import type { DicomImage } from '../../../web/src/lib/images/dicom.ts'
import { defaultWindow, modalityValue, renderGray, valueRange, voiLinear, windowLut } from '../../../web/src/lib/images/window-level.ts'

function image (over: Partial<DicomImage> = {}): DicomImage {
  return {
    rows: 1, columns: 4, bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: false, photometric: 'MONOCHROME2',
    slope: 1, intercept: 0, window: null, modality: 'CT', frame: Uint16Array.of(0, 100, 200, 4095), ...over
  }
}

test('VOI linear: below, at the centre, above, and a width of 1', () => {
  const w = { center: 40, width: 400 }
  assert.is(voiLinear(-160, w), 0, 'x ≤ c − 0.5 − (w − 1)/2')
  assert.is(voiLinear(-150, w), 6, '((x − 39.5) / 399 + 0.5) × 255, rounded')
  assert.is(voiLinear(39.5, w), 128, 'the centre maps to mid-gray')
  assert.is(voiLinear(239, w), 255)
  assert.is(voiLinear(240, w), 255, 'x > c − 0.5 + (w − 1)/2')
  assert.is(voiLinear(39, { center: 40, width: 1 }), 0)
  assert.is(voiLinear(40, { center: 40, width: 1 }), 255)
})

test('stored values: high bit below 15 shifts, signed samples extend their sign, rescale applies', () => {
  const img = image({ bitsStored: 12, highBit: 15, signed: true, slope: 2, intercept: -10 })
  assert.is(modalityValue(img, 0x0010), 1 * 2 - 10, 'the low 4 bits are below the stored bits')
  assert.is(modalityValue(img, 0x8000), -2048 * 2 - 10, '0x800 in 12 bits is −2048')
  assert.is(modalityValue(img, 0x7ff0), 2047 * 2 - 10)
  assert.is(modalityValue(image(), 0xf123), 0x123, 'bits above the stored ones are masked off')
})

test('MONOCHROME1 is inverted, and renderGray writes opaque RGBA through the table', () => {
  const img = image({ bitsAllocated: 8, bitsStored: 8, highBit: 7, frame: Uint8Array.of(0, 255) })
  const w = { center: 127.5, width: 256 }
  const normal = windowLut(img, w)
  const inverted = windowLut({ ...img, photometric: 'MONOCHROME1' }, w)
  assert.is(normal[0], 0)
  assert.is(inverted[0], 255)
  assert.is(normal[255] + inverted[255], 255)
  const out = new Uint8ClampedArray(8)
  renderGray(img.frame, inverted, out)
  assert.equal([...out], [255, 255, 255, 255, 0, 0, 0, 255])
  assert.throws(() => renderGray(img.frame, inverted, new Uint8ClampedArray(4)), RangeError)
})

test('the range of values present, and the default window from it when the file has none', () => {
  const img = image({ intercept: -1024 })
  assert.equal(valueRange(img), { min: -1024, max: 4095 - 1024 })
  assert.equal(defaultWindow(img), { center: (-1024 + 3071) / 2, width: 4096 })
  assert.equal(defaultWindow(image({ window: { center: 1, width: 2 } })), { center: 1, width: 2 })
})

test('matches the peer\'s decoder under the file window (unsigned CT, signed MONOCHROME1)', () => {
  const cases = [
    { pixels: Uint16Array.from({ length: 64 }, (_, i) => i * 64), bitsStored: 12, photometric: 'MONOCHROME2' as const, rescale: { slope: 1, intercept: -1024 }, window: { center: 40, width: 1500 } },
    { pixels: Int16Array.from({ length: 64 }, (_, i) => i * 500 - 16000), bitsStored: 16, photometric: 'MONOCHROME1' as const, rescale: { slope: 0.5, intercept: 3 }, window: { center: -100, width: 6000 } }
  ]
  for (const c of cases) {
    const bytes = encodeDicom({ rows: 8, columns: 8, bitsAllocated: 16, ...c, sopInstanceUid: '2.25.9', studyInstanceUid: '2.25.8', seriesInstanceUid: '2.25.7' })
    const theirs = decodeDicom(bytes, { limits: DEFAULT_LIMITS, scaling: 'window' }).pixels
    const img = parseDicom(bytes)
    const lut = windowLut(img, defaultWindow(img))
    for (let i = 0; i < 64; i++) {
      const diff = Math.abs(lut[img.frame[i]] - theirs[i] * 255)
      assert.ok(diff <= 1, `pixel ${i}: ours ${lut[img.frame[i]]}, peer ${theirs[i] * 255}`)
    }
  }
})

test.run()
