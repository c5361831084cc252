// DICOM loading on files from our writer and the generator: 16-bit and 8-bit, signed and
// unsigned, bits stored below bits allocated, MONOCHROME1, rescale, window, implicit VR,
// multi-frame and RGB; the non-PHI summary; and dcmtk as an independent judge (dcmdump parses
// our files, dcm2pnm decodes the same pixels, dcmconv/dcmcjpeg make transfer syntaxes we must
// read or refuse). Under CI=true a missing dcmtk fails the run instead of skipping.
import { spawnSync } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import dicomParser from 'dicom-parser'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TS } from '../../../node/imaging/constants.ts'
import { encodeDicom } from '../../../node/imaging/dicom/write.ts'
import type { DicomWriteInit } from '../../../node/imaging/dicom/write.ts'
import { dicomSummary, loadImage } from '../../../node/imaging/load.ts'
import { codecsInstalled, loadCodecs } from '../../../node/imaging/dicom/codecs.ts'
import { generateDataset } from '../../../scripts/synth/dataset.ts'
import { DICOM_BITS_STORED, itemDicom } from '../../../scripts/synth/write.ts'
import { throwsCode } from '../../helpers/assert.ts'

const UIDS = { sopInstanceUid: '2.25.1', studyInstanceUid: '2.25.2', seriesInstanceUid: '2.25.3' }
const PATIENT = { name: 'SYNTH^PATIENT^0042', id: 'SYNTH-0042', birthDate: '19510317' }

function dicom (init: Partial<DicomWriteInit> & Pick<DicomWriteInit, 'pixels' | 'bitsAllocated'>): Uint8Array {
  return encodeDicom({ rows: 2, columns: 3, ...UIDS, patient: PATIENT, ...init })
}

function close (actual: Float32Array, expected: number[], tolerance = 1e-6): void {
  assert.is(actual.length, expected.length)
  expected.forEach((e, i) => {
    if (Math.abs(actual[i] - e) > tolerance) assert.unreachable(`pixel ${i}: ${actual[i]} is not ${e} ± ${tolerance}`)
  })
}

test('16-bit unsigned, 16 bits stored: values map linearly onto [0, 1]', () => {
  const img = loadImage(dicom({ bitsAllocated: 16, pixels: Uint16Array.of(0, 1, 1000, 32768, 65534, 65535) }))
  assert.is(img.format, 'dicom')
  assert.is(img.width, 3)
  assert.is(img.height, 2)
  assert.is(img.bitsStored, 16)
  assert.is(img.modality, 'OT')
  close(img.pixels, [0, 1, 1000, 32768, 65534, 65535].map(v => v / 65535))
})

test('16-bit signed with 12 bits stored: sign extension from bit 11, upper bits ignored', () => {
  // 0xF800 is −2048 sign-extended; 0x7000|5 has garbage above the high bit (overlay-style).
  const raw = Int16Array.of(-2048, -1, 0, 2047, 0x7005, 0x0800)
  const img = loadImage(dicom({ bitsAllocated: 16, bitsStored: 12, pixels: raw }))
  const stored = [-2048, -1, 0, 2047, 5, -2048]
  close(img.pixels, stored.map(v => (v + 2048) / 4095))
})

test('8-bit unsigned and 8-bit signed', () => {
  close(loadImage(dicom({ bitsAllocated: 8, pixels: Uint8Array.of(0, 1, 127, 128, 254, 255) })).pixels, [0, 1, 127, 128, 254, 255].map(v => v / 255))
  close(loadImage(dicom({ bitsAllocated: 8, pixels: Int8Array.of(-128, -1, 0, 1, 126, 127) })).pixels, [-128, -1, 0, 1, 126, 127].map(v => (v + 128) / 255))
  assert.is(loadImage(dicom({ bitsAllocated: 8, pixels: new Uint8Array(6) })).bitsStored, 8)
})

