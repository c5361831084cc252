// The phantom generator in memory: seeded determinism, masks that agree with boxes and lesion
// records, independent streams (a lesion changes only its own pixels), and the non-IID split
// whose per-hospital statistics must differ while the IID split's profiles are identical.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateDataset, hospitalProfiles } from '../../scripts/synth/dataset.ts'
import { generatePhantom, MAX_LESIONS } from '../../scripts/synth/phantom.ts'
import type { Phantom } from '../../scripts/synth/phantom.ts'
import { createRng, deriveSeed } from '../../scripts/synth/prng.ts'
import { throwsCode } from '../helpers/assert.ts'

function same (a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

test('the PRNG is a pure function of its seed, and seeds give different streams', () => {
  const draw = (seed: number): number[] => { const r = createRng(seed); return Array.from({ length: 64 }, () => r.u32()) }
  assert.equal(draw(42), draw(42))
  assert.not.equal(draw(42), draw(43))
  assert.not.equal(draw(0), draw(2 ** 32), 'the high half of a 53-bit seed counts')
  assert.is.not(deriveSeed(5, 1), deriveSeed(5, 2))
  assert.is.not(deriveSeed(5, 1, 2), deriveSeed(5, 2, 1))
  const r = createRng(7)
  let sum = 0; let sq = 0
  const n = 20000
  for (let i = 0; i < n; i++) { const z = r.normal(); sum += z; sq += z * z }
  assert.ok(Math.abs(sum / n) < 0.03, 'normal mean ≈ 0')
  assert.ok(Math.abs(sq / n - 1) < 0.05, 'normal variance ≈ 1')
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) throwsCode(() => createRng(bad), 'INVALID')
})

test('same seed → identical phantom; different seeds → different phantoms', () => {
  const a = generatePhantom(1234)
  const b = generatePhantom(1234)
  assert.ok(same(a.pixels, b.pixels))
  assert.ok(same(a.mask, b.mask))
  assert.equal(a.boxes, b.boxes)
  assert.equal(a.lesions, b.lesions)
  const c = generatePhantom(1235)
  assert.not.ok(same(a.pixels, c.pixels))
  assert.is(a.size, 256)
  assert.is(a.pixels.length, 256 * 256)
  assert.ok(a.pixels.every(v => v >= 0 && v <= 1), 'intensities stay in [0, 1]')
})

/** Every mask pixel lies in a box, each box is tight around its lesion, and counts agree. */
function checkGroundTruth (p: Phantom): void {
  assert.is(p.boxes.length, p.lesions.length)
  const { size, mask } = p
  const inBox = (x: number, y: number): boolean => p.boxes.some(b => x >= b.x && x < b.x + b.width && y >= b.y && y < b.y + b.height)
  let maskPixels = 0
  for (let i = 0; i < mask.length; i++) {
    assert.ok(mask[i] === 0 || mask[i] === 1)
    if (mask[i] === 1) { maskPixels++; assert.ok(inBox(i % size, Math.floor(i / size)), 'mask pixel outside every box') }
  }
  assert.is(maskPixels === 0, p.lesions.length === 0)
  p.boxes.forEach((b, k) => {
    const l = p.lesions[k]
    assert.ok(l.cx >= b.x && l.cx <= b.x + b.width && l.cy >= b.y && l.cy <= b.y + b.height, 'lesion centre inside its box')
    const row = (y: number): boolean => Array.from({ length: b.width }, (_, dx) => mask[y * size + b.x + dx]).some(v => v === 1)
    const col = (x: number): boolean => Array.from({ length: b.height }, (_, dy) => mask[(b.y + dy) * size + x]).some(v => v === 1)
    assert.ok(row(b.y) && row(b.y + b.height - 1) && col(b.x) && col(b.x + b.width - 1), 'box is tight: every edge touches the mask')
    assert.ok(l.radius >= 4 && l.radius <= 20, `radius ${l.radius} in 4..20 px`)
    assert.ok(Math.abs(l.contrast) >= 0.05 && Math.abs(l.contrast) <= 0.45, `contrast ${l.contrast}`)
  })
}

test('lesion masks match boxes and lesion records, for 0–3 lesions and many seeds', () => {
  const counts = new Set<number>()
  let bright = 0; let dark = 0
  for (let seed = 0; seed < 24; seed++) {
    const p = generatePhantom(seed, { lesionCount: seed % (MAX_LESIONS + 1) })
    checkGroundTruth(p)
    counts.add(p.lesions.length)
    for (const l of p.lesions) { if (l.contrast > 0) bright++; else dark++ }
  }
  assert.equal([...counts].sort(), [0, 1, 2, 3])
  assert.ok(bright > 0 && dark > 0, 'both bright and dark lesions occur')
})

