// Reading a DICOM file for decoding without its Pixel Data past the first frame (node/imaging/dicom/file.ts):
// whatever the file (valid, multi-frame, implicit VR, with attributes after Pixel Data, truncated,
// mutated), loadImage, the card preview and the catalogue header read from it agree with the whole
// file, pixel for pixel or code for code; and a large multi-frame file is indeed read in part.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { deflateRawSync } from 'node:zlib'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { MedichainError } from '../../../protocol/errors.ts'
import { TS } from '../../../node/imaging/constants.ts'
import { readInstanceHeader, readInstanceHeaderFile } from '../../../node/dicom/catalogue/instance-header.ts'
import { dicomCardFields } from '../../../node/imaging/dicom/card.ts'
import { readDicomHead, readImageFile } from '../../../node/imaging/dicom/file.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import type { DicomWriteInit } from '../../../node/imaging/dicom/write.ts'
import { loadImage } from '../../../node/imaging/load.ts'
import { createRng } from '../../../scripts/synth/prng.ts'
import { cleanup, tempDir } from '../../helpers/ledger/fixture.ts'

test.after.each(cleanup)

const UIDS = { sopInstanceUid: '2.25.11', studyInstanceUid: '2.25.12', seriesInstanceUid: '2.25.13' }
const STUDY = { date: '20261207', time: '101500', description: 'SPLICE STUDY', seriesDescription: 'SPLICE SERIES' }
/** Splice even small files, and start from a prefix shorter than their attributes. */
const SMALL = { wholeBelow: 0, firstRead: 200 }

function dicom (init: Partial<DicomWriteInit> = {}): Uint8Array {
  const frames = init.frames ?? 6
  const rows = init.rows ?? 16
  const columns = init.columns ?? 16
  const pixels = Uint16Array.from({ length: rows * columns * frames }, (_, i) => (i * 37) & 0x0fff)
  return encodeDicom({ rows, columns, bitsAllocated: 16, bitsStored: 12, pixels, frames, modality: 'CT', study: STUDY, ...UIDS, ...init })
}

/** An explicit VR little endian element (a 4-byte length for OB/UN, else 2). */
function element (group: number, elem: number, vr: string, value: Uint8Array): Uint8Array {
  const long = vr === 'OB' || vr === 'UN'
  const out = new Uint8Array((long ? 12 : 8) + value.length)
  const v = new DataView(out.buffer)
  v.setUint16(0, group, true)
  v.setUint16(2, elem, true)
  out[4] = vr.charCodeAt(0)
  out[5] = vr.charCodeAt(1)
  if (long) v.setUint32(8, value.length, true)
  else v.setUint16(6, value.length, true)
  out.set(value, long ? 12 : 8)
  return out
}

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/** What loadImage makes of `bytes` with its card preview: the image and card, or the error code. */
function outcome (bytes: Uint8Array): unknown {
  try {
    const image = loadImage(bytes)
    let card: unknown
    try { card = dicomCardFields(bytes) } catch (err) { card = (err as MedichainError).code }
    return { ...image, pixels: Array.from(image.pixels), card }
  } catch (err) {
    if (err instanceof MedichainError) return err.code
    throw new Error(`untyped: ${String(err)}`)
  }
}

/** The catalogue header, or what readInstanceHeader throws (dicom-parser's own throws included: they must agree too). */
function headerOutcome (bytes: Uint8Array): unknown {
  try {
    return readInstanceHeader(bytes)
  } catch (err) {
    return err instanceof MedichainError ? err.code : `untyped: ${String(err)}`
  }
}

let dir = ''
let n = 0
/** Asserts the file read in part decodes, previews and catalogues as the whole; returns the bytes read. */
async function agrees (bytes: Uint8Array, what: string): Promise<Uint8Array> {
  dir ||= await tempDir('medichain-dicom-file-')
  const path = join(dir, `f${n++}.dcm`)
  await writeFile(path, bytes)
  const read = await readImageFile(path, SMALL)
  assert.equal(outcome(read), outcome(bytes), `${what}: decode`)
  assert.equal(headerOutcome(await readDicomHead(path, SMALL)), headerOutcome(bytes), `${what}: catalogue header`)
  return read
}

test.before.each(() => { dir = '' })

test('a multi-frame file is read as attributes plus its first frame, and decodes as the whole file', async () => {
  for (const init of [{}, { transferSyntax: 'implicit' as const }, { frames: 1 }, { bitsAllocated: 8 as const, bitsStored: 8, pixels: new Uint8Array(16 * 16 * 6).fill(9), photometric: 'MONOCHROME1' as const }]) {
    const file = dicom(init)
    const read = await agrees(file, JSON.stringify(Object.keys(init)))
    const frame = 16 * 16 * ((init.bitsAllocated ?? 16) / 8)
    const frames = init.frames ?? 6
    assert.is(read.length, file.length - (frames - 1) * frame, 'every frame after the first is left unread')
  }
  // The real size: 105 MB of frames, about half a megabyte read (default options).
  const big = dicom({ rows: 512, columns: 512, frames: 20, pixels: new Uint16Array(512 * 512 * 20) })
  dir = await tempDir('medichain-dicom-file-')
  const path = join(dir, 'big.dcm')
  await writeFile(path, big)
  const read = await readImageFile(path)
  assert.ok(read.length < 600_000, `read ${read.length} of ${big.length} bytes`)
  assert.equal(outcome(read), outcome(big))
})

