// Compressed DICOM: dcmtk encodes (dcmcjpeg, dcmcjpls, img2dcm), our codecs decode. Lossless
// syntaxes give back exactly the pixels of the uncompressed original; a baseline frame is close;
// a stream that contradicts its header or does not decode is CORRUPT_IMAGE, never a crash.
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import dicomParser from 'dicom-parser'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TS } from '../../../node/imaging/constants.ts'
import { loadCodecs } from '../../../node/imaging/dicom/codecs.ts'
import { decodeStoredFrame } from '../../../node/imaging/dicom/decode.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import type { DicomWriteInit } from '../../../node/imaging/dicom/write.ts'
import { readImageFile } from '../../../node/imaging/dicom/file.ts'
import { dicomSummary, loadImage } from '../../../node/imaging/load.ts'
import jpeg from 'jpeg-js'
import { throwsCode } from '../../helpers/assert.ts'
import { codecsPresent } from '../../helpers/imaging/codecs.ts'

const UIDS = { sopInstanceUid: '2.25.11', studyInstanceUid: '2.25.12', seriesInstanceUid: '2.25.13' }
const dcmtk = spawnSync('dcmcjpls', ['--version'], { encoding: 'utf8' }).status === 0
const codecs = await codecsPresent('imaging-dicom-compressed')

function dicom (init: Partial<DicomWriteInit> & Pick<DicomWriteInit, 'pixels' | 'bitsAllocated'>): Uint8Array {
  return encodeDicom({ rows: 48, columns: 64, ...UIDS, ...init })
}

function run (cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0) assert.unreachable(`${cmd} ${args.join(' ')} failed: ${r.stderr}`)
}

let dir = ''
test.before(async () => { await loadCodecs() })
test.before.each(async () => { dir = await mkdtemp(join(tmpdir(), 'medichain-jpeg-')) })
test.after.each(async () => { await rm(dir, { recursive: true, force: true }) })

/** The original and its compressed copy made by `tool args`. */
async function compressed (init: Parameters<typeof dicom>[0], tool: string, args: string[] = []): Promise<{ original: Uint8Array, packed: Uint8Array }> {
  const original = dicom(init)
  await writeFile(join(dir, 'src.dcm'), original)
  run(tool, [...args, join(dir, 'src.dcm'), join(dir, 'out.dcm')])
  return { original, packed: await readFile(join(dir, 'out.dcm')) }
}

const ramp16 = Uint16Array.from({ length: 64 * 48 }, (_, i) => (i * 37) % 4096)
const ramp8 = Uint8Array.from({ length: 64 * 48 }, (_, i) => 30 + (i % 64) + (i >> 6))
const signed = Int16Array.from({ length: 64 * 48 }, (_, i) => ((i * 53) % 4000) - 2000)