test('MONOCHROME1 is inverted so that bright means high attenuation, window centre too', () => {
  const pixels = Uint16Array.of(0, 100, 200, 300, 400, 4095)
  const m2 = loadImage(dicom({ bitsAllocated: 16, bitsStored: 12, pixels, window: { center: 1000, width: 500 } }))
  const m1 = loadImage(dicom({ bitsAllocated: 16, bitsStored: 12, pixels, window: { center: 1000, width: 500 }, photometric: 'MONOCHROME1' }))
  close(m1.pixels, Array.from(m2.pixels, v => 1 - v))
  assert.ok(m1.window !== undefined && m2.window !== undefined)
  assert.ok(Math.abs(m1.window.center - (1 - m2.window.center)) < 1e-9)
  assert.is(m1.window.width, m2.window.width)
})

test('rescale slope/intercept: windows are converted to normalised units; a negative slope flips', () => {
  const pixels = Uint16Array.of(0, 1024, 2048, 3072, 4095, 10)
  const ct = loadImage(dicom({ bitsAllocated: 16, bitsStored: 12, pixels, rescale: { slope: 1, intercept: -1024 }, window: { center: 40, width: 400 }, modality: 'CT' }))
  assert.is(ct.modality, 'CT')
  close(ct.pixels, [0, 1024, 2048, 3072, 4095, 10].map(v => v / 4095))
  assert.ok(ct.window !== undefined)
  assert.ok(Math.abs(ct.window.center - (40 + 1024) / 4095) < 1e-9, 'window centre: HU → stored → [0, 1]')
  assert.ok(Math.abs(ct.window.width - 400 / 4095) < 1e-9)
  const doubled = loadImage(dicom({ bitsAllocated: 16, bitsStored: 12, pixels, rescale: { slope: 2, intercept: -100 }, window: { center: 1900, width: 800 } }))
  close(doubled.pixels, Array.from(ct.pixels), 1e-6)
  assert.ok(doubled.window !== undefined && Math.abs(doubled.window.center - 1000 / 4095) < 1e-9)
  const flipped = loadImage(dicom({ bitsAllocated: 16, bitsStored: 12, pixels, rescale: { slope: -1, intercept: 0 } }))
  close(flipped.pixels, Array.from(ct.pixels, v => 1 - v))
})

test("dicomScaling 'window' applies the VOI linear function and clamps; without a window it falls back to bits", () => {
  const pixels = Uint16Array.of(0, 1024 + 40 - 200, 1024 + 40, 1024 + 40 + 200, 4095, 1024)
  const file = dicom({ bitsAllocated: 16, bitsStored: 12, pixels, rescale: { slope: 1, intercept: -1024 }, window: { center: 40, width: 401 } })
  const img = loadImage(file, undefined, { dicomScaling: 'window' })
  assert.is(img.window, undefined, 'already windowed')
  // PS3.3 C.11.2.1.2.1: ((x − (c − 0.5)) / (w − 1) + 0.5), clamped.
  close(img.pixels, [0, (-200 - 40 + 40.5) / 400 + 0.5, 40.5 / 400 - 40 / 400 + 0.5, (200 + 0.5) / 400 + 0.5, 1, (0 - 39.5) / 400 + 0.5].map(v => Math.min(1, Math.max(0, v))), 1e-6)
  const plain = dicom({ bitsAllocated: 16, bitsStored: 12, pixels })
  close(loadImage(plain, 'dicom', { dicomScaling: 'window' }).pixels, Array.from(loadImage(plain).pixels))
})