test('attributes after Pixel Data are read and parsed; one that changes the frame makes the file read whole', async () => {
  const file = dicom()
  // Data Set Trailing Padding (FFFC,FFFC), PS3.10 §7.2.
  await agrees(concat(file, element(0xfffc, 0xfffc, 'OB', new Uint8Array(64))), 'trailing padding')
  // Rows again after Pixel Data: a full parse takes the later value, so the first frame differs.
  const rows = new Uint8Array(2)
  new DataView(rows.buffer).setUint16(0, 8, true)
  const overridden = concat(file, element(0x0028, 0x0010, 'US', rows))
  const read = await agrees(overridden, 'rows overridden')
  assert.is(read.length, overridden.length, 'read whole')
  // Garbage after Pixel Data, and an element that runs past the end.
  await agrees(concat(file, Uint8Array.of(1, 2, 3, 4, 5, 6, 7)), 'garbage after')
  await agrees(concat(file, element(0xfffc, 0xfffc, 'OB', new Uint8Array(64)).subarray(0, 40)), 'cut trailing element')
})

test('Pixel Data that is short, runs past the end or lies about its length gives the whole file\'s verdict', async () => {
  const file = dicom()
  const pixelLength = 16 * 16 * 2 * 6
  const at = file.length - pixelLength - 4
  assert.is(new DataView(file.buffer, file.byteOffset).getUint32(at, true), pixelLength, 'the length field is where the test expects it')
  for (const length of [0, 2, 511, 512, pixelLength - 2, pixelLength + 2, pixelLength * 4, 0xfffffffe]) {
    const lying = file.slice()
    new DataView(lying.buffer).setUint32(at, length, true)
    await agrees(lying, `Pixel Data length ${length}`)
  }
  for (const cut of [133, 400, at, at + 4, at + 100, at + 512, at + 513, file.length - 1]) await agrees(file.subarray(0, cut), `cut at ${cut}`)
})

test('fuzz: 400 seeded mutations read in part agree with the whole file', async () => {
  const rng = createRng(4114)
  const sources = [dicom(), dicom({ transferSyntax: 'implicit' }), concat(dicom(), element(0xfffc, 0xfffc, 'OB', new Uint8Array(8)))]
  for (let k = 0; k < 400; k++) {
    const source = sources[k % sources.length]
    const bytes = source.slice()
    const flips = 1 + rng.int(0, 5)
    // Mutations within the attributes and the first frame, where the reads differ.
    for (let f = 0; f < flips; f++) bytes[132 + rng.int(0, Math.min(bytes.length, 1400) - 133)] = rng.u32() & 0xff
    await agrees(rng.chance(0.2) ? bytes.subarray(0, rng.int(132, bytes.length)) : bytes, `mutation ${k}`)
  }
})

test('not DICOM, or a deflated data set: read whole', async () => {
  dir = await tempDir('medichain-dicom-file-')
  const path = join(dir, 'x.bin')
  const bytes = new Uint8Array(5000).fill(7)
  await writeFile(path, bytes)
  assert.equal(await readImageFile(path, SMALL), bytes)
  assert.equal(await readDicomHead(path, SMALL), bytes)
  // A deflated data set (PS3.5 §A.5) built from an explicit one: same meta group but the UID.
  const plain = dicom()
  const shell = dicom({ encapsulated: { transferSyntaxUid: TS.deflatedExplicitLittle, frames: [] } })
  const metaEnd = (file: Uint8Array): number => 132 + 12 + new DataView(file.buffer, file.byteOffset).getUint32(140, true)
  const deflated = concat(shell.subarray(0, metaEnd(shell)), deflateRawSync(plain.subarray(metaEnd(plain))))
  const read = await agrees(deflated, 'deflated')
  assert.equal(read, deflated)
  assert.ok(loadImage(read).width === 16, 'the deflated file decodes')
})

test('readInstanceHeaderFile reads the catalogue attributes from the head of a large file', async () => {
  dir = await tempDir('medichain-dicom-file-')
  const path = join(dir, 'big.dcm')
  const big = dicom({ rows: 512, columns: 512, frames: 20, pixels: new Uint16Array(512 * 512 * 20) })
  await writeFile(path, big)
  assert.equal(await readInstanceHeaderFile(path), readInstanceHeader(big))
  assert.ok((await readDicomHead(path)).length < 100_000)
})

test.run()
