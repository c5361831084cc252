// The patient QR code (web/src/lib/patient/qr.ts and patient-id.ts): the SVG path, drawn into pixels
// here, decodes with jsQR (the scanner's decoder) back to the payload; ids parse from what
// people type, paste or scan, and everything else is refused.
import jsQRModule from 'jsqr'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { PATIENT_QR_PREFIX, parsePatientId, patientQrPayload } from '../../../web/src/lib/patient/patient-id.ts'
import { qrPath } from '../../../web/src/lib/patient/qr.ts'

const ID = 'ab'.repeat(32)
const jsQR = jsQRModule.default

/** Rasterises the path's rectangles (`M x y h w v 1 h -w z`) at `scale` px per module with a 4-module margin. */
function raster (d: string, size: number, scale: number): { data: Uint8ClampedArray, side: number } {
  const side = (size + 8) * scale
  const data = new Uint8ClampedArray(side * side * 4).fill(255)
  for (const m of d.matchAll(/M(\d+) (\d+)h(\d+)v1h-?\d+z/g)) {
    const [x, y, w] = [Number(m[1]), Number(m[2]), Number(m[3])]
    for (let py = (y + 4) * scale; py < (y + 5) * scale; py++) {
      for (let px = (x + 4) * scale; px < (x + 4 + w) * scale; px++) data.fill(0, (py * side + px) * 4, (py * side + px) * 4 + 3)
    }
  }
  return { data, side }
}

test('the QR path decodes back to the patient payload', () => {
  const { size, d } = qrPath(patientQrPayload(ID))
  assert.ok(size >= 21 && (size - 17) % 4 === 0, 'a valid QR symbol size')
  const { data, side } = raster(d, size, 4)
  assert.is(jsQR(data, side, side)?.data, `${PATIENT_QR_PREFIX}${ID}`)
})

test('patient ids: bare or prefixed, any case, spaces ignored; everything else refused', () => {
  assert.is(parsePatientId(ID), ID)
  assert.is(parsePatientId(`  ${ID.toUpperCase()} `), ID)
  assert.is(parsePatientId(patientQrPayload(ID).toUpperCase()), ID)
  assert.is(parsePatientId(ID.slice(0, 32) + ' ' + ID.slice(32)), ID)
  for (const bad of ['', ID.slice(1), ID + 'a', 'g'.repeat(64), 'medichain:record:' + ID, `${PATIENT_QR_PREFIX}${ID}x`]) {
    assert.is(parsePatientId(bad), null, bad)
  }
})

test.run()