test('a lesion changes only pixels near it: anatomy and noise streams are independent of lesions', () => {
  const clean = generatePhantom(77, { lesionCount: 0 })
  const sick = generatePhantom(77, { lesionCount: 1 })
  assert.is(sick.lesions.length, 1)
  const b = sick.boxes[0]
  const margin = 12
  let changedFar = 0; let changedInside = 0
  for (let i = 0; i < clean.pixels.length; i++) {
    const x = i % 256; const y = Math.floor(i / 256)
    const near = x >= b.x - margin && x < b.x + b.width + margin && y >= b.y - margin && y < b.y + b.height + margin
    const diff = Math.abs(clean.pixels[i] - sick.pixels[i])
    if (!near && diff > 1e-6) changedFar++
    if (sick.mask[i] === 1 && diff > 0.03) changedInside++
  }
  assert.is(changedFar, 0)
  assert.ok(changedInside > 0.5 * sick.mask.reduce((s, v) => s + v, 0), 'most lesion pixels differ clearly from the lesion-free image')
})

test('size scales the geometry; options are validated', () => {
  const p = generatePhantom(3, { size: 128, lesionCount: 2 })
  assert.is(p.pixels.length, 128 * 128)
  checkGroundTruth({ ...p, lesions: p.lesions.map(l => ({ ...l, radius: l.radius * 2 })) })
  throwsCode(() => generatePhantom(1, { size: 16 }), 'INVALID')
  throwsCode(() => generatePhantom(1, { size: 100.5 }), 'INVALID')
  throwsCode(() => generatePhantom(1, { lesionCount: 4 }), 'INVALID')
  throwsCode(() => generatePhantom(1, { lesionRate: 1.5 }), 'INVALID')
  throwsCode(() => hospitalProfiles(0, true), 'INVALID')
  throwsCode(() => generateDataset({ seed: 1, count: -1 }).next(), 'INVALID')
})

test('non-IID split: lesion rate, intensity and noise differ per hospital; IID profiles are equal', () => {
  const stats = new Map<string, { n: number, withLesions: number, mean: number }>()
  for (const item of generateDataset({ seed: 5, count: 72, hospitals: 3, nonIid: true, size: 64 })) {
    const s = stats.get(item.hospital) ?? { n: 0, withLesions: 0, mean: 0 }
    s.n++
    if (item.phantom.lesions.length > 0) s.withLesions++
    s.mean += item.phantom.pixels.reduce((a, v) => a + v, 0) / item.phantom.pixels.length
    stats.set(item.hospital, s)
  }
  const [h0, h1, h2] = ['hospital-0', 'hospital-1', 'hospital-2'].map(id => {
    const s = stats.get(id)
    assert.ok(s !== undefined && s.n === 24, `${id} got its 24 images round robin`)
    return { rate: s.withLesions / s.n, mean: s.mean / s.n }
  })
  assert.ok(h0.rate - h2.rate > 0.3, `lesion rates differ: ${h0.rate} vs ${h2.rate}`)
  assert.ok(h1.rate > h2.rate && h1.rate < h0.rate + 0.1, `middle hospital in between: ${h1.rate}`)
  assert.ok(h2.mean - h0.mean > 0.03, `mean intensities differ: ${h0.mean} vs ${h2.mean}`)
  const iid = hospitalProfiles(3, false)
  assert.equal(iid.map(p => ({ ...p, id: '' })), Array(3).fill({ ...iid[0], id: '' }))
  const nonIid = hospitalProfiles(3, true)
  assert.ok(new Set(nonIid.map(p => p.lesionRate)).size === 3 && new Set(nonIid.map(p => p.gain)).size === 3)
})

test('image i of a set is the same whatever the count, and carries synthetic patient tags', () => {
  const small = [...generateDataset({ seed: 9, count: 3, size: 64 })]
  const large = [...generateDataset({ seed: 9, count: 10, size: 64 })]
  for (let i = 0; i < 3; i++) assert.ok(same(small[i].phantom.pixels, large[i].phantom.pixels))
  assert.is(small[0].id, 'synth-0001')
  assert.is(small[0].patient.name, 'SYNTH^PATIENT^0001')
  assert.match(small[0].patient.birthDate, /^(19|20)\d\d(0[1-9]|1[0-2])(0[1-9]|1\d|2[0-8])$/)
})

test.run()
