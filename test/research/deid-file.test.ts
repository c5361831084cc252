// A de-identified file judged by dcmtk's dcmdump: no original UID, name, birth date, MRN or
// private attribute is left, modified dates keep their intervals, UIDs are consistent inside a
// project and differ across projects, pseudonyms likewise, and the output is byte-for-byte
// reproducible.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile, writeFile } from 'node:fs/promises'
import dicomParser from 'dicom-parser'
import { frameOf } from '../../node/research/burned-in/pixels.ts'
import { readDicom } from '../../node/research/deid/deidentify.ts'
import { join } from 'node:path'
import { deidentify } from '../../node/research/deid/deidentify.ts'
import { deidKeysFor, projectKey } from '../../node/research/deid/project-keys.ts'
import { throwsCode } from '../helpers/assert.ts'
import { dcmtk } from '../helpers/imaging/dicom.ts'
import { cleanup, tempDir } from '../helpers/ledger/fixture.ts'
import { PHI, phiDicom } from './deid-fixture.ts'

test.after.each(cleanup)

const SEED = new Uint8Array(32).fill(0x42)
const PROJECT_A = new Uint8Array(16).fill(0xa)
const PROJECT_B = new Uint8Array(16).fill(0xb)
const PATIENT = new Uint8Array(32).fill(0x11)
const OTHER_PATIENT = new Uint8Array(32).fill(0x22)
const BOTH = { modifiedDates: true, cleanDescriptors: true }

async function dump (bytes: Uint8Array): Promise<string> {
  const dir = await tempDir('medichain-deid-')
  const path = join(dir, 'out.dcm')
  await writeFile(path, bytes)
  const run = await dcmtk('dcmdump', ['+L', '+U8', path])
  assert.is(run.code, 0, `dcmdump failed: ${run.stderr}`)
  return run.stdout
}

/** The value dcmdump prints for `tag` like '0008,0020', or null when the attribute is absent. */
function valueOf (text: string, tag: string): string | null {
  const line = text.split('\n').find(l => l.trim().startsWith(`(${tag})`))
  if (line === undefined) return null
  const m = /\[([^\]]*)\]/.exec(line)
  return m === null ? '' : m[1]
}

function days (da: string): number {
  return Date.UTC(Number(da.slice(0, 4)), Number(da.slice(4, 6)) - 1, Number(da.slice(6, 8))) / 86_400_000
}

test('dcmdump finds no original UID, name, birth date, MRN, accession, institution or private text', async () => {
  const key = projectKey(SEED, PROJECT_A)
  const text = await dump(deidentify(phiDicom(), deidKeysFor(key, PATIENT), BOTH).bytes)
  for (const [what, probe] of Object.entries(PHI)) {
    if (what === 'studyDate' || what === 'seriesDate' || what === 'acquisitionDateTime') continue
    for (const part of probe.split(/[\^ ]/).filter(p => p.length >= 3 && !['CHEST', 'AXIAL'].includes(p))) {
      assert.not.ok(text.includes(part), `${what} (${part}) is still in the file`)
    }
  }
  assert.is(valueOf(text, '0009,1001'), null, 'private attribute removed')
  assert.is(valueOf(text, '0010,0030'), '', 'birth date emptied')
  assert.is(valueOf(text, '0012,0062'), 'YES')
  assert.is(valueOf(text, '0028,0303'), 'MODIFIED')
  assert.is(valueOf(text, '0010,0010'), deidKeysFor(key, PATIENT).pseudonym)
  assert.is(valueOf(text, '0008,1030'), 'CT CHEST', 'clean descriptors keep the safe words')
  assert.is(valueOf(text, '0002,0016'), null, 'the source AE title leaves with the meta header')
  for (const uid of [PHI.studyUid, PHI.seriesUid, PHI.sopUid, PHI.frameUid, PHI.referencedUid]) assert.not.ok(text.includes(uid), `UID ${uid} left`)
  assert.match(valueOf(text, '0002,0003') ?? '', /^2\.25\.\d+$/)
  assert.is(valueOf(text, '0002,0003'), valueOf(text, '0008,0018'), 'meta and data set name the same new instance')
})

