// Writes a generated data set to a folder: per image an 8-bit PNG, a mask PNG (0/255), a 16-bit
// DICOM (CT-like: 12 stored bits, rescale intercept −1024, with synthetic patient tags) and
// optionally a JPEG, plus manifest.json. No clock or random state leaks into the bytes: the same
// options always give identical files.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeDicom } from '../../node/imaging/dicom/write.ts'
import { encodeJpeg, encodePng, toUint16, toUint8 } from '../../node/imaging/raster/encode.ts'
import { checkDatasetOptions, generateDataset, hospitalProfiles } from './dataset.ts'
import type { DatasetItem, DatasetOptions, HospitalProfile } from './dataset.ts'
import type { Box, Lesion } from './phantom.ts'
import { createRng, deriveSeed } from './prng.ts'

/** Options of writeDataset: the data set's plus where and which formats. */
export interface WriteOptions extends DatasetOptions {
  out: string
  jpeg?: boolean
}

/** One image's entry in manifest.json; file paths are relative to the manifest. */
export interface ManifestImage {
  id: string
  hospital: string
  seed: number
  lesionCount: number
  boxes: Box[]
  lesions: Lesion[]
  files: { png: string, mask: string, dicom: string, jpeg?: string }
  /** The synthetic patient tags inside the DICOM file (fake, for no-PHI tests). */
  patient: { name: string, id: string, birthDate: string }
}

/** manifest.json. */
export interface Manifest {
  generator: 'medichain-synth'
  version: 1
  seed: number
  count: number
  size: number
  nonIid: boolean
  hospitals: HospitalProfile[]
  images: ManifestImage[]
}

/** DICOM encoding of the phantoms: 12 stored bits in 16, CT-like rescale (PS3.3 §C.11.1). */
export const DICOM_BITS_STORED = 12
export const DICOM_RESCALE = { slope: 1, intercept: -1024 } as const

/** A 2.25 UID from a version-4 UUID built from the seeded stream (PS3.5 §B.2, RFC 9562 §5.4). */
function uid (seed: number): string {
  const rng = createRng(seed)
  const bytes = Array.from({ length: 16 }, () => rng.u32() & 0xff)
  bytes[6] = (bytes[6] & 0x0f) | 0x40
  bytes[8] = (bytes[8] & 0x3f) | 0x80
  return `2.25.${BigInt('0x' + bytes.map(b => b.toString(16).padStart(2, '0')).join('')).toString()}`
}

/** The DICOM file of one item. */
export function itemDicom (item: DatasetItem): Uint8Array {
  const { phantom } = item
  const max = 2 ** DICOM_BITS_STORED - 1
  return encodeDicom({
    rows: phantom.size,
    columns: phantom.size,
    bitsAllocated: 16,
    bitsStored: DICOM_BITS_STORED,
    pixels: toUint16(phantom.pixels, DICOM_BITS_STORED),
    modality: 'CT',
    rescale: DICOM_RESCALE,
    // A soft-tissue-ish window: stored 0.45·max ± 0.35·max, in Hounsfield-like units.
    window: { center: Math.round(0.45 * max) + DICOM_RESCALE.intercept, width: Math.round(0.7 * max) },
    sopInstanceUid: uid(deriveSeed(item.seed, 10)),
    studyInstanceUid: uid(deriveSeed(item.seed, 11)),
    seriesInstanceUid: uid(deriveSeed(item.seed, 12)),
    patient: item.patient
  })
}

async function writeItem (item: DatasetItem, out: string, jpeg: boolean): Promise<ManifestImage> {
  const { phantom } = item
  const gray = toUint8(phantom.pixels)
  const files: ManifestImage['files'] = { png: `images/${item.id}.png`, mask: `masks/${item.id}.png`, dicom: `dicom/${item.id}.dcm` }
  await writeFile(join(out, files.png), encodePng(gray, phantom.size, phantom.size))
  await writeFile(join(out, files.mask), encodePng(phantom.mask.map(v => v * 255), phantom.size, phantom.size))
  await writeFile(join(out, files.dicom), itemDicom(item))
  if (jpeg) {
    files.jpeg = `jpeg/${item.id}.jpg`
    await writeFile(join(out, files.jpeg), encodeJpeg(gray, phantom.size, phantom.size))
  }
  return {
    id: item.id,
    hospital: item.hospital,
    seed: item.seed,
    lesionCount: phantom.lesions.length,
    boxes: phantom.boxes,
    lesions: phantom.lesions,
    files,
    patient: { name: item.patient.name, id: item.patient.id, birthDate: item.patient.birthDate }
  }
}

/** Generates the set and writes it under `opts.out` (created if missing); returns the manifest. */
export async function writeDataset (opts: WriteOptions): Promise<Manifest> {
  checkDatasetOptions(opts)
  const dirs = ['images', 'masks', 'dicom', ...(opts.jpeg === true ? ['jpeg'] : [])]
  for (const d of dirs) await mkdir(join(opts.out, d), { recursive: true })
  const images: ManifestImage[] = []
  for (const item of generateDataset(opts)) images.push(await writeItem(item, opts.out, opts.jpeg === true))
  const manifest: Manifest = {
    generator: 'medichain-synth',
    version: 1,
    seed: opts.seed,
    count: opts.count,
    size: opts.size ?? 256,
    nonIid: opts.nonIid ?? false,
    hospitals: hospitalProfiles(opts.hospitals ?? 1, opts.nonIid ?? false),
    images
  }
  await writeFile(join(opts.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
  return manifest
}
