// Colour contrast maths of WCAG 2.2 (relative luminance, contrast ratio, large text) and the CSS
// colour parsing and alpha compositing needed to apply it to computed styles. Pure and DOM-free:
// the accessibility audit (test/e2e/a11y.ts) bundles it into the page it checks.
// WCAG 2.2: https://www.w3.org/TR/WCAG22/#dfn-relative-luminance, #dfn-contrast-ratio, #dfn-large-scale.

/** A colour in sRGB: channels 0–255 (not rounded), alpha 0–1, not premultiplied. */
export interface Rgba { r: number, g: number, b: number, a: number }

/** Opaque white: what an unpainted page shows under `color-scheme: light` (CSS Color Adjust §2). */
export const WHITE: Rgba = { r: 255, g: 255, b: 255, a: 1 }

/** Nothing painted. */
export const TRANSPARENT: Rgba = { r: 0, g: 0, b: 0, a: 0 }

/** Least contrast of normal text (WCAG 2.2 SC 1.4.3, AA). */
export const MIN_TEXT = 4.5

/** Least contrast of large-scale text (WCAG 2.2 SC 1.4.3, AA). */
export const MIN_LARGE_TEXT = 3

/** Least contrast of UI component boundaries and focus indicators (WCAG 2.2 SC 1.4.11, SC 2.4.13). */
export const MIN_NON_TEXT = 3

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x))

/** One number of a CSS colour function: plain, percentage (of `full`), or `none` (0). */
function component (text: string, full: number): number {
  if (text === 'none') return 0
  const n = Number.parseFloat(text)
  if (!Number.isFinite(n)) return Number.NaN
  return text.endsWith('%') ? n / 100 * full : n
}

/** Alpha of a CSS colour function: 0–1 or a percentage; absent is 1. */
function alpha (text: string | undefined): number {
  return text === undefined ? 1 : clamp(component(text, 1), 0, 1)
}

/** sRGB transfer function, linear → gamma-encoded 0–255 (IEC 61966-2-1; CSS Color 4 §10.2). */
function encode (linear: number): number {
  const c = clamp(linear, 0, 1)
  return 255 * (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055)
}

/** OKLab to sRGB, clipped to the sRGB gamut (CSS Color 4 §9.2, Ottosson's matrices). */
function fromOklab (l: number, a: number, b: number, alphaValue: number): Rgba {
  const l3 = (l + 0.3963377774 * a + 0.2158037573 * b) ** 3
  const m3 = (l - 0.1055613458 * a - 0.0638541728 * b) ** 3
  const s3 = (l - 0.0894841775 * a - 1.2914855480 * b) ** 3
  return {
    r: encode(4.0767416621 * l3 - 3.3077115913 * m3 + 0.2309699292 * s3),
    g: encode(-1.2684380046 * l3 + 2.6097574011 * m3 - 0.3413193965 * s3),
    b: encode(-0.0041960863 * l3 - 0.7034186147 * m3 + 1.7076147010 * s3),
    a: alphaValue
  }
}

function fromHex (hex: string): Rgba | null {
  if (!/^[0-9a-f]+$/i.test(hex) || ![3, 4, 6, 8].includes(hex.length)) return null
  const digits = hex.length <= 4 ? [...hex].map(d => d + d) : hex.match(/../g) ?? []
  const [r, g, b, a] = digits.map(d => Number.parseInt(d, 16))
  return { r, g, b, a: a === undefined ? 1 : a / 255 }
}

/**
 * Parses the colours computed styles give (CSS Color 4): `#rgb[a]`, `#rrggbb[aa]`, `rgb()`/`rgba()`
 * with commas or spaces, `color(srgb|srgb-linear …)`, `oklab()`, `oklch()`, `transparent`, `black`
 * and `white`. Anything else (other named colours, `lab()`, `color-mix()`, `currentcolor`) is null:
 * the caller cannot judge it.
 */