test('implicit VR little endian reads the same as explicit', () => {
  const pixels = Uint16Array.of(5, 6, 7, 8, 9, 4000)
  const explicit = loadImage(dicom({ bitsAllocated: 16, bitsStored: 12, pixels, rescale: { slope: 1, intercept: -1024 }, window: { center: 0, width: 100 } }))
  const implicit = loadImage(dicom({ bitsAllocated: 16, bitsStored: 12, pixels, rescale: { slope: 1, intercept: -1024 }, window: { center: 0, width: 100 }, transferSyntax: 'implicit' }))
  close(implicit.pixels, Array.from(explicit.pixels))
  assert.equal(implicit.window, explicit.window)
  assert.is(dicomSummary(dicom({ bitsAllocated: 8, pixels: new Uint8Array(6), transferSyntax: 'implicit' })).transferSyntax, TS.implicitLittle)
})

test('multi-frame: the first frame is decoded', () => {
  const pixels = Uint8Array.of(1, 2, 3, 4, 5, 6, 200, 200, 200, 200, 200, 200)
  close(loadImage(dicom({ bitsAllocated: 8, pixels, frames: 2 })).pixels, [1, 2, 3, 4, 5, 6].map(v => v / 255))
})

test('dicomSummary has only technical fields, works on a header prefix, and never echoes odd modality text', () => {
  const file = dicom({ bitsAllocated: 16, bitsStored: 12, pixels: new Uint16Array(6), modality: 'MR' })
  const summary = dicomSummary(file)
  assert.equal(summary, { modality: 'MR', rows: 2, columns: 3, bitsAllocated: 16, bitsStored: 12, samplesPerPixel: 1, photometric: 'MONOCHROME2', frames: 1, transferSyntax: TS.explicitLittle })
  const text = JSON.stringify(summary)
  for (const phi of [PATIENT.name, 'SYNTH', PATIENT.birthDate, PATIENT.id, UIDS.studyInstanceUid]) assert.not.ok(text.includes(phi), `summary leaks ${phi}`)
  // A prefix that stops inside Pixel Data is enough.
  assert.equal(dicomSummary(file.subarray(0, file.length - 8)), summary)
  // A modality that is not a code string (someone typed a name there) becomes OT.
  assert.is(dicomSummary(dicom({ bitsAllocated: 8, pixels: new Uint8Array(6), modality: 'Doe John' })).modality, 'OT')
  assert.is(loadImage(dicom({ bitsAllocated: 8, pixels: new Uint8Array(6), modality: 'Doe John' })).modality, 'OT')
  // A well-formed code string that is not a DICOM defined term (PS3.3 §C.7.3.1.1.1) becomes OT too.
  assert.is(dicomSummary(dicom({ bitsAllocated: 8, pixels: new Uint8Array(6), modality: 'ZZPHIMODALITY' })).modality, 'OT')
  assert.is(loadImage(dicom({ bitsAllocated: 8, pixels: new Uint8Array(6), modality: 'ZZPHIMODALITY' })).modality, 'OT')
  assert.is(loadImage(dicom({ bitsAllocated: 8, pixels: new Uint8Array(6), modality: 'XAPROTOCOL' })).modality, 'XAPROTOCOL')
})

test("the generator's DICOM round-trips its phantom within one 12-bit step", () => {
  for (const item of generateDataset({ seed: 11, count: 2, size: 64 })) {
    const img = loadImage(itemDicom(item))
    assert.is(img.width, 64)
    assert.is(img.bitsStored, DICOM_BITS_STORED)
    assert.is(img.modality, 'CT')
    close(img.pixels, Array.from(item.phantom.pixels), 0.5 / 4095 + 1e-6)
  }
})

test('writer input is validated', () => {
  throwsCode(() => dicom({ bitsAllocated: 16, pixels: new Uint8Array(6) }), 'INVALID')
  throwsCode(() => dicom({ bitsAllocated: 8, pixels: new Uint8Array(5) }), 'INVALID')
  throwsCode(() => dicom({ bitsAllocated: 8, bitsStored: 9, pixels: new Uint8Array(6) }), 'INVALID')
  throwsCode(() => dicom({ bitsAllocated: 8, rows: 0, pixels: new Uint8Array(0) }), 'INVALID')
  throwsCode(() => dicom({ bitsAllocated: 8, pixels: new Uint8Array(6), patient: { ...PATIENT, name: 'Ünïcode' } }), 'INVALID')
})

