// Zoom and pan of the viewer (web/src/lib/images/view-transform.ts): fit centres the image, zooming keeps
// the pixel under the cursor in place, the scale stays within its limits, bad factors change nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MAX_SCALE, MIN_SCALE, fitTransform, panBy, toImage, zoomAt } from '../../../web/src/lib/images/view-transform.ts'

test('fit shows the whole image centred', () => {
  assert.equal(fitTransform(200, 100, 400, 400), { scale: 2, x: 0, y: 100 })
  assert.equal(fitTransform(100, 400, 400, 200), { scale: 0.5, x: 175, y: 0 })
  assert.equal(fitTransform(0, 100, 400, 400), { scale: 1, x: 0, y: 0 }, 'an empty image does not divide by zero')
})

test('zooming keeps the image pixel under the cursor', () => {
  const t = { scale: 1.5, x: 10, y: -20 }
  const before = toImage(t, 123, 77)
  const after = toImage(zoomAt(t, 2.5, 123, 77), 123, 77)
  assert.ok(Math.abs(before.u - after.u) < 1e-9 && Math.abs(before.v - after.v) < 1e-9)
})

test('scale is clamped; zero, negative and non-finite factors are ignored', () => {
  const t = { scale: 1, x: 0, y: 0 }
  assert.is(zoomAt(t, 1e9, 0, 0).scale, MAX_SCALE)
  assert.is(zoomAt(t, 1e-9, 0, 0).scale, MIN_SCALE)
  for (const f of [0, -2, Number.NaN, Infinity]) assert.is(zoomAt(t, f, 5, 5), t)
})

test('pan moves by screen pixels', () => {
  assert.equal(panBy({ scale: 3, x: 1, y: 2 }, -5, 7), { scale: 3, x: -4, y: 9 })
})

test.run()
