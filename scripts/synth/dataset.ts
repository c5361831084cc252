// A synthetic data set split across hospitals (issue 4 "Data"): image i gets its own seed derived
// from the set's seed, a hospital (round robin) and that hospital's profile. IID: every hospital
// has the same profile. Non-IID: lesion rate, lesion contrast, intensity gain/offset and noise
// differ per hospital, the kind of shift federated learning has to cope with.
import type { DicomPatient } from '../../node/imaging/dicom/write.ts'
import { checkPhantomOptions, generatePhantom } from './phantom.ts'
import type { Phantom } from './phantom.ts'
import { checkSeed, createRng, deriveSeed } from './prng.ts'
import { InvalidRequestError } from '../../protocol/errors.ts'

/** How one hospital's images look. */
export interface HospitalProfile {
  id: string
  /** Probability that an image has lesions. */
  lesionRate: number
  /** Lesion contrast multiplier. */
  contrast: number
  /** Intensity shift p → gain·p + offset (scanner and protocol differences). */
  gain: number
  offset: number
  /** Quantum-noise photons at full intensity (dose). */
  photons: number
}

/** The IID profile, also the middle of the non-IID range. */
const MIDDLE: Omit<HospitalProfile, 'id'> = { lesionRate: 0.6, contrast: 1, gain: 1, offset: 0, photons: 1000 }

/**
 * Profiles of `n` hospitals. Non-IID spreads them linearly from t = 0 to t = 1: lesion rate
 * 0.85 → 0.25, contrast 1.2 → 0.8, gain 1.1 → 0.9, offset −0.06 → +0.06, photons 1600 → 500.
 */
export function hospitalProfiles (n: number, nonIid: boolean): HospitalProfile[] {
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidRequestError(`hospitals must be an integer in 1..64, got ${n}`)
  return Array.from({ length: n }, (_, k) => {
    const id = `hospital-${k}`
    if (!nonIid) return { id, ...MIDDLE }
    const t = n === 1 ? 0.5 : k / (n - 1)
    const lerp = (a: number, b: number): number => Math.round((a + (b - a) * t) * 1000) / 1000
    return { id, lesionRate: lerp(0.85, 0.25), contrast: lerp(1.2, 0.8), gain: lerp(1.1, 0.9), offset: lerp(-0.06, 0.06), photons: lerp(1600, 500) }
  })
}

/** Options of generateDataset. */
export interface DatasetOptions {
  seed: number
  count: number
  hospitals?: number
  nonIid?: boolean
  size?: number
}

/** One generated image with its place in the set. */
export interface DatasetItem {
  index: number
  /** Stable id, e.g. 'synth-0001'. */
  id: string
  hospital: string
  /** The seed generatePhantom got for this image. */
  seed: number
  phantom: Phantom
  /** Synthetic patient tags for the DICOM file (fake PHI the no-PHI tests look for). */
  patient: DicomPatient
}

/** Zero-padded 1-based number, at least `width` digits. */
export function serial (index: number, width: number): string {
  return String(index + 1).padStart(width, '0')
}

function syntheticPatient (seed: number, number: string): DicomPatient {
  const rng = createRng(seed)
  const date = `${rng.int(1930, 2005)}${String(rng.int(1, 12)).padStart(2, '0')}${String(rng.int(1, 28)).padStart(2, '0')}`
  return { name: `SYNTH^PATIENT^${number}`, id: `SYNTH-${number}`, birthDate: date, sex: rng.chance(0.5) ? 'F' : 'M' }
}

/** Throws INVALID for options generateDataset would refuse, before anything is generated or written. */
export function checkDatasetOptions (opts: DatasetOptions): void {
  checkSeed(opts.seed)
  if (!Number.isInteger(opts.count) || opts.count < 0) throw new InvalidRequestError(`count must be a non-negative integer, got ${opts.count}`)
  hospitalProfiles(opts.hospitals ?? 1, opts.nonIid ?? false)
  checkPhantomOptions(opts.size ?? 256, {})
}

/** Yields the set's images in order; the pixels of image i do not depend on `count`. */
export function * generateDataset (opts: DatasetOptions): Generator<DatasetItem> {
  checkDatasetOptions(opts)
  const profiles = hospitalProfiles(opts.hospitals ?? 1, opts.nonIid ?? false)
  const width = Math.max(4, String(opts.count).length)
  for (let index = 0; index < opts.count; index++) {
    const profile = profiles[index % profiles.length]
    const seed = deriveSeed(opts.seed, index)
    const number = serial(index, width)
    const phantom = generatePhantom(seed, {
      size: opts.size,
      lesionRate: profile.lesionRate,
      contrast: profile.contrast,
      gain: profile.gain,
      offset: profile.offset,
      photons: profile.photons
    })
    yield { index, id: `synth-${number}`, hospital: profile.id, seed, phantom, patient: syntheticPatient(deriveSeed(seed, 9), number) }
  }
}