// --- dcmtk, the independent judge ---------------------------------------------------------------

const dcmtk = spawnSync('dcmdump', ['--version'], { encoding: 'utf8' }).status === 0
if (!dcmtk && process.env.CI === 'true') {
  test('dcmtk (dcmdump) is installed under CI', () => {
    assert.unreachable('dcmtk is missing: .ci/run installs it with apt-get')
  })
} else if (!dcmtk) {
  process.stderr.write('imaging-dicom: dcmtk not installed, its cross-checks are skipped (apt-get install dcmtk)\n')
}

let dir = ''
test.before.each(async () => { dir = await mkdtemp(join(tmpdir(), 'medichain-dicom-')) })
test.after.each(async () => { await rm(dir, { recursive: true, force: true }) })

function run (cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0) assert.unreachable(`${cmd} ${args.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}

if (dcmtk) {
  test('dcmdump parses the generator\'s DICOM with no warning and sees our attributes', async () => {
    const [item] = generateDataset({ seed: 3, count: 1, size: 64 })
    const path = join(dir, 'a.dcm')
    await writeFile(path, itemDicom(item))
    // +E off (default -E): dcmdump refuses damaged files; -ll warn makes warnings visible.
    const r = spawnSync('dcmdump', ['-ll', 'warn', path], { encoding: 'utf8' })
    assert.is(r.status, 0, r.stderr)
    assert.is(r.stderr, '', 'no dcmtk warnings')
    for (const line of ['(0002,0010) UI =LittleEndianExplicit', '(0008,0016) UI =SecondaryCaptureImageStorage', '(0008,0060) CS [CT]', '(0028,0004) CS [MONOCHROME2]',
      '(0028,0010) US 64', '(0028,0100) US 16', '(0028,0101) US 12', '(0028,0102) US 11', '(0028,1052) DS [-1024]', `(0010,0010) PN [${item.patient.name}]`, `(0010,0030) DA [${item.patient.birthDate}]`]) {
      assert.ok(r.stdout.includes(line), `dcmdump shows ${line}`)
    }
    assert.match(run('dcmftest', [path]), /^yes:/)
  })

  test('dcm2pnm decodes the same pixels as our loader (16-bit, 8-bit, signed, MONOCHROME1, implicit)', async () => {
    const cases: Array<Partial<DicomWriteInit> & Pick<DicomWriteInit, 'pixels' | 'bitsAllocated'>> = [
      { bitsAllocated: 16, bitsStored: 12, pixels: Uint16Array.from({ length: 6 }, (_, i) => i * 800), rescale: { slope: 1, intercept: -1024 } },
      { bitsAllocated: 16, pixels: Uint16Array.of(0, 1, 2000, 30000, 65000, 65535) },
      { bitsAllocated: 16, bitsStored: 16, pixels: Int16Array.of(-32768, -100, 0, 100, 20000, 32767) },
      { bitsAllocated: 8, pixels: Uint8Array.of(0, 10, 100, 128, 250, 255), photometric: 'MONOCHROME1' },
      { bitsAllocated: 8, pixels: Uint8Array.of(3, 30, 60, 90, 120, 150), transferSyntax: 'implicit' }
    ]
    for (const [k, init] of cases.entries()) {
      const path = join(dir, `c${k}.dcm`)
      await writeFile(path, dicom(init))
      // No VOI window (-W, the default): dcmtk maps the whole modality range to 16-bit PNG output.
      run('dcm2pnm', ['+on2', path, join(dir, `c${k}.png`)])
      const theirs = loadImage(await readFile(join(dir, `c${k}.png`)))
      const ours = loadImage(await readFile(path))
      // dcmtk widens n-bit data to 16 bits by shifting (v·2^(16−n)), we divide by 2^n − 1: they
      // differ by at most 2^−n, i.e. 1/256 for 8-bit data.
      close(ours.pixels, Array.from(theirs.pixels), init.bitsAllocated === 8 ? 1 / 256 + 1e-6 : 1 / 4096 + 1e-6)
    }
  })

  test('dcmconv: deflated explicit VR is read; big endian is refused with UNSUPPORTED_TRANSFER_SYNTAX', async () => {
    const src = join(dir, 'src.dcm')
    const original = dicom({ bitsAllocated: 16, bitsStored: 12, pixels: Uint16Array.of(1, 2, 3, 4, 5, 4095) })
    await writeFile(src, original)
    run('dcmconv', ['+td', src, join(dir, 'deflated.dcm')])
    run('dcmconv', ['+tb', src, join(dir, 'big.dcm')])
    const deflated = await readFile(join(dir, 'deflated.dcm'))
    assert.is(dicomSummary(deflated).transferSyntax, TS.deflatedExplicitLittle)
    close(loadImage(deflated).pixels, Array.from(loadImage(original).pixels))
    const big = await readFile(join(dir, 'big.dcm'))
    assert.is(dicomSummary(big).transferSyntax, TS.explicitBig)
    throwsCode(() => loadImage(big), 'UNSUPPORTED_TRANSFER_SYNTAX')
  })

  test('dcmcjpeg: a JPEG-compressed DICOM is summarised; it decodes once the codecs are loaded (dicom-compressed.test.ts)', async () => {
    const src = join(dir, 'src.dcm')
    const pixels = Uint8Array.from({ length: 64 * 64 }, (_, i) => i % 251)
    await writeFile(src, dicom({ rows: 64, columns: 64, bitsAllocated: 8, pixels }))
    run('dcmcjpeg', [src, join(dir, 'jpeg.dcm')])
    const jpeg = await readFile(join(dir, 'jpeg.dcm'))
    const summary = dicomSummary(jpeg)
    assert.match(summary.transferSyntax, /^1\.2\.840\.10008\.1\.2\.4\./)
    assert.is(summary.rows, 64)
    await loadCodecs()
    if (codecsInstalled()) assert.equal(Array.from(loadImage(jpeg).pixels), Array.from(pixels, v => v / 255).map(v => Math.fround(v)))
    else throwsCode(() => loadImage(jpeg), 'UNSUPPORTED_TRANSFER_SYNTAX')
  })

  test('dcmcjpeg frames as plain JPEG: 1-component baseline decodes, lossless (SOF3) is UNSUPPORTED_PIXEL_FORMAT', async () => {
    const src = join(dir, 'src.dcm')
    const pixels = Uint8Array.from({ length: 64 * 64 }, (_, i) => 30 + ((i % 64) + (i >> 6)) * 1.5)
    await writeFile(src, dicom({ rows: 64, columns: 64, bitsAllocated: 8, pixels }))
    const frameOf = async (args: string[], name: string): Promise<Uint8Array> => {
      run('dcmcjpeg', [...args, src, join(dir, name)])
      const bytes = await readFile(join(dir, name))
      const fragment = dicomParser.parseDicom(bytes).elements.x7fe00010?.fragments?.[0]
      if (fragment === undefined) throw new Error('no JPEG fragment')
      return bytes.subarray(fragment.position, fragment.position + fragment.length)
    }
    // +sr keeps the stored range (the default +sp rescales to the image's own min/max).
    const baseline = loadImage(await frameOf(['+eb', '+q', '95', '+sr'], 'baseline.dcm'))
    assert.equal([baseline.format, baseline.width, baseline.height], ['jpeg', 64, 64])
    close(baseline.pixels, Array.from(pixels, v => v / 255), 6 / 255)
    const lossless = await frameOf([], 'lossless.dcm')
    throwsCode(() => loadImage(lossless), 'UNSUPPORTED_PIXEL_FORMAT')
  })
}

test.run()