if (dcmtk && codecs) {
  test('JPEG Lossless SV1 and JPEG-LS lossless decode to exactly the original pixels (8-, 12-bit, signed)', async () => {
    const cases: Array<Parameters<typeof dicom>[0]> = [
      { bitsAllocated: 16, bitsStored: 12, pixels: ramp16, rescale: { slope: 1, intercept: -1024 }, window: { center: 40, width: 400 } },
      { bitsAllocated: 8, pixels: ramp8 },
      { bitsAllocated: 16, bitsStored: 16, pixels: signed }
    ]
    for (const init of cases) {
      for (const [tool, ts] of [['dcmcjpeg', TS.jpegLosslessSV1], ['dcmcjpls', TS.jpegLsLossless]] as const) {
        const { original, packed } = await compressed(init, tool)
        assert.is(dicomSummary(packed).transferSyntax, ts)
        const ours = loadImage(packed)
        const reference = loadImage(original)
        assert.equal([ours.width, ours.height, ours.bitsStored], [64, 48, reference.bitsStored])
        assert.equal(Array.from(ours.pixels), Array.from(reference.pixels), `${tool} ${init.bitsAllocated}-bit`)
        assert.equal(ours.window, reference.window)
      }
    }
  })

  test('JPEG Lossless process 14 (.57, +el) and JPEG-LS near-lossless (.81) decode', async () => {
    const p14 = await compressed({ bitsAllocated: 16, bitsStored: 12, pixels: ramp16 }, 'dcmcjpeg', ['+el'])
    assert.is(dicomSummary(p14.packed).transferSyntax, TS.jpegLosslessP14)
    assert.equal(Array.from(loadImage(p14.packed).pixels), Array.from(loadImage(p14.original).pixels))
    const near = await compressed({ bitsAllocated: 16, bitsStored: 12, pixels: ramp16 }, 'dcmcjpls', ['+en', '+md', '2'])
    assert.is(dicomSummary(near.packed).transferSyntax, TS.jpegLsNearLossless)
    const a = loadImage(near.packed).pixels
    const b = loadImage(near.original).pixels
    a.forEach((v, i) => { if (Math.abs(v - b[i]) > 2 / 4095 + 1e-6) assert.unreachable(`pixel ${i} off by more than the near-lossless bound`) })
  })

  test('JPEG Baseline 8-bit: gray (dcmcjpeg +eb) and YBR colour (img2dcm) decode close to the original', async () => {
    const { original, packed } = await compressed({ bitsAllocated: 8, pixels: ramp8 }, 'dcmcjpeg', ['+eb', '+q', '95', '+sr'])
    assert.is(dicomSummary(packed).transferSyntax, TS.jpegBaseline)
    const ours = loadImage(packed)
    const reference = loadImage(original).pixels
    ours.pixels.forEach((v, i) => { if (Math.abs(v - reference[i]) > 6 / 255) assert.unreachable(`pixel ${i}: ${v} vs ${reference[i]}`) })
    // A colour JPEG wrapped by img2dcm: YBR_FULL_422 in the file, gray in [0, 1] once decoded.
    const gray = Uint8Array.from({ length: 32 * 16 }, (_, i) => (i % 32) * 8)
    const rgba = new Uint8Array(32 * 16 * 4)
    gray.forEach((g, i) => rgba.set([g, g, g, 255], i * 4))
    await writeFile(join(dir, 'c.jpg'), jpeg.encode({ data: rgba, width: 32, height: 16 }, 95).data)
    run('img2dcm', ['-i', 'JPEG', join(dir, 'c.jpg'), join(dir, 'c.dcm')])
    const colourFile = await readFile(join(dir, 'c.dcm'))
    assert.equal([dicomSummary(colourFile).transferSyntax, dicomParser.parseDicom(colourFile).string('x00280004')], [TS.jpegBaseline, 'YBR_FULL_422'])
    const colour = loadImage(colourFile)
    assert.equal([colour.width, colour.height], [32, 16])
    colour.pixels.forEach((v, i) => { if (Math.abs(v - gray[i] / 255) > 6 / 255) assert.unreachable(`pixel ${i}`) })
  })

  test('a multi-frame JPEG-LS file: frame 1 decodes for the pipeline, every frame for WADO frames', async () => {
    const pixels = Uint16Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 7) % 4096)
    const { packed } = await compressed({ bitsAllocated: 16, bitsStored: 12, pixels, frames: 3 }, 'dcmcjpls')
    const ds = dicomParser.parseDicom(packed)
    for (let f = 0; f < 3; f++) {
      const bytes = decodeStoredFrame(ds, TS.jpegLsLossless, f, { maxSide: 4096, maxPixels: 2 ** 24 } as never)
      assert.equal(Array.from(new Uint16Array(bytes.buffer, bytes.byteOffset, 64 * 48)), Array.from(pixels.subarray(f * 64 * 48, (f + 1) * 64 * 48)))
    }
  })

  test('a corrupt or contradicting stream is CORRUPT_IMAGE; the pixel budget refuses before any codec runs', async () => {
    const { packed } = await compressed({ bitsAllocated: 16, bitsStored: 12, pixels: ramp16 }, 'dcmcjpls')
    const fragment = dicomParser.parseDicom(packed).elements.x7fe00010?.fragments?.[0]
    if (fragment === undefined) throw new Error('no fragment')
    // Scan data overwritten with noise past the headers.
    const noisy = Uint8Array.from(packed)
    for (let i = fragment.position + 40; i < fragment.position + fragment.length - 2; i++) noisy[i] = (i * 131) & 0xff
    throwsCode(() => loadImage(noisy), 'CORRUPT_IMAGE')
    // The stream says 64 columns; the header is made to say 65 (Columns is a US value).
    const wide = Uint8Array.from(packed)
    const ds = dicomParser.parseDicom(packed)
    new DataView(wide.buffer).setUint16(ds.elements.x00280011.dataOffset, 65, true)
    throwsCode(() => loadImage(wide), 'CORRUPT_IMAGE')
    // No SOI: not a JPEG stream at all.
    const headless = Uint8Array.from(packed)
    headless[fragment.position] = 0
    throwsCode(() => loadImage(headless), 'CORRUPT_IMAGE')
    throwsCode(() => loadImage(packed, undefined, { limits: { maxSide: 32 } }), 'PIXEL_BUDGET')
    // The whole-file read keeps a compressed file whole (no native splice).
    await writeFile(join(dir, 'big.dcm'), packed)
    assert.equal(Array.from(await readImageFile(join(dir, 'big.dcm'), { wholeBelow: 0, firstRead: 256 })), Array.from(packed))
  })

  test('JPEG 2000, RLE and big endian stay UNSUPPORTED_TRANSFER_SYNTAX', async () => {
    const { packed: rle } = await compressed({ bitsAllocated: 8, pixels: ramp8 }, 'dcmcrle')
    throwsCode(() => loadImage(rle), 'UNSUPPORTED_TRANSFER_SYNTAX')
    const { packed: big } = await compressed({ bitsAllocated: 8, pixels: ramp8 }, 'dcmconv', ['+tb'])
    throwsCode(() => loadImage(big), 'UNSUPPORTED_TRANSFER_SYNTAX')
  })
}

test.run()