test('modified dates move every date of a patient by the same days, never zero', async () => {
  const text = await dump(deidentify(phiDicom(), deidKeysFor(projectKey(SEED, PROJECT_A), PATIENT), BOTH).bytes)
  const study = valueOf(text, '0008,0020') ?? ''
  const series = valueOf(text, '0008,0021') ?? ''
  const acq = valueOf(text, '0008,002a') ?? ''
  assert.is.not(study, PHI.studyDate)
  assert.is(days(series) - days(study), days(PHI.seriesDate) - days(PHI.studyDate))
  assert.is(days(acq.slice(0, 8)) - days(study), days(PHI.acquisitionDateTime.slice(0, 8)) - days(PHI.studyDate))
  assert.is(acq.slice(8), PHI.acquisitionDateTime.slice(8), 'the time of day is kept')
  const shift = days(study) - days(PHI.studyDate)
  assert.ok(shift <= -365 && shift >= -3650, `shift ${shift} days`)
})

test('without the options, dates are emptied or dummies and descriptors removed', async () => {
  const text = await dump(deidentify(phiDicom(), deidKeysFor(projectKey(SEED, PROJECT_A), PATIENT), { modifiedDates: false, cleanDescriptors: false }).bytes)
  assert.is(valueOf(text, '0008,0020'), '')
  assert.is(valueOf(text, '0008,1030'), null)
  assert.is(valueOf(text, '0028,0303'), 'REMOVED')
})

test('UIDs and pseudonyms: consistent within a project, different across projects and patients', () => {
  const a = projectKey(SEED, PROJECT_A)
  const b = projectKey(SEED, PROJECT_B)
  const one = deidentify(phiDicom(), deidKeysFor(a, PATIENT), BOTH)
  const two = deidentify(phiDicom({ sopUid: '1.2.826.0.1.3680043.8.498.2003' }), deidKeysFor(a, PATIENT), BOTH)
  const other = deidentify(phiDicom(), deidKeysFor(b, PATIENT), BOTH)
  assert.is(one.studyUid, two.studyUid, 'the same study keeps one UID in a project')
  assert.is.not(one.studyUid, other.studyUid, 'another project gives another UID')
  assert.is(deidKeysFor(a, PATIENT).pseudonym, deidKeysFor(a, PATIENT).pseudonym)
  assert.is.not(deidKeysFor(a, PATIENT).pseudonym, deidKeysFor(b, PATIENT).pseudonym)
  assert.is.not(deidKeysFor(a, PATIENT).pseudonym, deidKeysFor(a, OTHER_PATIENT).pseudonym)
  assert.is.not(projectKey(new Uint8Array(32).fill(1), PROJECT_A).join(), a.join(), 'another hospital seed, another key')
})

test('reproducible: the same input, keys and options give the same bytes', () => {
  const k = deidKeysFor(projectKey(SEED, PROJECT_A), PATIENT)
  assert.equal(deidentify(phiDicom(), k, BOTH).bytes, deidentify(phiDicom(), k, BOTH).bytes)
})

test('a JPEG-LS instance de-identifies with its compressed stream untouched; its pixels are not read for burned-in text', async () => {
  const dir = await tempDir('medichain-deid-jls-')
  await writeFile(join(dir, 'in.dcm'), phiDicom())
  const made = await dcmtk('dcmcjpls', [join(dir, 'in.dcm'), join(dir, 'jls.dcm')])
  assert.is(made.code, 0, made.stderr)
  const jls = new Uint8Array(await readFile(join(dir, 'jls.dcm')))
  const out = deidentify(jls, deidKeysFor(projectKey(SEED, PROJECT_A), PATIENT), BOTH).bytes
  const text = await dump(out)
  assert.match(text, /\(0002,0010\) UI =JPEGLSLossless/)
  assert.is(text.includes(PHI.name), false)
  const stream = (bytes: Uint8Array): number[] => {
    const ds = dicomParser.parseDicom(bytes)
    return Array.from(dicomParser.readEncapsulatedPixelDataFromFragments(ds, ds.elements.x7fe00010, 0, ds.elements.x7fe00010.fragments?.length))
  }
  assert.equal(stream(out), stream(jls), 'the compressed stream as received')
  const read = readDicom(out)
  assert.is(frameOf(read.dict, read.meta['00020010']?.Value?.[0]), null, 'a compressed frame is not read (the export holds it for a person)')
  const native = readDicom(phiDicom())
  assert.ok(frameOf(native.dict, native.meta['00020010']?.Value?.[0]) !== null, 'a native frame is read')
})

test('a file that is not DICOM is refused with DEID_BAD_INPUT', () => {
  const k = deidKeysFor(projectKey(SEED, PROJECT_A), PATIENT)
  throwsCode(() => deidentify(new TextEncoder().encode('not a dicom file at all, just text'), k, BOTH), 'DEID_BAD_INPUT')
  throwsCode(() => deidentify(phiDicom().subarray(0, 200), k, BOTH), 'DEID_BAD_INPUT')
})

test.run()