export function parseColor (text: string): Rgba | null {
  const s = text.trim().toLowerCase()
  if (s === 'transparent') return TRANSPARENT
  if (s === 'black') return { r: 0, g: 0, b: 0, a: 1 }
  if (s === 'white') return WHITE
  if (s.startsWith('#')) return fromHex(s.slice(1))
  const fn = /^([a-z-]+)\(([^()]*)\)$/.exec(s)
  if (fn === null) return null
  const [body, alphaText] = fn[2].split('/').map(p => p.trim())
  const parts = body.split(/[\s,]+/).filter(p => p !== '')
  const a = alpha(alphaText)
  let out: Rgba | null = null
  if ((fn[1] === 'rgb' || fn[1] === 'rgba') && (parts.length === 3 || parts.length === 4)) {
    const [r, g, b] = parts.slice(0, 3).map(p => clamp(component(p, 255), 0, 255))
    // Legacy rgba(r, g, b, a) carries alpha as a fourth comma-separated value.
    out = { r, g, b, a: parts.length === 4 ? alpha(parts[3]) : a }
  } else if (fn[1] === 'color' && parts.length === 4 && (parts[0] === 'srgb' || parts[0] === 'srgb-linear')) {
    const [r, g, b] = parts.slice(1).map(p => component(p, 1))
    out = parts[0] === 'srgb' ? { r: clamp(r, 0, 1) * 255, g: clamp(g, 0, 1) * 255, b: clamp(b, 0, 1) * 255, a } : { r: encode(r), g: encode(g), b: encode(b), a }
  } else if (fn[1] === 'oklab' && parts.length === 3) {
    out = fromOklab(component(parts[0], 1), component(parts[1], 0.4), component(parts[2], 0.4), a)
  } else if (fn[1] === 'oklch' && parts.length === 3) {
    const h = component(parts[2].replace(/deg$/, ''), 360) * Math.PI / 180
    const c = component(parts[1], 0.4)
    out = fromOklab(component(parts[0], 1), c * Math.cos(h), c * Math.sin(h), a)
  }
  if (out === null || [out.r, out.g, out.b, out.a].some(x => !Number.isFinite(x))) return null
  return out
}

/** WCAG 2.2 relative luminance of the colour's sRGB channels (alpha ignored: composite first). */
export function relativeLuminance (c: Rgba): number {
  const lin = (v: number): number => {
    const x = v / 255
    return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b)
}

/** WCAG 2.2 contrast ratio (L1 + 0.05) / (L2 + 0.05), from 1 to 21, whichever colour is lighter. */
export function contrastRatio (x: Rgba, y: Rgba): number {
  const [hi, lo] = [relativeLuminance(x), relativeLuminance(y)].sort((p, q) => q - p)
  return (hi + 0.05) / (lo + 0.05)
}

/**
 * `top` painted over `bottom` with simple alpha compositing, source-over, in gamma-encoded sRGB as
 * browsers do (W3C Compositing and Blending 1, §5.1).
 */
export function over (top: Rgba, bottom: Rgba): Rgba {
  const a = top.a + bottom.a * (1 - top.a)
  if (a === 0) return TRANSPARENT
  const mix = (t: number, b: number): number => (t * top.a + b * bottom.a * (1 - top.a)) / a
  return { r: mix(top.r, bottom.r), g: mix(top.g, bottom.g), b: mix(top.b, bottom.b), a }
}

/** The colour with its alpha multiplied by `opacity` (a group with CSS `opacity`, Compositing 1 §3.3). */
export function fade (c: Rgba, opacity: number): Rgba {
  return { ...c, a: c.a * clamp(opacity, 0, 1) }
}

/** WCAG 2.2 "large scale" text: at least 18 pt (24 px), or 14 pt (18.66 px) and bold (700 or more). */
export function isLargeText (fontSizePx: number, fontWeight: number): boolean {
  return fontSizePx >= 24 || (fontSizePx >= 18.66 && fontWeight >= 700)
}

/** The least contrast SC 1.4.3 asks of text of this size and weight. */
export function requiredTextRatio (fontSizePx: number, fontWeight: number): number {
  return isLargeText(fontSizePx, fontWeight) ? MIN_LARGE_TEXT : MIN_TEXT
}

/** `#rrggbb` (or `#rrggbbaa` when not opaque), for reports. */
export function toHex (c: Rgba): string {
  const h = (v: number): string => Math.round(clamp(v, 0, 255)).toString(16).padStart(2, '0')
  return `#${h(c.r)}${h(c.g)}${h(c.b)}${c.a < 1 ? h(c.a * 255) : ''}`
}
