// `npm run data:synth` end to end: the CLI writes byte-identical folders for the same arguments
// and different ones for another seed; the real loaders read its PNG, mask, JPEG and DICOM files
// back to the in-memory phantoms; the DICOM carries the synthetic name and birth date; bad flags
// exit 2 and write nothing.
import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { dicomSummary, loadImage } from '../../node/imaging/load.ts'
import { generateDataset } from '../../scripts/synth/dataset.ts'
import type { Manifest } from '../../scripts/synth/write.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const run = promisify(execFile)
let dir = ''

test.before.each(async () => { dir = await mkdtemp(join(tmpdir(), 'medichain-synth-')) })
test.after.each(async () => { await rm(dir, { recursive: true, force: true }) })

async function synth (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'scripts/synth.ts'), ...args], { cwd: ROOT })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: number, stdout?: string, stderr?: string }
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }
  }
}

/** Every file under `root` with its bytes, keyed by relative path. */
async function tree (root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.set(relative(root, join(entry.parentPath, entry.name)), await readFile(join(entry.parentPath, entry.name)))
  }
  return out
}

const ARGS = ['--count', '6', '--hospitals', '3', '--non-iid', '--size', '64', '--jpeg']

test('same seed → byte-identical folders; another seed → different images', async () => {
  for (const [name, seed] of [['a', '42'], ['b', '42'], ['c', '43']]) {
    const r = await synth('--seed', seed, '--out', join(dir, name), ...ARGS)
    assert.is(r.code, 0, r.stderr)
    assert.match(r.stdout, /wrote 6 images/)
  }
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(async n => await tree(join(dir, n))))
  assert.is(a.size, 1 + 6 * 4, 'manifest + png, mask, dicom, jpeg per image')
  assert.equal([...a.keys()].sort(), [...b.keys()].sort())
  for (const [path, bytes] of a) assert.ok(bytes.equals(b.get(path) ?? Buffer.alloc(0)), `${path} differs between identical runs`)
  assert.not.ok(a.get('images/synth-0001.png')?.equals(c.get('images/synth-0001.png') ?? Buffer.alloc(0)))
  assert.not.ok(a.get('dicom/synth-0001.dcm')?.equals(c.get('dicom/synth-0001.dcm') ?? Buffer.alloc(0)))
})

test('the loaders read the written PNG, mask, JPEG and DICOM back to the in-memory phantoms', async () => {
  const r = await synth('--seed', '8', '--out', dir, ...ARGS)
  assert.is(r.code, 0, r.stderr)
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest
  assert.equal([manifest.seed, manifest.count, manifest.size, manifest.nonIid, manifest.hospitals.length], [8, 6, 64, true, 3])
  const expected = [...generateDataset({ seed: 8, count: 6, hospitals: 3, nonIid: true, size: 64 })]
  for (const [k, entry] of manifest.images.entries()) {
    const { phantom, patient } = expected[k]
    assert.equal([entry.id, entry.hospital, entry.lesionCount], [expected[k].id, expected[k].hospital, phantom.lesions.length])
    assert.equal(entry.boxes, phantom.boxes)
    const png = loadImage(await readFile(join(dir, entry.files.png)))
    const dcmBytes = await readFile(join(dir, entry.files.dicom))
    const dcm = loadImage(dcmBytes)
    const mask = loadImage(await readFile(join(dir, entry.files.mask)))
    const jpg = loadImage(await readFile(join(dir, entry.files.jpeg ?? '')))
    let jpegError = 0
    for (let i = 0; i < phantom.pixels.length; i++) {
      const p = phantom.pixels[i]
      if (Math.abs(png.pixels[i] - p) > 0.5 / 255 + 1e-6) assert.unreachable(`${entry.id} PNG pixel ${i}`)
      if (Math.abs(dcm.pixels[i] - p) > 0.5 / 4095 + 1e-6) assert.unreachable(`${entry.id} DICOM pixel ${i}`)
      if (mask.pixels[i] !== phantom.mask[i]) assert.unreachable(`${entry.id} mask pixel ${i}`)
      jpegError += Math.abs(jpg.pixels[i] - p)
    }
    assert.ok(jpegError / phantom.pixels.length < 0.02, `${entry.id} JPEG mean error`)
    assert.is(dicomSummary(dcmBytes).modality, 'CT')
    // The fake PHI the no-PHI tests look for is inside the DICOM, and listed in the manifest.
    const text = dcmBytes.toString('latin1')
    assert.ok(text.includes(patient.name) && text.includes(patient.birthDate))
    assert.equal(entry.patient, { name: patient.name, id: patient.id, birthDate: patient.birthDate })
  }
})

test('bad flags exit 2 with the usage and write nothing', async () => {
  const out = join(dir, 'out')
  for (const args of [
    ['--seed', '1', '--count', '2'],
    ['--seed', '-1', '--count', '2', '--out', out],
    ['--seed', '1', '--count', 'two', '--out', out],
    ['--seed', '1', '--count', '2', '--out', out, '--size', '8'],
    ['--seed', '1', '--count', '2', '--out', out, '--hospitals', '0'],
    ['--count', '2', '--out', out],
    ['--seed', '1', '--count', '2', '--out', out, '--bogus']
  ]) {
    const r = await synth(...args)
    assert.is(r.code, 2, `${args.join(' ')} → ${r.code}`)
    assert.match(r.stderr, /usage:/)
  }
  assert.equal(await readdir(dir), [], 'nothing was written')
  assert.is((await synth('--help')).code, 0)
})

test.run()
