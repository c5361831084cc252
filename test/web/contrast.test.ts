// The contrast maths of the accessibility audit (web/src/lib/contrast.ts) on published values:
// WCAG 2.2's luminance and ratio (black on white 21:1; #777 on white 4.48:1, the grey that just
// fails AA; #767676, the lightest that passes, 4.54:1; pure blue 8.59:1 and red 4.00:1 on white,
// as WebAIM's checker gives them), CSS colour parsing, and source-over alpha compositing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  TRANSPARENT, WHITE, contrastRatio, fade, isLargeText, over, parseColor, relativeLuminance, requiredTextRatio, toHex
} from '../../web/src/lib/contrast.ts'
import type { Rgba } from '../../web/src/lib/contrast.ts'

const BLACK: Rgba = { r: 0, g: 0, b: 0, a: 1 }

function color (text: string): Rgba {
  const c = parseColor(text)
  if (c === null) throw new Error(`${text} did not parse`)
  return c
}

function close (actual: number, expected: number, within = 0.005): void {
  assert.ok(Math.abs(actual - expected) <= within, `${actual} is not within ${within} of ${expected}`)
}

test('relative luminance: white 1, black 0, the 0.04045 knee, channel weights', () => {
  close(relativeLuminance(WHITE), 1, 1e-12)
  close(relativeLuminance(BLACK), 0, 1e-12)
  // Below the knee the curve is linear: 10/255 / 12.92.
  close(relativeLuminance({ r: 10, g: 10, b: 10, a: 1 }), 10 / 255 / 12.92, 1e-12)
  close(relativeLuminance(color('#f00')), 0.2126, 1e-12)
  close(relativeLuminance(color('#0f0')), 0.7152, 1e-12)
  close(relativeLuminance(color('#00f')), 0.0722, 1e-12)
})

test('contrast ratio on known pairs, symmetric, 1 for equal colours', () => {
  close(contrastRatio(BLACK, WHITE), 21, 1e-9)
  close(contrastRatio(color('#777'), WHITE), 4.48)
  assert.ok(contrastRatio(color('#777'), WHITE) < 4.5, '#777 on white fails AA')
  close(contrastRatio(color('#767676'), WHITE), 4.54)
  assert.ok(contrastRatio(color('#767676'), WHITE) >= 4.5, '#767676 on white passes AA')
  close(contrastRatio(color('#0000ff'), WHITE), 8.59)
  close(contrastRatio(color('#ff0000'), WHITE), 4.0)
  assert.is(contrastRatio(WHITE, color('#777')), contrastRatio(color('#777'), WHITE))
  assert.is(contrastRatio(color('#0b5cad'), color('#0b5cad')), 1)
})

test('parses the colours computed styles give', () => {
  assert.equal(color('rgb(27, 31, 36)'), { r: 27, g: 31, b: 36, a: 1 })
  assert.equal(color('rgba(0, 0, 0, 0.6)'), { r: 0, g: 0, b: 0, a: 0.6 })
  assert.equal(color('rgb(0 128 255 / 50%)'), { r: 0, g: 128, b: 255, a: 0.5 })
  assert.equal(color('rgb(100% 0% 50%)'), { r: 255, g: 0, b: 127.5, a: 1 })
  assert.equal(color('#abc'), { r: 0xaa, g: 0xbb, b: 0xcc, a: 1 })
  assert.equal(color('#aabbcc80'), { r: 0xaa, g: 0xbb, b: 0xcc, a: 0x80 / 255 })
  assert.equal(color('transparent'), TRANSPARENT)
  assert.equal(color('color(srgb 1 0 0.5 / 0.25)'), { r: 255, g: 0, b: 127.5, a: 0.25 })
  assert.is(toHex(color('color(srgb-linear 0.21586 0.21586 0.21586)')), '#808080')
})

test('OKLab and OKLCH convert to sRGB (CSS Color 4 §9)', () => {
  assert.is(toHex(color('oklch(1 0 0)')), '#ffffff')
  assert.is(toHex(color('oklch(0% 0 0)')), '#000000')
  // sRGB red is oklab(0.62796 0.22486 0.12585) = oklch(0.62796 0.25768 29.2339).
  assert.is(toHex(color('oklab(0.62796 0.22486 0.12585)')), '#ff0000')
  assert.is(toHex(color('oklch(0.62796 0.25768 29.2339deg)')), '#ff0000')
  assert.is(toHex(color('oklch(62.796% 0.25768 29.2339 / 0.5)')), '#ff000080')
  // Out of the sRGB gamut: clipped, never NaN.
  assert.is(toHex(color('oklch(0.9 0.4 140)')).length, 7)
})

test('refuses what it cannot judge', () => {
  for (const bad of ['', 'currentcolor', 'red', 'lab(50 0 0)', 'rgb(1, 2)', '#12', '#12345', '#ggg', 'rgb(a, b, c)', 'color(display-p3 1 0 0)', 'oklch(0.5 0.1)', 'rgb(1, 2, 3, 4, 5)', 'color-mix(in srgb, red, blue)']) {
    assert.is(parseColor(bad), null, bad)
  }
})

test('source-over compositing and group opacity', () => {
  assert.equal(over(color('rgba(0, 0, 0, 0.5)'), WHITE), { r: 127.5, g: 127.5, b: 127.5, a: 1 })
  assert.equal(over(color('#0b5cad'), WHITE), color('#0b5cad'), 'opaque on top hides the bottom')
  assert.equal(over(TRANSPARENT, color('#0b5cad')), color('#0b5cad'), 'transparent on top changes nothing')
  assert.equal(over(TRANSPARENT, TRANSPARENT), TRANSPARENT)
  const halves = over(color('rgba(255, 0, 0, 0.5)'), color('rgba(0, 0, 255, 0.5)'))
  close(halves.a, 0.75, 1e-12)
  close(halves.r, 255 * 0.5 / 0.75, 1e-9)
  close(halves.b, 255 * 0.25 / 0.75, 1e-9)
  // Black text in a 60 % opacity group on white reads as #666.
  assert.is(toHex(over(fade(BLACK, 0.6), WHITE)), '#666666')
  assert.equal(fade(WHITE, 2), WHITE, 'opacity is clamped to 1')
})

test('large text: 24 px, or 18.66 px bold', () => {
  assert.ok(isLargeText(24, 400))
  assert.not.ok(isLargeText(23.9, 400))
  assert.ok(isLargeText(18.66, 700))
  assert.not.ok(isLargeText(18.66, 600))
  assert.not.ok(isLargeText(18.6, 700))
  assert.is(requiredTextRatio(16, 400), 4.5)
  assert.is(requiredTextRatio(19.2, 700), 3)
})

test.run()
