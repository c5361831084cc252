// Burned-in text on synthetic phantoms (issue 15): a patient name, a date and an MRN stamped into
// the pixels where ultrasound machines and screen captures put them, with the boxes as ground
// truth, so the burned-in text detector can be measured (npm run bench:deid).
import { drawText } from './font.ts'
import type { TextBox } from './font.ts'
import { generatePhantom } from './phantom.ts'
import type { PhantomOptions } from './phantom.ts'
import { createRng, deriveSeed } from './prng.ts'

const SURNAMES = ['DOE', 'ROE', 'SMITH', 'NGUYEN', 'GARCIA', 'MILLER', 'OKAFOR', 'KOWALSKI', 'HANSEN', 'MARTIN', 'LEE', 'PATEL']
const GIVEN = ['JANE', 'JOHN', 'MARIA', 'AHMED', 'WEI', 'OLGA', 'PIERRE', 'AMARA', 'LUCA', 'SARA', 'KENJI', 'NOOR']

/** One burned-in string with its kind and where it is. */
export interface BurnedText { kind: 'name' | 'date' | 'mrn', text: string, box: TextBox, /** Indices of its ink pixels. */ ink: Uint32Array }

/** A phantom carrying burned-in text, with the text as ground truth. */
export interface BurnedInPhantom { size: number, pixels: Float32Array, texts: BurnedText[] }

/**
 * Phantom `seed` with a name (SURNAME^GIVEN), a date (YYYY-MM-DD or DD/MM/YYYY) and an MRN
 * (MRN and 7 digits) burned in near three corners, in white or light grey, at a font scale of 2
 * or 3. Deterministic in the seed.
 */
export function burnedInPhantom (seed: number, opts: PhantomOptions = {}): BurnedInPhantom {
  const size = opts.size ?? 256
  const p = generatePhantom(seed, { ...opts, size })
  // Its own stream (label 0xb1), so the phantom under the text is the same as without it.
  const rng = createRng(deriveSeed(seed, 0xb1)).float
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)]
  const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(rng() * 10))).join('')
  const year = 1950 + Math.floor(rng() * 60)
  const month = String(1 + Math.floor(rng() * 12)).padStart(2, '0')
  const day = String(1 + Math.floor(rng() * 28)).padStart(2, '0')
  const strings: Array<{ kind: BurnedText['kind'], text: string }> = [
    { kind: 'name', text: `${pick(SURNAMES)}^${pick(GIVEN)}` },
    { kind: 'date', text: rng() < 0.5 ? `${year}-${month}-${day}` : `${day}/${month}/${year}` },
    { kind: 'mrn', text: `MRN${digits(7)}` }
  ]
  const scale = size >= 256 ? 2 + Math.floor(rng() * 2) : 2
  const margin = Math.max(2, Math.round(size / 64))
  const lineHeight = 7 * scale
  const places = [
    { x: margin, y: margin },
    { x: margin, y: margin + lineHeight + scale * 3 },
    { x: margin, y: size - margin - lineHeight }
  ]
  const value = 0.85 + rng() * 0.15
  const texts = strings.map((s, i) => {
    const alone = new Float32Array(size * size)
    drawText(alone, size, s.text, places[i].x, places[i].y, scale, 1)
    const ink = Uint32Array.from(alone.keys()).filter(k => alone[k] === 1)
    return { ...s, box: drawText(p.pixels, size, s.text, places[i].x, places[i].y, scale, value), ink }
  })
  return { size, pixels: p.pixels, texts }
}
